"""Keeps like counters right: the likes stream is measured, and an hourly recount repairs drift."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import EventType
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture.core.jobs import consume
from aperture.core.observability import powertools
from aperture.core.schedules import scheduled_tick
from aperture.social.likes import reconcile_like_counts

logger, tracer, metrics = powertools("counters")


@tracer.capture_method
def on_like_changed(record: DynamoDBRecord) -> None:
    keys = record.dynamodb.keys if record.dynamodb else {}
    logger.info("like changed", extra={"event": record.raw_event["eventName"], "keys": keys})
    metrics.add_metric(name="LikeEvents", unit=MetricUnit.Count, value=1)


@tracer.capture_method
def reconcile() -> dict[str, int]:
    report = reconcile_like_counts()
    logger.info("like counts reconciled", extra=report)
    metrics.add_metric(name="LikeCountsRepaired", unit=MetricUnit.Count, value=report["repaired"])
    return report


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(
    event: dict[str, Any], context: LambdaContext
) -> PartialItemFailureResponse | dict[str, Any]:
    if "Records" not in event:  # the hourly schedule's tick, or nothing this function takes
        return reconcile() if scheduled_tick(event, logger, metrics) else {"ignored": "not a scheduled tick"}
    return consume(
        event, context, on_like_changed, logger=logger, metrics=metrics, source=EventType.DynamoDBStreams
    )
