"""A post was deleted: its like rows, its comments and, once nothing else shows it, its media's
bytes go too.

Fed by the posts table's stream, filtered to REMOVE records, so every way a post is deleted (the
API, an account's deletion) purges the same way and a crash between the delete and the purge loses
nothing. An old image that is not a post's is a permanent failure, never retried against the shard.
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
from aperture.social.posts import purge_deleted

logger, tracer, metrics = powertools("post_purger")


class RemovedPost(BaseModel):
    """What the purge needs of a post's old image."""

    post_id: str = Field(pattern=r"^p_")
    author_id: str
    media_id: str | None = None
    media_items: list[dict[str, str]] | None = None


@tracer.capture_method
def on_post_removed(record: DynamoDBRecord) -> None:
    image = record.dynamodb.old_image if record.dynamodb else None
    if record.get("eventName") != "REMOVE" or not image:
        raise PermanentError("not a REMOVE with its old image: the stream must carry old images")
    try:
        post = RemovedPost.model_validate(dict(image)).model_dump()
    except ValidationError as error:
        raise PermanentError(f"the removed item is not a post: {error.errors()[0]['msg']}") from error
    outcome = purge_deleted(post)
    logger.info("post purged", extra=outcome)
    metrics.add_metric(name="LikesPurged", unit=MetricUnit.Count, value=outcome["likes_removed"])
    metrics.add_metric(name="CommentsPurged", unit=MetricUnit.Count, value=outcome["comments_removed"])
    for fate, items in outcome["media"].items():
        metrics.add_metric(name=f"Media_{fate}", unit=MetricUnit.Count, value=items)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return consume(
        event, context, on_post_removed, logger=logger, metrics=metrics, source=EventType.DynamoDBStreams
    )
