"""Notifications: what the service tells a user about their content (failed uploads, blocked media)."""

from __future__ import annotations

from typing import Any

from aperture.core import clock
from aperture.core.dynamo import dynamodb, from_item, table, to_item
from aperture.core.ids import new_id
from aperture.core.pagination import decode_cursor, encode_cursor

NOTIFICATIONS = "NOTIFICATIONS_TABLE"


def notify(user_id: str, kind: str, message: str, **about: Any) -> None:
    notification = {
        "user_id": user_id,
        "notification_id": new_id("n"),  # time-ordered: newest sorts last
        "kind": kind,
        "message": message,
        "created_at": clock.now(),
        **about,
    }
    dynamodb().put_item(TableName=table(NOTIFICATIONS), Item=to_item(notification))


def notifications_of(user_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
    """The user's notifications, newest first."""
    query: dict[str, Any] = {
        "TableName": table(NOTIFICATIONS),
        "KeyConditionExpression": "user_id = :u",
        "ExpressionAttributeValues": {":u": {"S": user_id}},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    start = decode_cursor(cursor, {"user_id", "notification_id"}, partition={"user_id": user_id})
    if start:
        query["ExclusiveStartKey"] = start
    page = dynamodb().query(**query)
    return {
        "items": [from_item(item) for item in page["Items"]],
        "next_cursor": encode_cursor(page.get("LastEvaluatedKey")),
    }
