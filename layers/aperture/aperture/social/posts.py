"""Posts: created once per idempotency key, published when their media may be shown.

A post starts ``pending``. It is published (and its fan-out job sent) as soon as its media is
ready and moderation has approved it; media held for review or blocked keeps its posts pending,
shown nowhere. A post without media is published at once. Whichever of "post created" and
"media approved" happens second publishes: both update the media record, so the later one always
sees the other.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pynamodb.exceptions import DeleteError, UpdateError

from aperture.core import clock
from aperture.core.aws import client
from aperture.core.config import resource_name
from aperture.core.errors import Forbidden, NotFound
from aperture.core.identity import Caller
from aperture.core.ids import new_id
from aperture.core.messages import FanoutJob
from aperture.core.tables import condition_failed
from aperture.media.records import attach, find_media, is_cleared
from aperture.social.tables import Post

FANOUT_QUEUE = "FANOUT_QUEUE_URL"
PENDING, PUBLISHED = "pending", "published"
ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


class NewPost(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    caption: str = Field(default="", max_length=2200)
    media_id: str | None = Field(default=None, pattern=ID_PATTERN)


def create_post(caller: Caller, post: NewPost) -> dict[str, Any]:
    if post.media_id is not None:
        media = find_media(post.media_id)
        if media is None:
            raise NotFound(f"there is no media {post.media_id}")
        if media["owner_id"] != caller.user_id:
            raise Forbidden("you can only post your own media")
    post_id = new_id("p")
    created = Post(
        post_id,
        author_id=caller.user_id,
        caption=post.caption,
        media_id=post.media_id,
        created_at=clock.now(),
        like_count=0,
        state=PENDING,
    )
    created.save(condition=Post.post_id.does_not_exist())
    item = created.to_dict()
    if post.media_id is None or is_cleared(attach(post.media_id, "post_ids", post_id)):
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


def delete_post(caller: Caller, post_id: str) -> dict[str, Any]:
    """Delete a post; feeds drop their rows for it lazily, the next time they meet them."""
    try:
        Post(post_id).delete(condition=Post.author_id == caller.user_id)
    except DeleteError as error:
        if not condition_failed(error):
            raise
        get_post(post_id)  # a 404 when there is no such post
        raise Forbidden("you can only delete your own posts") from error
    return {"post_id": post_id, "deleted": True}


def posts_by_id(post_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The posts that exist among ``post_ids``."""
    return {post.post_id: post.to_dict() for post in Post.batch_get(sorted(set(post_ids)))}
