"""Comments on published posts, with one level of replies, counted exactly like likes.

A comment's row and its post's ``comment_count`` (and, for a reply, its parent's ``reply_count``)
move in one transaction, so 100 concurrent comments count 100 and a deleted one takes its count
with it. A held comment (moderation screens the text: ``moderation.screening``) is stored, shown
to no one, and counted and announced only once a moderator approves it.
"""

from __future__ import annotations

from itertools import islice
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pynamodb.exceptions import DeleteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from aperture.core import clock
from aperture.core.config import settings
from aperture.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from aperture.core.identity import Caller
from aperture.core.ids import item_id, timed_id
from aperture.core.pagination import decode_cursor, encode_cursor
from aperture.core.ratelimit import RateLimit
from aperture.core.tables import CONDITION_FAILED, commit, condition_failed
from aperture.social import blocks
from aperture.social.notifications import notify
from aperture.social.posts import ID_PATTERN, PUBLISHED, get_post, view_post
from aperture.social.tables import Comment, Post

SHOWN, HELD = "shown", "held"
REVIEW_QUEUE = "comments"
SHOWN_FIELDS = (
    "post_id",
    "comment_id",
    "author_id",
    "text",
    "created_at",
    "state",
    "parent_id",
    "reply_count",
)
_DELETE_ROUNDS = 20


