"""Dormant followers: no fan-out writes for users who stopped coming, a rebuilt feed when they return.

A user is active when they read their feed (``last_active_at``, written at most hourly). A daily
sweep marks users idle for ``DormantAfterDays`` dormant and takes their edges out of the Audience
index, so fan-out stops writing rows nobody reads. Their next feed read puts the edges back and
refills the feed from the authors they follow.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from aperture.core import clock
from aperture.core.config import settings
from aperture.core.dynamo import dynamodb, table, to_item
from aperture.feed.home import followed_authors, rebuild
from aperture.social.graph import GRAPH
from aperture.social.users import USERS

ACTIVITY_RESOLUTION = 3600.0  # seconds: last_active_at is rewritten at most this often


def touch(user_id: str) -> int:
    """Record that the user is here; if they were dormant, wake them. Returns posts rebuilt.

    Every feed read calls this, so it reads first (half a read unit) and writes only when the
    record is an hour old or the user was dormant."""
    now = clock.now()
    seen = (
        dynamodb()
        .get_item(
            TableName=table(USERS),
            Key={"user_id": {"S": user_id}},
            ProjectionExpression="last_active_at, dormant_since",
        )
        .get("Item", {})
    )
    recent = float(seen.get("last_active_at", {"N": "0"})["N"]) >= now - ACTIVITY_RESOLUTION
    if recent and "dormant_since" not in seen:
        return 0
    try:
        previous = dynamodb().update_item(
            TableName=table(USERS),
            Key={"user_id": {"S": user_id}},
            UpdateExpression="SET last_active_at = :now REMOVE dormant_since",
            ConditionExpression="attribute_exists(follower_count) AND (attribute_not_exists(last_active_at)"
            " OR last_active_at < :stale OR attribute_exists(dormant_since))",
            ExpressionAttributeValues=to_item({":now": now, ":stale": now - ACTIVITY_RESOLUTION}),
            ReturnValues="ALL_OLD",
        )
    except dynamodb().exceptions.ConditionalCheckFailedException:
        return 0  # active within the hour, or no profile yet
    if "dormant_since" not in previous.get("Attributes", {}):
        return 0
    authors = followed_authors(user_id)
    _set_audience(user_id, authors, present=True)
    return rebuild(user_id, authors)


def sweep() -> dict[str, int]:
    """Mark users idle for too long dormant, and stop fanning out to them."""
    now = clock.now()
    cutoff = now - settings().dormant_after_days * 86_400
    marked = edges = 0
    for user_id in _idle_users(cutoff):
        try:
            dynamodb().update_item(
                TableName=table(USERS),
                Key={"user_id": {"S": user_id}},
                UpdateExpression="SET dormant_since = :now",
                ConditionExpression="last_active_at < :cutoff AND attribute_not_exists(dormant_since)",
                ExpressionAttributeValues=to_item({":now": now, ":cutoff": cutoff}),
            )
        except dynamodb().exceptions.ConditionalCheckFailedException:
            continue  # came back meanwhile
        authors = followed_authors(user_id)
        edges += _set_audience(user_id, authors, present=False)
        marked += 1
        if not _still_dormant(user_id):  # woke between our two steps: give the edges back
            _set_audience(user_id, authors, present=True)
    return {"dormant": marked, "edges": edges}


def _idle_users(cutoff: float) -> Iterator[str]:
    pages = (
        dynamodb()
        .get_paginator("scan")
        .paginate(
            TableName=table(USERS),
            FilterExpression="last_active_at < :cutoff AND attribute_not_exists(dormant_since)",
            ExpressionAttributeValues=to_item({":cutoff": cutoff}),
            ProjectionExpression="user_id",
        )
    )
    for page in pages:
        for item in page["Items"]:
            yield item["user_id"]["S"]


def _still_dormant(user_id: str) -> bool:
    found = dynamodb().get_item(TableName=table(USERS), Key={"user_id": {"S": user_id}}, ConsistentRead=True)
    return "dormant_since" in found.get("Item", {})


def _set_audience(user_id: str, authors: set[str], present: bool) -> int:
    """Put the user's live edges into the Audience index, or take them out."""
    changed = 0
    for author_id in authors:
        update: dict[str, Any] = {
            "TableName": table(GRAPH),
            "Key": {"follower_id": {"S": user_id}, "followee_id": {"S": author_id}},
            "ConditionExpression": "following = :yes",
            "ExpressionAttributeValues": {":yes": {"BOOL": True}},
        }
        if present:
            update["UpdateExpression"] = "SET audience_of = :author"
            update["ExpressionAttributeValues"][":author"] = {"S": author_id}
        else:
            update["UpdateExpression"] = "REMOVE audience_of"
        try:
            dynamodb().update_item(**update)
            changed += 1
        except dynamodb().exceptions.ConditionalCheckFailedException:
            continue  # unfollowed meanwhile
    return changed
