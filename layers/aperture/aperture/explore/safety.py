"""Posts moderation flagged after the daily model was built: Explore must drop them at once, not tomorrow.

One item in the Features table (``explore`` / ``unsafe``) holds their ids as a string set;
moderation adds to it, an approval on review takes an id out, and the batch prunes the ids its new
model already knows as unsafe. Serving reads it at most every ``_FRESH_SECONDS``.
"""

from __future__ import annotations

from collections.abc import Iterable

from cachetools import TTLCache, cached

from aperture.core.dynamo import dynamodb, table

FEATURES = "FEATURES_TABLE"
_KEY = {"entity_id": {"S": "explore"}, "feature_set": {"S": "unsafe"}}
_FRESH_SECONDS = 5


def mark(post_ids: Iterable[str], unsafe: bool) -> None:
    ids = sorted(set(post_ids))
    if not ids:
        return
    dynamodb().update_item(
        TableName=table(FEATURES),
        Key=_KEY,
        UpdateExpression=f"{'ADD' if unsafe else 'DELETE'} post_ids :ids",
        ExpressionAttributeValues={":ids": {"SS": ids}},
    )
    unsafe_posts.cache_clear()


@cached(TTLCache(maxsize=1, ttl=_FRESH_SECONDS))
def unsafe_posts() -> frozenset[str]:
    item = dynamodb().get_item(TableName=table(FEATURES), Key=_KEY).get("Item", {})
    return frozenset(item.get("post_ids", {}).get("SS", []))
