"""Posts: created once per idempotency key, published when their media may be shown.

A post starts ``pending``. It is published (and its fan-out job sent) as soon as its media is
ready and moderation has approved it; media held for review or blocked keeps its posts pending,
shown nowhere. A post without media is published at once. Whichever of "post created" and
"media approved" happens second publishes: both update the media record, so the later one always
sees the other.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pynamodb.exceptions import DeleteError, PutError, UpdateError

from aperture.core import clock
from aperture.core.aws import client
from aperture.core.config import resource_name
from aperture.core.errors import Forbidden, NotFound, Unprocessable
from aperture.core.identity import Caller
from aperture.core.ids import item_id
from aperture.core.messages import FanoutJob
from aperture.core.pagination import decode_cursor, encode_cursor
from aperture.core.tables import condition_failed, write_batch
from aperture.media.records import attach, find_media, is_cleared, shown_media
from aperture.media.removal import release
from aperture.social import blocks
from aperture.social.tables import Comment, Like, Post
from aperture.social.users import get_profile

FANOUT_QUEUE = "FANOUT_QUEUE_URL"
PENDING, PUBLISHED = "pending", "published"
ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


class NewPost(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    caption: str = Field(default="", max_length=2200)
    media_id: str | None = Field(default=None, pattern=ID_PATTERN)


def create_post(caller: Caller, post: NewPost, request_key: str | None = None) -> dict[str, Any]:
    """A pending post, published at once when its media may be shown. Each step may repeat: a
    retry with the same ``request_key`` finds the post its first try saved and finishes it."""
    if post.media_id is not None:
        media = find_media(post.media_id)
        if media is None:
            raise NotFound(f"there is no media {post.media_id}")
        if media["owner_id"] != caller.user_id:
            raise Forbidden("you can only post your own media")
    created = Post(
        item_id("p", request_key),
        author_id=caller.user_id,
        caption=post.caption,
        media_id=post.media_id,
        created_at=clock.now(),
        like_count=0,
        comment_count=0,
        state=PENDING,
    )
    try:
        created.save(condition=Post.post_id.does_not_exist())
        item = created.to_dict()
    except PutError as error:
        if request_key is None or not condition_failed(error):
            raise
        item = get_post(created.post_id)
        if (item.get("caption") or "", item.get("media_id")) != (post.caption, post.media_id):
            raise Unprocessable("this Idempotency-Key was used with a different request body") from error
    if item["state"] == PENDING and (
        post.media_id is None or is_cleared(attach(post.media_id, "post_ids", item["post_id"]))
    ):
        item["state"] = publish(item)
    return item


def publish(post: dict[str, Any]) -> str:
    """Send the post's fan-out job, then mark it published. Both steps may repeat harmlessly."""
    job = FanoutJob(post_id=post["post_id"], author_id=post["author_id"], created_at=post["created_at"])
    client("sqs").send_message(QueueUrl=resource_name(FANOUT_QUEUE), MessageBody=job.model_dump_json())
    try:
        Post(post["post_id"]).update(
            [Post.state.set(PUBLISHED), Post.published_at.set(clock.now())],
            condition=Post.state == PENDING,
        )
    except UpdateError as error:
        if not condition_failed(error):
            raise  # else published already, by whichever step came first; or deleted
    return PUBLISHED


def publish_posts_of(media: dict[str, Any]) -> int:
    """Publish the pending posts of media that moderation has just approved."""
    published = 0
    for post in posts_by_id(media.get("post_ids", [])).values():
        if post["state"] == PENDING:
            publish(post)
            published += 1
    return published


def get_post(post_id: str) -> dict[str, Any]:
    try:
        return Post.get(post_id, consistent_read=True).to_dict()
    except Post.DoesNotExist as error:
        raise NotFound(f"there is no post {post_id}") from error


def view_post(caller: Caller, post_id: str) -> dict[str, Any]:
    """A published post, or the caller's own in any state; anything else is not there for them."""
    post = get_post(post_id)
    if post["state"] != PUBLISHED and post["author_id"] != caller.user_id:
        raise NotFound(f"there is no post {post_id}")
    return post


def profile_grid(caller: Caller, author_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
    """A profile's posts, newest first, each with its media as anyone may see it.

    The author sees their own in every state; anyone else sees published posts only, and nothing
    at all when either of the two blocks the other (as if the profile did not exist)."""
    get_profile(author_id)
    own = caller.user_id == author_id
    if not own and blocks.between(caller.user_id, author_id):
        raise NotFound(f"there is no user {author_id}")
    start = decode_cursor(
        cursor,
        {"post_id", "author_id", "created_at"},
        frozenset({"created_at"}),
        partition={"author_id": author_id},
    )
    found = Post.by_author.query(
        author_id,
        scan_index_forward=False,
        filter_condition=None if own else Post.state == PUBLISHED,
        last_evaluated_key=start,
        page_size=limit + 1,
    )
    posts = [post.to_dict() for post in islice(found, limit + 1)]  # one more: is there a next page?
    page = posts[:limit]
    media = shown_media(post["media_id"] for post in page if post.get("media_id"))
    last = page[-1] if len(posts) > limit else None
    return {
        "items": [post | {"media": media.get(post.get("media_id") or "")} for post in page],
        "next_cursor": last
        and encode_cursor(
            {
                "post_id": {"S": last["post_id"]},
                "author_id": {"S": author_id},
                "created_at": {"N": str(last["created_at"])},
            }
        ),
    }


def delete_post(caller: Caller, post_id: str) -> dict[str, Any]:
    """Delete a post. The posts table's stream then purges what it leaves (``purge_deleted``);
    feeds drop their rows for it lazily, the next time they meet them."""
    try:
        Post(post_id).delete(condition=Post.author_id == caller.user_id)
    except DeleteError as error:
        if not condition_failed(error):
            raise
        get_post(post_id)  # a 404 when there is no such post
        raise Forbidden("you can only delete your own posts") from error
    return {"post_id": post_id, "deleted": True}


def purge_deleted(post: dict[str, Any]) -> dict[str, Any]:
    """What a deleted post leaves in storage goes: its like rows, its comments, and its media's
    bytes once no other post or Story shows them. Every step repeats harmlessly (the stream may
    deliver again)."""
    likes = [Like(post["post_id"], like.user_id) for like in Like.query(post["post_id"])]
    write_batch(Like, deletes=likes)
    comments = list(Comment.query(post["post_id"], attributes_to_get=["post_id", "comment_id"]))
    write_batch(Comment, deletes=comments)
    media = release(post["media_id"], post["post_id"]) if post.get("media_id") else "none"
    return {
        "post_id": post["post_id"],
        "likes_removed": len(likes),
        "comments_removed": len(comments),
        "media": media,
    }


def posts_by_id(post_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The posts that exist among ``post_ids``."""
    return {post.post_id: post.to_dict() for post in Post.batch_get(sorted(set(post_ids)))}
