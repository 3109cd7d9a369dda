"""Defense in depth for Story expiry: DynamoDB's TTL deleted a Story, so run the same expiry.

Only REMOVE records reach this function (the template's filter). A REMOVE made by the DynamoDB
service is a TTL expiry; any other is a user's own delete, handled as a delete. Expiry claims
and archive items share the table and are ignored.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import EventType
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture.core.jobs import PermanentError, consume
from aperture.core.observability import powertools
from aperture.core.streams import is_ttl_expiry
from aperture.stories.story import expire, withdraw

logger, tracer, metrics = powertools("story_ttl_stream")


@tracer.capture_method
def on_story_removed(record: DynamoDBRecord) -> None:
    image = record.dynamodb.old_image if record.dynamodb else None
    if not image:
        raise PermanentError("a REMOVE record without its old image: the stream must be NEW_AND_OLD_IMAGES")
    story_id = str(image["story_id"])
    if not story_id.startswith("s_"):
        return  # an expiry claim or an archived Story aging out
    author_id = str(image["author_id"])
    story = {
        "media_id": image.get("media_id"),
        "created_at": float(image["created_at"]),
        "expires_at": float(image["expires_at"]),
        "author_id": author_id,
        "story_id": story_id,
    }
    if is_ttl_expiry(record):
        outcome = expire(author_id, story_id, image=story)
    else:
        outcome = withdraw(author_id, story_id, story)
    logger.info("story removed", extra=outcome)
    metrics.add_metric(
        name=f"StoryRemoved_{outcome['outcome'].replace(' ', '_')}", unit=MetricUnit.Count, value=1
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return consume(
        event, context, on_story_removed, logger=logger, metrics=metrics, source=EventType.DynamoDBStreams
    )
