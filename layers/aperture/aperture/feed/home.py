"""The home feed: rows written by fan-out, merged on read with the posts of celebrity authors.

A normal author's post is copied into each follower's feed (see ``fanout``); a celebrity's is not:
the read merges the recent posts of the merged authors the viewer follows. Every source is
ordered by one key (creation time, then post id), so a single cursor pages through their union
stably: posts that arrive later sort before the cursor and never shift a page.

A merged author's newest posts are kept on their user item as a *head* of feed keys, so a page
reads every followed celebrity in one BatchGetItem per 100 of them instead of a query each; a read
that pages past a full head goes on through the author's index.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from cachetools import TTLCache
from pynamodb.exceptions import UpdateError

from aperture.core import clock
from aperture.core.errors import BadRequest
from aperture.core.pagination import decode_cursor, encode_cursor
from aperture.core.tables import condition_failed, ttl, write_batch
from aperture.feed.tables import FeedRow
from aperture.social import blocks
from aperture.social.posts import PUBLISHED, posts_by_id
from aperture.social.tables import Edge, Post, User

MERGE_GROUP = "merged"
FEED_WINDOW_SECONDS = 30 * 86_400  # feed rows expire after this; merged authors are read this far back
MERGED_AUTHORS_TTL = 60.0  # seconds a function instance trusts its list of merged authors
MERGED_HEAD_TTL = 15.0  # seconds it trusts a merged author's newest posts
BACKFILL_POSTS = 20  # posts of a newly followed author copied into the follower's feed
HEAD_POSTS = 50  # a merged author's newest posts kept on their user item, for reads
HEAD_SLACK = 10  # keys a head may hold past HEAD_POSTS before a write trims it
_HEAD = ["user_id", "merged_head"]  # with the key, so an item without a head is not read as missing
_BATCH_GET = 100  # keys BatchGetItem takes at once
_PAGE = 50
_KEY = re.compile(r"^\d{13}#[A-Za-z0-9_-]{1,64}$")
_cache_lock = threading.Lock()
# Caches of one function instance, on real elapsed time (the domain clock may be frozen or fast).
_merged_authors: TTLCache[str, frozenset[str]] = TTLCache(maxsize=16, ttl=MERGED_AUTHORS_TTL)
Head = tuple[str, ...]
_merged_heads: TTLCache[tuple[str, str], Head] = TTLCache(maxsize=10_000, ttl=MERGED_HEAD_TTL)


def clear_caches() -> None:
    """Forget cached merged authors and their posts, as a fresh function instance would."""
    with _cache_lock:
        _merged_authors.clear()
        _merged_heads.clear()


def feed_key(created_at: float, post_id: str) -> str:
    """The order of every feed source: newest first by creation time, then by post id."""
    return f"{round(created_at * 1000):013d}#{post_id}"


@dataclass(frozen=True)
class Entry:
    key: str  # a feed key: the post's creation time, then its id
    merged: bool  # from a merged author's posts, not from a row of the viewer's feed

    @property
    def post_id(self) -> str:
        return self.key.partition("#")[2]


class Ranker(Protocol):
    """Orders one page of visible posts; the hook a ranking model plugs into."""

    def __call__(self, viewer_id: str, posts: list[dict[str, Any]]) -> list[dict[str, Any]]: ...


def by_time(viewer_id: str, posts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return posts


def feed_row(user_id: str, post: dict[str, Any]) -> FeedRow:
    """The row that puts ``post`` in ``user_id``'s feed; it expires when it leaves the window."""
    return FeedRow(
        user_id,
        feed_key(post["created_at"], post["post_id"]),
        post_id=post["post_id"],
        author_id=post["author_id"],
        expires_at_epoch=ttl(post["created_at"] + FEED_WINDOW_SECONDS),
    )


Fetch = Callable[[dict[str, Any] | None], tuple[list[Entry], dict[str, Any] | None]]


@dataclass
class _Source:
    """One stream of entries, newest first, fetched a page at a time."""

    fetch: Fetch
    buffer: deque[Entry] = field(default_factory=deque)
    start: dict[str, Any] | None = None
    exhausted: bool = False

    def head(self) -> Entry | None:
        while not self.buffer and not self.exhausted:
            entries, self.start = self.fetch(self.start)
            self.buffer.extend(entries)
            self.exhausted = self.start is None
        return self.buffer[0] if self.buffer else None


def _row_source(viewer_id: str, before: str | None, wanted: int) -> _Source:
    """The viewer's feed rows, newest first: at first the page's count and one more (so a full page
    knows whether more follow without reading twice the rows it shows), then ``_PAGE`` at a time."""

    def fetch(start: dict[str, Any] | None) -> tuple[list[Entry], dict[str, Any] | None]:
        page = FeedRow.query(
            viewer_id,
            FeedRow.feed_key < before if before else None,
            scan_index_forward=False,
            limit=wanted + 1 if start is None else _PAGE,
            last_evaluated_key=start,
            attributes_to_get=["user_id", "feed_key"],  # the key names the post
        )
        entries = [Entry(row.feed_key, merged=False) for row in page]
        return entries, page.last_evaluated_key

    return _Source(fetch)


