"""Defense in depth for Story expiry: DynamoDB's TTL deleted a Story, so run the same expiry.

Only REMOVE records reach this function (the template's filter). A REMOVE made by the DynamoDB
service is a TTL expiry; any other is a user's own delete, handled as a delete.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import EventType
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture.jobs import consume
from aperture.observability import powertools
from aperture.streams import is_ttl_expiry

logger, tracer, metrics = powertools("story_ttl_stream")


@tracer.capture_method
def on_story_removed(record: DynamoDBRecord) -> None:
    keys = record.dynamodb.keys if record.dynamodb else {}
    cause = "ttl_expiry" if is_ttl_expiry(record) else "user_delete"
    logger.info("story removed", extra={"cause": cause, "keys": keys})
    metrics.add_metric(name=f"StoryRemoved_{cause}", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return consume(
        event, context, on_story_removed, logger=logger, metrics=metrics, source=EventType.DynamoDBStreams
    )
