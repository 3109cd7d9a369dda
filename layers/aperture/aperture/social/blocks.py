"""Blocks: a viewer's block hides the blocked user's posts from the viewer's feed."""

from __future__ import annotations

from typing import Any

from aperture.core import clock
from aperture.core.dynamo import dynamodb, query_items, table, to_item
from aperture.core.errors import Forbidden, Unprocessable
from aperture.core.identity import Caller
from aperture.social.users import get_profile

BLOCKS = "BLOCKS_TABLE"


def _own(caller: Caller, blocker_id: str, blocked_id: str) -> None:
    if caller.user_id != blocker_id:
        raise Forbidden("you can only change whom you block")
    if blocker_id == blocked_id:
        raise Unprocessable("you cannot block yourself")


def block(caller: Caller, blocker_id: str, blocked_id: str) -> dict[str, Any]:
    _own(caller, blocker_id, blocked_id)
    get_profile(blocked_id)
    item = {"blocker_id": blocker_id, "blocked_id": blocked_id, "created_at": clock.now()}
    dynamodb().put_item(TableName=table(BLOCKS), Item=to_item(item))
    return {"blocker_id": blocker_id, "blocked_id": blocked_id, "blocked": True}


def unblock(caller: Caller, blocker_id: str, blocked_id: str) -> dict[str, Any]:
    _own(caller, blocker_id, blocked_id)
    key = {"blocker_id": {"S": blocker_id}, "blocked_id": {"S": blocked_id}}
    dynamodb().delete_item(TableName=table(BLOCKS), Key=key)
    return {"blocker_id": blocker_id, "blocked_id": blocked_id, "blocked": False}


def blocked_by(blocker_id: str) -> set[str]:
    items = query_items(
        TableName=table(BLOCKS),
        KeyConditionExpression="blocker_id = :b",
        ExpressionAttributeValues={":b": {"S": blocker_id}},
        ProjectionExpression="blocked_id",
    )
    return {item["blocked_id"] for item in items}