class NewComment(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: str = Field(min_length=1, max_length=2200)
    reply_to: str | None = Field(
        default=None, pattern=ID_PATTERN, description="the comment this one answers; replies take no replies"
    )


def _shown(comment: dict[str, Any]) -> dict[str, Any]:
    return {name: comment[name] for name in SHOWN_FIELDS if name in comment}


def _find(post_id: str, comment_id: str) -> dict[str, Any] | None:
    try:
        return Comment.get(post_id, comment_id, consistent_read=True).to_dict()
    except Comment.DoesNotExist:
        return None


def _counted(write: TransactWrite, comment: Comment, step: int) -> None:
    """Move the post's count, and a reply's parent's, by ``step``, as ``comment`` comes or goes."""
    on_post = Post.state == PUBLISHED if step > 0 else Post.post_id.exists()
    write.update(Post(comment.post_id), [Post.comment_count.add(step)], condition=on_post)
    if comment.parent_id:
        parent = Comment(comment.post_id, comment.parent_id)
        write.update(parent, [Comment.reply_count.add(step)], condition=Comment.thread_id == comment.post_id)


def create_comment(
    caller: Caller, post_id: str, new: NewComment, request_key: str | None, *, held_for: str | None
) -> dict[str, Any]:
    """A comment on a post the caller can see, or a reply to one of its comments; held when
    ``held_for`` names a term it matched. Each step may repeat: a retry with the same
    ``request_key`` finds the comment its first try saved."""
    post = view_post(caller, post_id)
    if post["state"] != PUBLISHED:
        raise Conflict("the post is not published yet")
    parent = _find(post_id, new.reply_to) if new.reply_to else None
    if new.reply_to and (parent is None or parent.get("thread_id") != post_id):
        raise NotFound(f"there is no comment {new.reply_to} to reply to on this post")
    authors = {post["author_id"]} | ({parent["author_id"]} if parent else set())
    if any(blocks.between(caller.user_id, author) for author in authors):
        raise Forbidden("you cannot comment on this post")
    RateLimit("comments", settings().comments_per_minute, 60).take(caller.user_id)
    comment = Comment(
        post_id,
        item_id("c", request_key),
        author_id=caller.user_id,
        text=new.text,
        created_at=clock.now(),
        state=HELD if held_for else SHOWN,
        parent_id=new.reply_to,
        reply_count=0,
        thread_id=None if held_for else new.reply_to or post_id,
        review_queue=REVIEW_QUEUE if held_for else None,
        held_for=held_for,
    )

    def build(write: TransactWrite) -> None:
        write.save(comment, condition=Comment.comment_id.does_not_exist())
        if not held_for:
            _counted(write, comment, +1)

    codes = commit(build)
    saved = comment.to_dict()
    if codes and codes[0] == CONDITION_FAILED:  # this request's first try saved it
        saved = _find(post_id, comment.comment_id) or {}
        if (saved.get("text"), saved.get("parent_id")) != (new.text, new.reply_to):
            raise Unprocessable("this Idempotency-Key was used with a different request body")
    elif codes:
        raise NotFound("the post or the comment replied to is gone")
    if saved["state"] == SHOWN:
        _announce(saved, post["author_id"], parent)
    return _shown(saved)


def _announce(comment: dict[str, Any], post_author: str, parent: dict[str, Any] | None) -> None:
    """Tell the post's author (and a reply's parent's author), once however often it repeats."""
    at_ms = int(comment["created_at"] * 1000)
    told = {comment["author_id"]}
    for user_id, kind, verb in (
        (post_author, "comment", "commented"),
        ((parent or {}).get("author_id"), "reply", "replied"),
    ):
        if user_id is None or user_id in told:
            continue
        told.add(user_id)
        notify(
            user_id,
            kind,
            f"{comment['author_id']} {verb}: {comment['text'][:100]}",
            notification_id=timed_id("n", at_ms, f"{kind}:{comment['comment_id']}"),
            post_id=comment["post_id"],
            comment_id=comment["comment_id"],
            actor_id=comment["author_id"],
        )


def _thread_page(
    caller: Caller, thread_id: str, post_id: str, limit: int, cursor: str | None
) -> dict[str, Any]:
    """A thread's shown comments, oldest first, without those of users the caller blocks."""
    names = {"thread_id", "created_at", "post_id", "comment_id"}
    start = decode_cursor(cursor, names, frozenset({"created_at"}), partition={"thread_id": thread_id})
    hidden = blocks.blocked_by(caller.user_id)
    found = Comment.threads.query(thread_id, last_evaluated_key=start, page_size=limit + 1)
    visible = (c.to_dict() for c in found if c.author_id not in hidden)
    comments = list(islice(visible, limit + 1))  # one more: is there a next page?
    last = comments[limit - 1] if len(comments) > limit else None
    next_key = last and {
        "thread_id": {"S": thread_id},
        "created_at": {"N": str(last["created_at"])},
        "post_id": {"S": post_id},
        "comment_id": {"S": last["comment_id"]},
    }
    return {"items": [_shown(c) for c in comments[:limit]], "next_cursor": encode_cursor(next_key)}


def list_comments(caller: Caller, post_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
    view_post(caller, post_id)
    return _thread_page(caller, post_id, post_id, limit, cursor)


def list_replies(
    caller: Caller, post_id: str, comment_id: str, limit: int, cursor: str | None
) -> dict[str, Any]:
    view_post(caller, post_id)
    parent = _find(post_id, comment_id)
    if parent is None or parent.get("thread_id") != post_id:
        raise NotFound(f"there is no comment {comment_id} on this post")
    return _thread_page(caller, comment_id, post_id, limit, cursor)


def delete_comment(caller: Caller, post_id: str, comment_id: str) -> dict[str, Any]:
    """The comment's author or the post's author takes it down; a comment's replies go with it."""
    comment = _find(post_id, comment_id)
    if comment is None:
        raise NotFound(f"there is no comment {comment_id} on this post")
    try:
        post_author = get_post(post_id)["author_id"]
    except NotFound:
        post_author = None  # the post is going: its purge takes its comments
    if caller.user_id not in (comment["author_id"], post_author):
        raise Forbidden("only the comment's author or the post's author may delete it")
    if remove_thread(post_id, comment_id) == "gone":  # another request deleted it first
        raise NotFound(f"there is no comment {comment_id} on this post")
    try:
        count = int(get_post(post_id).get("comment_count") or 0)
    except NotFound:
        count = 0  # the post went meanwhile, and its count with it
    return {"post_id": post_id, "comment_id": comment_id, "deleted": True, "comment_count": count}


def remove_thread(post_id: str, comment_id: str) -> str:
    """Delete a comment and, for a top-level one, its replies first: "removed", or "gone"."""
    comment = _find(post_id, comment_id)
    if comment is None:
        return "gone"
    if comment["state"] != SHOWN or comment.get("parent_id"):
        return _remove(comment)
    for _ in range(_DELETE_ROUNDS):  # a reply that lands meanwhile is found by the next round
        for reply in Comment.threads.query(comment_id):
            _remove(reply.to_dict())
        if (outcome := _remove(comment, no_replies=True)) != "replied to":
            return outcome
    raise Conflict("replies keep arriving: retry")


def _remove(comment: dict[str, Any], *, no_replies: bool = False) -> str:
    """Delete one comment as it was found, taking back the counts it moved: "removed", "gone"
    (someone else was first), or "replied to" when ``no_replies`` and a reply has landed since."""
    post_id, comment_id = comment["post_id"], comment["comment_id"]
    row = Comment(post_id, comment_id, parent_id=comment.get("parent_id"))
    if comment["state"] == SHOWN:
        condition = Comment.state == SHOWN
        if no_replies:
            condition &= Comment.reply_count == 0

        def build(write: TransactWrite) -> None:
            write.delete(row, condition=condition)
            _counted(write, row, -1)

        codes = commit(build)
        if not codes:
            return "removed"
        if codes[0] == CONDITION_FAILED:
            return "replied to" if no_replies and _find(post_id, comment_id) else "gone"
        # else the post is gone, and its count with it: the row alone remains to delete
    try:  # still as found: a held one a moderator approved meanwhile is counted, not this
        row.delete(condition=Comment.state == comment["state"])
    except DeleteError as error:
        if not condition_failed(error):
            raise
        return "gone"
    return "removed"


# ------------------------------------------------------------------------------ held comments
def held_page(limit: int, cursor: str | None) -> dict[str, Any]:
    """Comments held for review, oldest first, each with the term it matched."""
    names = {"review_queue", "created_at", "post_id", "comment_id"}
    start = decode_cursor(cursor, names, frozenset({"created_at"}), partition={"review_queue": REVIEW_QUEUE})
    page = Comment.held.query(REVIEW_QUEUE, limit=limit, last_evaluated_key=start)
    items = [_shown(c.to_dict()) | {"held_for": c.held_for} for c in page]
    return {"items": items, "next_cursor": encode_cursor(page.last_evaluated_key)}


def _held(post_id: str, comment_id: str) -> dict[str, Any]:
    comment = _find(post_id, comment_id)
    if comment is None:
        raise NotFound(f"there is no comment {comment_id} on this post")
    if comment["state"] != HELD:
        raise Conflict("this comment is not held for review")
    return comment


def approve_held(post_id: str, comment_id: str) -> dict[str, Any]:
    """Show a held comment: counted and announced as if it had just been posted."""
    comment = _held(post_id, comment_id)
    row = Comment(post_id, comment_id, parent_id=comment.get("parent_id"))

    def build(write: TransactWrite) -> None:
        shown: list[Action] = [
            Comment.state.set(SHOWN),
            Comment.thread_id.set(comment.get("parent_id") or post_id),
            Comment.review_queue.remove(),
        ]
        write.update(row, shown, condition=Comment.state == HELD)
        _counted(write, row, +1)

    codes = commit(build)
    if codes and codes[0] == CONDITION_FAILED:
        raise Conflict("another moderator decided this comment first")
    if codes:
        raise NotFound("the post or the comment it replies to is gone")
    parent = _find(post_id, comment["parent_id"]) if comment.get("parent_id") else None
    _announce(comment | {"state": SHOWN}, get_post(post_id)["author_id"], parent)
    return _shown(comment | {"state": SHOWN})


def remove_held(post_id: str, comment_id: str) -> None:
    if _remove(_held(post_id, comment_id)) == "gone":
        raise Conflict("another moderator decided this comment first")
