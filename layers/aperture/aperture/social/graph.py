"""The follow graph, with the seed's last-write-wins rule and exact follower counts.

Each (follower, followee) edge keeps the client timestamp of the request that last set it, even
after an unfollow (a tombstone), so a late, older request can never undo a newer one. An edge
change and both users' counters move in one transaction, guarded by the edge as it was read.
"""

from __future__ import annotations

import random
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from aperture.core.dynamo import cancellation_reasons, dynamodb, from_item, table, to_item
from aperture.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from aperture.core.identity import Caller
from aperture.core.pagination import decode_cursor, encode_cursor
from aperture.social.users import USERS, get_profile

GRAPH = "GRAPH_TABLE"
FOLLOWERS_INDEX = "Followers"
AUDIENCE_INDEX = "Audience"
_ATTEMPTS = 50


class FollowRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    following: bool
    client_timestamp: int = Field(ge=0, le=10**15, description="the client's clock, in epoch milliseconds")


def _edge_key(follower_id: str, followee_id: str) -> dict[str, Any]:
    return {"follower_id": {"S": follower_id}, "followee_id": {"S": followee_id}}


def _state(
    follower_id: str, followee_id: str, following: bool, updated_at: int, applied: bool
) -> dict[str, Any]:
    return {
        "follower_id": follower_id,
        "followee_id": followee_id,
        "following": following,
        "updated_at": updated_at,
        "applied": applied,
    }


def set_follow_state(
    caller: Caller, follower_id: str, followee_id: str, request: FollowRequest
) -> dict[str, Any]:
    """Apply a follow or unfollow if it is newer than the edge's last change; else say what is."""
    if caller.user_id != follower_id:
        raise Forbidden("you can only change whom you follow")
    if follower_id == followee_id:
        raise Unprocessable("you cannot follow yourself")
    get_profile(follower_id)
    get_profile(followee_id)
    for _ in range(_ATTEMPTS):
        found = dynamodb().get_item(
            TableName=table(GRAPH), Key=_edge_key(follower_id, followee_id), ConsistentRead=True
        )
        edge = from_item(found["Item"]) if "Item" in found else None
        if edge and edge["updated_at"] >= request.client_timestamp:
            return _state(follower_id, followee_id, edge["following"], edge["updated_at"], applied=False)
        try:
            _write(follower_id, followee_id, request, edge)
        except dynamodb().exceptions.TransactionCanceledException as error:
            if "ConditionalCheckFailed" in cancellation_reasons(error)[1:]:
                raise NotFound("one of the two users no longer exists") from error
            time.sleep(random.uniform(0, 0.01))  # the edge changed under us: read it again
            continue
        return _state(follower_id, followee_id, request.following, request.client_timestamp, applied=True)
    raise Conflict("too many concurrent changes to this follow: retry")


def _write(follower_id: str, followee_id: str, request: FollowRequest, edge: dict[str, Any] | None) -> None:
    item = {
        "follower_id": follower_id,
        "followee_id": followee_id,
        "following": request.following,
        "updated_at": request.client_timestamp,
        # Present only while following: the Followers index is sparse, so it lists live edges only.
        "active_followee_id": followee_id if request.following else None,
        # The follower is acting now, so not dormant: fan-out writes to them (see ``dormancy``).
        "audience_of": followee_id if request.following else None,
        # Engagement outlives follow changes: see ``closeness``.
        "interactions": edge.get("interactions") if edge else None,
        "last_interaction_at": edge.get("last_interaction_at") if edge else None,
    }
    put: dict[str, Any] = {"TableName": table(GRAPH), "Item": to_item(item)}
    if edge is None:
        put["ConditionExpression"] = "attribute_not_exists(follower_id)"
    else:
        put["ConditionExpression"] = "updated_at = :seen"
        put["ExpressionAttributeValues"] = {":seen": {"N": str(edge["updated_at"])}}
    items: list[dict[str, Any]] = [{"Put": put}]
    was_following = bool(edge and edge["following"])
    if was_following != request.following:
        delta = {"N": "1" if request.following else "-1"}
        for user_id, counter in ((followee_id, "follower_count"), (follower_id, "following_count")):
            items.append(
                {
                    "Update": {
                        "TableName": table(USERS),
                        "Key": {"user_id": {"S": user_id}},
                        "UpdateExpression": f"ADD {counter} :delta",
                        "ConditionExpression": "attribute_exists(user_id)",
                        "ExpressionAttributeValues": {":delta": delta},
                    }
                }
            )
    dynamodb().transact_write_items(TransactItems=items)


def _page(
    query: dict[str, Any], cursor: str | None, key_names: set[str], partition: dict[str, str], other: str
) -> dict[str, Any]:
    """One page of edges as users (the ``other`` end of each edge), and the cursor to the next."""
    start = decode_cursor(cursor, key_names, partition=partition)
    if start:
        query["ExclusiveStartKey"] = start
    page = dynamodb().query(**query)
    users = [{"user_id": item[other]["S"], "since": int(item["updated_at"]["N"])} for item in page["Items"]]
    return {"users": users, "next_cursor": encode_cursor(page.get("LastEvaluatedKey"))}


def followers(user_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
    get_profile(user_id)
    query = {
        "TableName": table(GRAPH),
        "IndexName": FOLLOWERS_INDEX,
        "KeyConditionExpression": "active_followee_id = :user",
        "ExpressionAttributeValues": {":user": {"S": user_id}},
        "Limit": limit,
    }
    keys = {"follower_id", "followee_id", "active_followee_id"}
    return _page(query, cursor, keys, {"active_followee_id": user_id}, "follower_id")


def following(user_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
    get_profile(user_id)
    query = {
        "TableName": table(GRAPH),
        "KeyConditionExpression": "follower_id = :user",
        "FilterExpression": "following = :yes",
        "ExpressionAttributeValues": {":user": {"S": user_id}, ":yes": {"BOOL": True}},
        "Limit": limit,
    }
    return _page(query, cursor, {"follower_id", "followee_id"}, {"follower_id": user_id}, "followee_id")
