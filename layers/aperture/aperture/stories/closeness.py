"""Closeness: how much a viewer engages with an author they follow (likes, Story views).

It lives on the viewer's follow edge, since only followed authors have rings in a tray: a count
of interactions and the time of the last one. ``closeness`` maps them into [0, 1], rising with
the count and fading with a two-week half-life, so the tray favours the people one engages with now.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from aperture.core import clock
from aperture.core.dynamo import dynamodb, get_items, table, to_item
from aperture.social.graph import GRAPH

HALF_LIFE_SECONDS = 14 * 86_400
SATURATION = 5.0  # interactions at which closeness reaches 1 - 1/e


def closeness(interactions: int, last_interaction_at: float, now: float) -> float:
    fading: float = 0.5 ** (max(0.0, now - last_interaction_at) / HALF_LIFE_SECONDS)
    return (1.0 - math.exp(-interactions / SATURATION)) * fading


def record(viewer_id: str, author_id: str) -> bool:
    """Count one interaction of the viewer with an author they follow; False when they do not."""
    if viewer_id == author_id:
        return False
    try:
        dynamodb().update_item(
            TableName=table(GRAPH),
            Key={"follower_id": {"S": viewer_id}, "followee_id": {"S": author_id}},
            UpdateExpression="SET last_interaction_at = :now ADD interactions :one",
            ConditionExpression="following = :yes",
            ExpressionAttributeValues=to_item({":now": clock.now(), ":one": 1, ":yes": True}),
        )
    except dynamodb().exceptions.ConditionalCheckFailedException:
        return False
    return True


def closeness_to(viewer_id: str, author_ids: Iterable[str], now: float) -> dict[str, float]:
    """The viewer's closeness to each author, read from their follow edges."""
    keys = [{"follower_id": {"S": viewer_id}, "followee_id": {"S": a}} for a in sorted(set(author_ids))]
    edges = get_items(table(GRAPH), keys, "followee_id, interactions, last_interaction_at")
    return {
        edge["followee_id"]: closeness(edge.get("interactions", 0), edge.get("last_interaction_at", now), now)
        for edge in edges
    }
