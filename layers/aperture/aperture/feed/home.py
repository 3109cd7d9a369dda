"""The home feed: rows written by fan-out, merged on read with the posts of celebrity authors.

A normal author's post is copied into each follower's feed (see ``fanout``); a celebrity's is not:
the read merges the recent posts of the merged authors the viewer follows. Every source is
ordered by one key (creation time, then post id), so a single cursor pages through their union
stably: posts that arrive later sort before the cursor and never shift a page.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from cachetools import TTLCache

from aperture.core import clock
from aperture.core.dynamo import dynamodb, from_item, query_items, table, to_item
from aperture.core.errors import BadRequest
from aperture.core.pagination import decode_cursor, encode_cursor
from aperture.social import blocks
from aperture.social.graph import GRAPH
from aperture.social.posts import BY_AUTHOR, POSTS, PUBLISHED, posts_by_id
from aperture.social.users import USERS

FEEDS = "FEEDS_TABLE"
MERGED_AUTHORS_INDEX = "MergedAuthors"
MERGE_GROUP = "merged"
FEED_WINDOW_SECONDS = 30 * 86_400  # feed rows expire after this; merged authors are read this far back
MERGED_AUTHORS_TTL = 60.0  # seconds a function instance trusts its list of merged authors
MERGED_HEAD_TTL = 15.0  # seconds it trusts a merged author's newest posts
BACKFILL_POSTS = 20  # posts of a newly followed author copied into the follower's feed
_PAGE = 50
_KEY = re.compile(r"^\d{13}#[A-Za-z0-9_-]{1,64}$")
_cache_lock = threading.Lock()
# Caches of one function instance, on real elapsed time (the domain clock may be frozen or fast).
_merged_authors: TTLCache[str, frozenset[str]] = TTLCache(maxsize=16, ttl=MERGED_AUTHORS_TTL)
_merged_heads: TTLCache[tuple[str, str], tuple[list[Entry], dict[str, Any] | None]] = TTLCache(
    maxsize=10_000, ttl=MERGED_HEAD_TTL
)


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
    key: str
    post_id: str
    author_id: str
    merged: bool  # from a merged author's posts, not from a row of the viewer's feed


class Ranker(Protocol):
    """Orders one page of visible posts; the hook a ranking model plugs into."""

    def __call__(self, viewer_id: str, posts: list[dict[str, Any]]) -> list[dict[str, Any]]: ...


def by_time(viewer_id: str, posts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return posts


def feed_row(user_id: str, post: dict[str, Any]) -> dict[str, Any]:
    """The item that puts ``post`` in ``user_id``'s feed; it expires when it leaves the window."""
    return to_item(
        {
            "user_id": user_id,
            "feed_key": feed_key(post["created_at"], post["post_id"]),
            "post_id": post["post_id"],
            "author_id": post["author_id"],
            "expires_at_epoch": int(post["created_at"] + FEED_WINDOW_SECONDS),
        }
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


def _row_source(viewer_id: str, before: str | None) -> _Source:
    def fetch(start: dict[str, Any] | None) -> tuple[list[Entry], dict[str, Any] | None]:
        query: dict[str, Any] = {
            "TableName": table(FEEDS),
            "KeyConditionExpression": "user_id = :v" + (" AND feed_key < :before" if before else ""),
            "ExpressionAttributeValues": {":v": {"S": viewer_id}}
            | ({":before": {"S": before}} if before else {}),
            "ScanIndexForward": False,
            "Limit": _PAGE,
        }
        if start:
            query["ExclusiveStartKey"] = start
        page = dynamodb().query(**query)
        entries = [
            Entry(item["feed_key"]["S"], item["post_id"]["S"], item["author_id"]["S"], merged=False)
            for item in page["Items"]
        ]
        return entries, page.get("LastEvaluatedKey")

    return _Source(fetch)


def _merged_source(author_id: str, before: str | None, now: float) -> _Source:
    """A merged author's posts that were not fanned out, newest first, within the feed window."""

    def query(start: dict[str, Any] | None) -> tuple[list[Entry], dict[str, Any] | None]:
        until = int(before[:13]) / 1000 + 0.001 if before else now
        request: dict[str, Any] = {
            "TableName": table(POSTS),
            "IndexName": BY_AUTHOR,
            "KeyConditionExpression": "author_id = :a AND created_at BETWEEN :since AND :until",
            "FilterExpression": "delivery = :merge",
            "ExpressionAttributeValues": to_item(
                {":a": author_id, ":since": now - FEED_WINDOW_SECONDS, ":until": until, ":merge": "merge"}
            ),
            "ProjectionExpression": "post_id, author_id, created_at",
            "ScanIndexForward": False,
            "Limit": _PAGE,
        }
        if start:
            request["ExclusiveStartKey"] = start
        page = dynamodb().query(**request)
        entries = [
            Entry(feed_key(post["created_at"], post["post_id"]), post["post_id"], author_id, merged=True)
            for post in map(from_item, page["Items"])
        ]
        return [e for e in entries if before is None or e.key < before], page.get("LastEvaluatedKey")

    def fetch(start: dict[str, Any] | None) -> tuple[list[Entry], dict[str, Any] | None]:
        if before is not None or start is not None:
            return query(start)
        cache_key = (table(POSTS), author_id)
        with _cache_lock:
            head = _merged_heads.get(cache_key)
        if head is None:
            head = query(None)
            with _cache_lock:
                _merged_heads[cache_key] = head
        return head

    return _Source(fetch)


def merged_authors(now: float) -> frozenset[str]:
    """Authors whose posts feeds merge on read (cached briefly: the list changes rarely)."""
    cache_key = table(USERS)
    with _cache_lock:
        found = _merged_authors.get(cache_key)
    if found is None:
        items = query_items(
            TableName=table(USERS),
            IndexName=MERGED_AUTHORS_INDEX,
            KeyConditionExpression="merge_group = :g",
            FilterExpression="merge_until > :now",
            ExpressionAttributeValues=to_item({":g": MERGE_GROUP, ":now": now}),
        )
        found = frozenset(item["user_id"] for item in items)
        with _cache_lock:
            _merged_authors[cache_key] = found
    return found


def list_as_merged(author_id: str, until: float) -> None:
    """Have reads merge the author's posts and Stories in, until ``until`` at least."""
    try:
        dynamodb().update_item(
            TableName=table(USERS),
            Key={"user_id": {"S": author_id}},
            UpdateExpression="SET merge_group = :group, merge_until = :until",
            ConditionExpression="attribute_not_exists(merge_until) OR merge_until < :until",
            ExpressionAttributeValues=to_item({":group": MERGE_GROUP, ":until": until}),
        )
    except dynamodb().exceptions.ConditionalCheckFailedException:
        pass  # listed for longer already


def followed_authors(viewer_id: str) -> set[str]:
    items = query_items(
        TableName=table(GRAPH),
        KeyConditionExpression="follower_id = :v",
        FilterExpression="following = :yes",
        ExpressionAttributeValues={":v": {"S": viewer_id}, ":yes": {"BOOL": True}},
        ProjectionExpression="followee_id",
    )
    return {item["followee_id"] for item in items}


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
    authors = followed_authors(viewer_id) | {viewer_id}
    hidden_authors = blocks.blocked_by(viewer_id)
    sources = [_row_source(viewer_id, before)] + [
        _merged_source(author_id, before, now) for author_id in sorted(authors & merged_authors(now))
    ]
    with ThreadPoolExecutor(max_workers=min(16, len(sources))) as pool:
        list(pool.map(_Source.head, sources))  # each source's first page, in parallel
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
    requests = [
        {"DeleteRequest": {"Key": {"user_id": {"S": viewer_id}, "feed_key": {"S": entry.key}}}}
        for entry in entries
    ]
    write_rows(requests)


def write_rows(requests: list[dict[str, Any]], attempts: int = 6) -> int:
    """BatchWriteItem in chunks of 25, retrying unprocessed items with backoff; the requests made."""
    calls = 0
    for start in range(0, len(requests), 25):
        pending = requests[start : start + 25]
        for attempt in range(attempts):
            calls += 1
            result = dynamodb().batch_write_item(RequestItems={table(FEEDS): pending})
            pending = result.get("UnprocessedItems", {}).get(table(FEEDS), [])
            if not pending:
                break
            time.sleep(min(0.05 * 2**attempt, 1.0))
        else:
            raise RuntimeError(f"{len(pending)} feed rows still unprocessed after {attempts} attempts")
    return calls


def backfill(viewer_id: str, author_id: str) -> int:
    """Copy an author's recent fanned-out posts into a viewer's feed (on follow, and on return)."""
    now = clock.now()
    posts = dynamodb().query(
        TableName=table(POSTS),
        IndexName=BY_AUTHOR,
        KeyConditionExpression="author_id = :a AND created_at > :since",
        FilterExpression="delivery = :fanout",
        ExpressionAttributeValues=to_item(
            {":a": author_id, ":since": now - FEED_WINDOW_SECONDS, ":fanout": "fanout"}
        ),
        ScanIndexForward=False,
        Limit=BACKFILL_POSTS,
    )["Items"]
    write_rows([{"PutRequest": {"Item": feed_row(viewer_id, from_item(post))}} for post in posts])
    return len(posts)


def rebuild(viewer_id: str, authors: Iterable[str]) -> int:
    """Refill a returning user's feed from the authors they follow, in parallel."""
    authors = list(authors)
    if not authors:
        return 0
    with ThreadPoolExecutor(max_workers=min(8, len(authors))) as pool:
        return sum(pool.map(lambda author_id: backfill(viewer_id, author_id), authors))
