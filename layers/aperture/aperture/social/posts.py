"""Posts: created once per idempotency key, published when their media may be shown.

A post holds no media, or 1 to 10 items (a carousel of photos and videos), each with optional alt
text. It starts ``pending`` and is published (and its fan-out job sent) as soon as every item is
ready and approved by moderation; an item held for review or blocked keeps it pending, shown
nowhere. A post without media is published at once. Whichever of "post created" and "its last
item approved" happens last publishes: each writes its media record before reading the others'
(strongly consistent), so of two that race, at least one sees both done.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
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
from aperture.social.tables import Comment, Like, Post, day_partition
from aperture.social.users import get_profile

FANOUT_QUEUE = "FANOUT_QUEUE_URL"
PENDING, PUBLISHED = "pending", "published"
ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


class MediaItem(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    media_id: str = Field(pattern=ID_PATTERN)
    alt_text: str = Field(default="", max_length=1000, description="what a screen reader says of it")


class NewPost(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    caption: str = Field(default="", max_length=2200)
    media_id: str | None = Field(default=None, pattern=ID_PATTERN, description="one item, no alt text")
    media: list[MediaItem] | None = Field(
        default=None, min_length=1, max_length=10, description="1 to 10 items, photos and videos, in order"
    )

    @model_validator(mode="after")
    def _one_way_to_name_media(self) -> NewPost:
        if self.media_id is not None and self.media is not None:
            raise ValueError("give media_id or media, not both")
        if len({item.media_id for item in self.items}) < len(self.items):
            raise ValueError("a media item appears twice")
        return self

    @property
    def items(self) -> list[MediaItem]:
        if self.media is not None:
            return self.media
        return [MediaItem(media_id=self.media_id)] if self.media_id else []


def media_items(post: dict[str, Any]) -> list[dict[str, str]]:
    """A post's media items (a post from before carousels, or its stream image, names one)."""
    if post.get("media_items"):
        return list(post["media_items"])
    return [{"media_id": post["media_id"], "alt_text": ""}] if post.get("media_id") else []


def _stored(items: list[MediaItem]) -> list[dict[str, str]]:
    return [{"media_id": i.media_id, "alt_text": i.alt_text} for i in items]


def create_post(caller: Caller, post: NewPost, request_key: str | None = None) -> dict[str, Any]:
    """A pending post, published at once when its media may be shown. Each step may repeat: a
    retry with the same ``request_key`` finds the post its first try saved and finishes it."""
    items = _stored(post.items)
    for item in items:
        media = find_media(item["media_id"])
        if media is None:
            raise NotFound(f"there is no media {item['media_id']}")
        if media["owner_id"] != caller.user_id:
            raise Forbidden("you can only post your own media")
    post_id, created_at = item_id("p", request_key), clock.now()
    created = Post(
        post_id,
        author_id=caller.user_id,
        caption=post.caption,
        media_id=items[0]["media_id"] if items else None,
        media_items=items or None,
        created_at=created_at,
        created_day=day_partition(post_id, created_at),
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
        if (item.get("caption") or "", media_items(item)) != (post.caption, items):
            raise Unprocessable("this Idempotency-Key was used with a different request body") from error
    # Each item as it is after this post's attach: the write, then the read, against approvals
    cleared = [is_cleared(attach(media["media_id"], "post_ids", item["post_id"])) for media in items]
    if item["state"] == PENDING and all(cleared):
        item["state"] = publish(item)
    return item


def _all_cleared(post: dict[str, Any]) -> bool:
    """Every media item of the post is ready and approved (read after the caller's own write)."""
    return all(is_cleared(find_media(i["media_id"]) or {}) for i in media_items(post))


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
    """Publish the pending posts of media that moderation has just approved, those whose every
    other item is approved too."""
    published = 0
    for post in posts_by_id(media.get("post_ids", [])).values():
        if post["state"] == PENDING and _all_cleared(post):
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
    media = Counter(release(item["media_id"], post["post_id"]) for item in media_items(post))
    return {
        "post_id": post["post_id"],
        "likes_removed": len(likes),
        "comments_removed": len(comments),
        "media": dict(media),  # how many items were "deleted", "kept" (shown elsewhere), or "gone"
    }


def posts_by_id(post_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The posts that exist among ``post_ids``."""
    return {post.post_id: post.to_dict() for post in Post.batch_get(sorted(set(post_ids)))}


def backfill_created_days(segments: int = 4) -> int:
    """Give every post made before ``created_day`` existed its ByDay partition, so Explore's batches
    see it; returns how many it gave one. A one-off scan in parallel segments; safe to run again or
    beside new posts (each update applies only where the attribute is still missing)."""

    def segment(number: int) -> int:
        given = 0
        missing = Post.scan(
            Post.created_day.does_not_exist(),
            segment=number,
            total_segments=segments,
            attributes_to_get=["post_id", "created_at"],
        )
        for post in missing:
            try:
                post.update(
                    [Post.created_day.set(day_partition(post.post_id, float(post.created_at)))],
                    condition=Post.created_day.does_not_exist() & Post.post_id.exists(),
                )
                given += 1
            except UpdateError as error:
                if not condition_failed(error):
                    raise  # else given meanwhile, or deleted
        return given

    with ThreadPoolExecutor(max_workers=segments) as pool:
        return sum(pool.map(segment, range(segments)))
