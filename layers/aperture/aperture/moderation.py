"""Moderation verdicts on finished media, and the posts a verdict releases.

No classifier is wired in yet, so every check ends the way the seed prescribes for a moderation
service that cannot answer: the media is flagged for manual review and its posts are published.
"""

from __future__ import annotations

from typing import Any

from . import clock
from .dynamo import dynamodb, from_item, table, to_value
from .jobs import PermanentError
from .posts import MEDIA, publish_posts_of

NO_CLASSIFIER = "no classifier is configured: held for manual review"


def record_verdict(media_id: str, verdict: str, reason: str) -> dict[str, Any]:
    """Store the verdict on ready media and publish its waiting posts when it allows them."""
    moderation = {"verdict": verdict, "reason": reason, "decided_at": clock.now()}
    try:
        updated = dynamodb().update_item(
            TableName=table(MEDIA),
            Key={"media_id": {"S": media_id}},
            UpdateExpression="SET moderation = :moderation",
            ConditionExpression="#state = :ready",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={":moderation": to_value(moderation), ":ready": {"S": "ready"}},
            ReturnValues="ALL_NEW",
        )
    except dynamodb().exceptions.ConditionalCheckFailedException as error:
        raise PermanentError(f"media {media_id} is missing or not ready") from error
    media = from_item(updated["Attributes"])
    return {"media_id": media_id, "verdict": verdict, "published": publish_posts_of(media)}
