"""Likes: one per (user, post), and the post's count moves in the same transaction as the like row.

``reconcile_like_counts`` recounts from the like rows and repairs any drift, guarded by the count
it read, so it never overwrites a like that landed while it counted.
"""

from __future__ import annotations

import random
import time
from typing import Any

from aperture.core import clock
from aperture.core.dynamo import cancellation_reasons, dynamodb, table, to_item
from aperture.core.errors import Conflict, NotFound
from aperture.core.identity import Caller
from aperture.social.posts import POSTS, PUBLISHED, get_post
from aperture.stories import closeness

LIKES = "LIKES_TABLE"
_ATTEMPTS = 50


def _post_counter(post_id: str, delta: int) -> dict[str, Any]:
    """The counter moves only on a published post: a pending or blocked one is not there to like."""
    return {
        "Update": {
            "TableName": table(POSTS),
            "Key": {"post_id": {"S": post_id}},
            "UpdateExpression": "ADD like_count :delta",
            "ConditionExpression": "#state = :published",
            "ExpressionAttributeNames": {"#state": "state"},
            "ExpressionAttributeValues": {":delta": {"N": str(delta)}, ":published": {"S": PUBLISHED}},
        }
    }


def _transact(items: list[dict[str, Any]], post_id: str) -> bool:
    """True when applied; False when the like row was already as wanted."""
    for _ in range(_ATTEMPTS):
        try:
            dynamodb().transact_write_items(TransactItems=items)
        except dynamodb().exceptions.TransactionCanceledException as error:
            row, post = cancellation_reasons(error)
            if post == "ConditionalCheckFailed":
                raise NotFound(f"there is no post {post_id}") from error
            if row == "ConditionalCheckFailed":
                return False
            time.sleep(random.uniform(0, 0.01))  # TransactionConflict: another like of this post
            continue
        return True
    raise Conflict("too many concurrent changes to this post: retry")


def like(caller: Caller, post_id: str) -> dict[str, Any]:
    row = {"post_id": post_id, "user_id": caller.user_id, "liked_at": clock.now()}
    put = {
        "Put": {
            "TableName": table(LIKES),
            "Item": to_item(row),
            "ConditionExpression": "attribute_not_exists(user_id)",
        }
    }
    changed = _transact([put, _post_counter(post_id, +1)], post_id)
    post = get_post(post_id)
    if changed:
        closeness.record(caller.user_id, post["author_id"])
    return {"post_id": post_id, "liked": True, "changed": changed, "like_count": post["like_count"]}


def unlike(caller: Caller, post_id: str) -> dict[str, Any]:
    delete = {
        "Delete": {
            "TableName": table(LIKES),
            "Key": {"post_id": {"S": post_id}, "user_id": {"S": caller.user_id}},
            "ConditionExpression": "attribute_exists(user_id)",
        }
    }
    changed = _transact([delete, _post_counter(post_id, -1)], post_id)
    return {
        "post_id": post_id,
        "liked": False,
        "changed": changed,
        "like_count": get_post(post_id)["like_count"],
    }


def count_likes(post_id: str) -> int:
    total, start = 0, None
    while True:
        query: dict[str, Any] = {
            "TableName": table(LIKES),
            "KeyConditionExpression": "post_id = :post",
            "ExpressionAttributeValues": {":post": {"S": post_id}},
            "Select": "COUNT",
            "ConsistentRead": True,
        }
        if start:
            query["ExclusiveStartKey"] = start
        page = dynamodb().query(**query)
        total += int(page["Count"])
        start = page.get("LastEvaluatedKey")
        if not start:
            return total


def reconcile_like_counts() -> dict[str, int]:
    """Recount every post's likes; repair the counts that drifted. Returns what it did."""
    checked = repaired = 0
    for page in (
        dynamodb()
        .get_paginator("scan")
        .paginate(TableName=table(POSTS), ProjectionExpression="post_id, like_count")
    ):
        for item in page["Items"]:
            checked += 1
            post_id, seen = item["post_id"]["S"], item.get("like_count", {"N": "0"})["N"]
            actual = count_likes(post_id)
            if actual == int(seen):
                continue
            try:
                dynamodb().update_item(
                    TableName=table(POSTS),
                    Key={"post_id": {"S": post_id}},
                    UpdateExpression="SET like_count = :actual",
                    ConditionExpression="like_count = :seen",
                    ExpressionAttributeValues={":actual": {"N": str(actual)}, ":seen": {"N": seen}},
                )
                repaired += 1
            except dynamodb().exceptions.ConditionalCheckFailedException:
                pass  # a like landed while counting: the next run looks again
    return {"checked": checked, "repaired": repaired}