def _merged_source(author_id: str, before: str | None, now: float, newest: Head) -> _Source:
    """A merged author's posts that were not fanned out, newest first, within the feed window: from
    the author's head first, then, past a full head, from their index."""
    window_start = feed_key(now - FEED_WINDOW_SECONDS, "")

    def query(bound: str | None, start: dict[str, Any] | None) -> tuple[list[Entry], dict[str, Any] | None]:
        until = int(bound[:13]) / 1000 + 0.001 if bound else now
        page = Post.by_author.query(
            author_id,
            Post.created_at.between(now - FEED_WINDOW_SECONDS, until),
            filter_condition=Post.delivery == "merge",
            attributes_to_get=["post_id", "author_id", "created_at"],
            scan_index_forward=False,
            limit=_PAGE,
            last_evaluated_key=start,
        )
        entries = [Entry(feed_key(post.created_at, post.post_id), merged=True) for post in page]
        more = {"bound": bound, "start": page.last_evaluated_key} if page.last_evaluated_key else None
        return [e for e in entries if bound is None or e.key < bound], more

    def fetch(start: dict[str, Any] | None) -> tuple[list[Entry], dict[str, Any] | None]:
        if start is not None:
            return query(start["bound"], start["start"])
        held = newest[:HEAD_POSTS]  # all merged posts newer than the last of these are in the head
        keys = [key for key in held if key >= window_start and (before is None or key < before)]
        entries = [Entry(key, merged=True) for key in keys]
        if len(newest) < HEAD_POSTS:
            return entries, None  # the head holds every merged post of the window
        bound = min(held[-1], before) if before else held[-1]
        return entries, {"bound": bound, "start": None}

    return _Source(fetch)


def merged_heads(author_ids: list[str], pool: ThreadPoolExecutor) -> dict[str, Head]:
    """Each author's head of feed keys, newest first, cached briefly; the uncached ones in one
    BatchGetItem per 100 authors, the batches side by side on ``pool``. An author whose head is not
    kept yet (no merged post since heads began) gets one from their index, cached the same way."""
    table = User.physical_name()
    heads: dict[str, Head] = {}
    with _cache_lock:
        for author_id in author_ids:
            if (table, author_id) in _merged_heads:
                heads[author_id] = _merged_heads[(table, author_id)]
    missing = [author_id for author_id in author_ids if author_id not in heads]
    batches = [missing[start : start + _BATCH_GET] for start in range(0, len(missing), _BATCH_GET)]
    found = [
        user
        for users in pool.map(lambda keys: list(User.batch_get(keys, attributes_to_get=_HEAD)), batches)
        for user in users
    ]
    read: dict[str, Iterable[str]] = {user.user_id: user.merged_head for user in found if user.merged_head}
    headless = [author_id for author_id in missing if author_id not in read]
    read |= dict(zip(headless, pool.map(_indexed_keys, headless), strict=True))
    with _cache_lock:
        for author_id in missing:
            newest = tuple(sorted(read[author_id], reverse=True))
            heads[author_id] = _merged_heads[(table, author_id)] = newest
    return heads


def add_to_head(author_id: str, created_at: float, post_id: str) -> None:
    """Put a merged post in its author's head.

    The head is a string set, so adding is commutative: posts of one author publishing at once never
    conflict. A head that does not exist yet is seeded from the author's index, so a head holds every
    merged post of the window newer than its ``HEAD_POSTS``-th newest key; trimming only ever removes
    keys with that many newer ones kept, which keeps it so."""
    key = feed_key(created_at, post_id)
    user = User(author_id)
    try:
        user.update([User.merged_head.add({key})], condition=User.merged_head.exists())
    except UpdateError as error:
        if not condition_failed(error):
            raise
        try:
            user.update(
                [User.merged_head.add({key, *_indexed_keys(author_id)})], condition=User.user_id.exists()
            )
        except UpdateError as missing:
            if not condition_failed(missing):
                raise
            return  # the account is gone: nobody reads its head
    keys = sorted(user.merged_head or (), reverse=True)
    if len(keys) > HEAD_POSTS + HEAD_SLACK:
        window_start = feed_key(clock.now() - FEED_WINDOW_SECONDS, "")
        stale = {*keys[HEAD_POSTS:], *(key for key in keys if key < window_start)}
        User(author_id).update([User.merged_head.delete(stale)])


def _indexed_keys(author_id: str) -> list[str]:
    """The author's newest merged posts, from the index: what a first head starts from."""
    now = clock.now()
    posts = Post.by_author.query(
        author_id,
        Post.created_at > now - FEED_WINDOW_SECONDS,
        filter_condition=Post.delivery == "merge",
        attributes_to_get=["post_id", "created_at"],
        scan_index_forward=False,
        limit=HEAD_POSTS,
    )
    return [feed_key(post.created_at, post.post_id) for post in posts]


