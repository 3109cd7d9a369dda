"""Posts: created once per idempotency key, read with their like counts."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from . import clock
from .dynamo import dynamodb, from_item, table, to_item
from .errors import Forbidden, NotFound
from .identity import Caller
from .ids import new_id

POSTS = "POSTS_TABLE"
MEDIA = "MEDIA_TABLE"
ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


class NewPost(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    caption: str = Field(default="", max_length=2200)
    media_id: str | None = Field(default=None, pattern=ID_PATTERN)


def create_post(caller: Caller, post: NewPost) -> dict[str, Any]:
    if post.media_id is not None:
        found = dynamodb().get_item(TableName=table(MEDIA), Key={"media_id": {"S": post.media_id}})
        if "Item" not in found:
            raise NotFound(f"there is no media {post.media_id}")
        if found["Item"]["owner_id"]["S"] != caller.user_id:
            raise Forbidden("you can only post your own media")
    item = {
        "post_id": new_id("p"),
        "author_id": caller.user_id,
        "caption": post.caption,
        "media_id": post.media_id,
        "created_at": clock.now(),
        "like_count": 0,
    }
    dynamodb().put_item(
        TableName=table(POSTS), Item=to_item(item), ConditionExpression="attribute_not_exists(post_id)"
    )
    return {key: value for key, value in item.items() if value is not None}


def get_post(post_id: str) -> dict[str, Any]:
    found = dynamodb().get_item(TableName=table(POSTS), Key={"post_id": {"S": post_id}}, ConsistentRead=True)
    if "Item" not in found:
        raise NotFound(f"there is no post {post_id}")
    return from_item(found["Item"])
