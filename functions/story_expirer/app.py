"""Expires one Story at its exact time; idempotent, since schedules and the TTL stream both ask."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture.core.jobs import consume, parse_job
from aperture.core.messages import StoryExpiry
from aperture.core.observability import powertools
from aperture.stories.story import expire

logger, tracer, metrics = powertools("story_expirer")


@tracer.capture_method
def expire_story(record: SQSRecord) -> None:
    job = parse_job(record, StoryExpiry)
    outcome = expire(job.author_id, job.story_id)
    logger.info("story_expired", extra=outcome)  # the analytics event
    metrics.add_metric(name=f"Stories_{outcome['outcome'].replace(' ', '_')}", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return consume(event, context, expire_story, logger=logger, metrics=metrics)
