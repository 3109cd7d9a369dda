"""Real-time Explore features: interactions and likes, from their streams, into the online store and log."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture.core.observability import powertools
from aperture.explore.realtime import ingest

logger, tracer, metrics = powertools("explore_features")


def as_action(image: dict[str, Any]) -> dict[str, Any] | None:
    """One logged action from an Interactions or Likes item; None for anything else."""
    if "event_id" in image and "action" in image:
        return {
            "event_id": str(image["event_id"]),
            "user_id": str(image["user_id"]),
            "post_id": str(image["post_id"]),
            "action": str(image["action"]),
            "watch_seconds": float(image.get("watch_seconds", 0)),
            "at": float(image["at"]),
            **({"network": str(image["network"])} if image.get("network") else {}),
        }
    if "liked_at" in image:
        return {
            "event_id": f"like:{image['user_id']}:{image['post_id']}",
            "user_id": str(image["user_id"]),
            "post_id": str(image["post_id"]),
            "action": "like",
            "watch_seconds": 0.0,
            "at": float(image["liked_at"]),
        }
    return None


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_source(data_class=DynamoDBStreamEvent)
def lambda_handler(event: DynamoDBStreamEvent, context: LambdaContext) -> dict[str, Any]:
    # One log object per batch. On failure the whole batch is reported from its first record, so the
    # stream retries it (bisecting, then the failure queue); both writes are idempotent.
    records = [record for record in event.records if record.dynamodb and record.dynamodb.new_image]
    rows = [
        row for row in (as_action(r.dynamodb.new_image) for r in records if r.dynamodb) if row is not None
    ]
    try:
        report = ingest(rows)
    except Exception:
        logger.exception("features not updated; the batch will be retried", extra={"actions": len(rows)})
        first = records[0].dynamodb.sequence_number if records and records[0].dynamodb else None
        return {"batchItemFailures": [{"itemIdentifier": first}] if first else []}
    logger.info("features updated", extra={**report, "ignored": len(records) - len(rows)})
    metrics.add_metric(name="ExploreActionsIngested", unit=MetricUnit.Count, value=report["actions"])
    return {"batchItemFailures": []}
