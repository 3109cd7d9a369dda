"""Defense in depth for Story expiry: DynamoDB's TTL deleted a Story, so run the same expiry.

Only REMOVE records of Stories reach this function (the template's filter: story ids start with
``s_``; expiry claims and archive items share the table). A REMOVE made by the DynamoDB service
is a TTL expiry; any other is a user's own delete, handled as a delete. An old image that is not
a Story's is a permanent failure, logged with what is wrong, never retried against the shard.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import EventType
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field, ValidationError

from aperture.core.jobs import PermanentError, consume
from aperture.core.observability import powertools
from aperture.core.streams import is_ttl_expiry
from aperture.stories.story import expire, withdraw

logger, tracer, metrics = powertools("story_ttl_stream")


class RemovedStory(BaseModel):
    """What the expiry needs of a Story's old image."""

    author_id: str
    story_id: str = Field(pattern=r"^s_")
    created_at: float
    expires_at: float
    media_id: str | None = None


@tracer.capture_method
def on_story_removed(record: DynamoDBRecord) -> None:
    image = record.dynamodb.old_image if record.dynamodb else None
    if record.get("eventName") != "REMOVE" or not image:
        raise PermanentError("not a REMOVE with its old image: the stream must be NEW_AND_OLD_IMAGES")
    try:
        story = RemovedStory.model_validate(dict(image)).model_dump()
    except ValidationError as error:
        raise PermanentError(f"the removed item is not a Story: {error.errors()[0]['msg']}") from error
    author_id, story_id = story["author_id"], story["story_id"]
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