def merged_authors(now: float) -> frozenset[str]:
    """Authors whose posts feeds merge on read (cached briefly: the list changes rarely)."""
    cache_key = User.physical_name()
    with _cache_lock:
        found = _merged_authors.get(cache_key)
    if found is None:
        listed = User.merged_authors.query(MERGE_GROUP, filter_condition=User.merge_until > now)
        found = frozenset(user.user_id for user in listed)
        with _cache_lock:
            _merged_authors[cache_key] = found
    return found


def list_as_merged(author_id: str, until: float) -> None:
    """Have reads merge the author's posts and Stories in, until ``until`` at least."""
    try:
        User(author_id).update(
            [User.merge_group.set(MERGE_GROUP), User.merge_until.set(until)],
            condition=User.merge_until.does_not_exist() | (User.merge_until < until),
        )
    except UpdateError as error:
        if not condition_failed(error):
            raise  # else listed for longer already


def followed_authors(viewer_id: str) -> set[str]:
    edges = Edge.query(viewer_id, filter_condition=Edge.following == True, attributes_to_get=["followee_id"])  # noqa: E712
    return {edge.followee_id for edge in edges}


def _position(cursor: str | None) -> str | None:
    key = decode_cursor(cursor, {"feed_key"})
    if key is None:
        return None
    position: str = key["feed_key"]["S"]
    if not _KEY.fullmatch(position):
        raise BadRequest("cursor is not valid")
    return position


def read_feed(viewer_id: str, limit: int, cursor: str | None, ranker: Ranker = by_time) -> dict[str, Any]:
    """One page of the viewer's feed, newest first, each post once, hidden posts skipped."""
    now = clock.now()
    before = _position(cursor)
    rows = _row_source(viewer_id, before, limit)
    with ThreadPoolExecutor(max_workers=16) as pool:  # the independent reads at once
        followed = pool.submit(followed_authors, viewer_id)
        hidden = pool.submit(blocks.blocked_by, viewer_id)
        merged = pool.submit(merged_authors, now)
        first_rows = pool.submit(rows.head)
        authors = followed.result() | {viewer_id}
        heads = merged_heads(sorted(authors & merged.result()), pool)
        merged_sources = [_merged_source(author, before, now, newest) for author, newest in heads.items()]
        list(pool.map(_Source.head, merged_sources))  # a query only where no head serves
        first_rows.result()
    sources = [rows, *merged_sources]
    hidden_authors = hidden.result()
    shown: list[dict[str, Any]] = []
    seen: set[str] = set()
    stale: list[Entry] = []
    last: str | None = None
    while len(shown) < limit:
        batch = _take(sources, limit - len(shown))
        if not batch:
            break
        found = posts_by_id({entry.post_id for entry in batch})
        for entry in batch:
            last = entry.key
            if entry.post_id in seen:
                continue
            seen.add(entry.post_id)
            post = found.get(entry.post_id)
            if post is None or post["author_id"] not in authors:
                stale.append(entry)  # deleted, or its author unfollowed: the row goes lazily
            elif post.get("state") == PUBLISHED and post["author_id"] not in hidden_authors:
                shown.append(post | {"source": "merged" if entry.merged else "fanout"})
    more = any(source.head() is not None for source in sources)
    _forget(viewer_id, [entry for entry in stale if not entry.merged])
    return {"items": ranker(viewer_id, shown), "next_cursor": _cursor(last) if more and last else None}


def _take(sources: list[_Source], count: int) -> list[Entry]:
    """The next ``count`` entries across all sources, newest first."""
    taken: list[Entry] = []
    while len(taken) < count:
        heads = [(entry.key, index) for index, source in enumerate(sources) if (entry := source.head())]
        if not heads:
            break
        _, index = max(heads)
        taken.append(sources[index].buffer.popleft())
    return taken


def _cursor(key: str) -> str | None:
    return encode_cursor({"feed_key": {"S": key}})


def _forget(viewer_id: str, entries: list[Entry]) -> None:
    """Delete rows that can never show again (their post is gone or its author unfollowed)."""
    write_batch(FeedRow, deletes=[FeedRow(viewer_id, entry.key) for entry in entries])


def backfill(viewer_id: str, author_id: str) -> int:
    """Copy an author's recent fanned-out posts into a viewer's feed (on follow, and on return)."""
    now = clock.now()
    recent = Post.by_author.query(
        author_id,
        Post.created_at > now - FEED_WINDOW_SECONDS,
        filter_condition=Post.delivery == "fanout",
        scan_index_forward=False,
        limit=BACKFILL_POSTS,
    )
    rows = [feed_row(viewer_id, post.to_dict()) for post in recent]
    write_batch(FeedRow, puts=rows)
    return len(rows)


def rebuild(viewer_id: str, authors: Iterable[str]) -> int:
    """Refill a returning user's feed from the authors they follow, in parallel."""
    authors = list(authors)
    if not authors:
        return 0
    with ThreadPoolExecutor(max_workers=min(8, len(authors))) as pool:
        return sum(pool.map(lambda author_id: backfill(viewer_id, author_id), authors))
