"""Expires the Stories of one schedule (a group of one second's) or of one due message at their
exact time; idempotent, since schedules and the TTL stream both ask."""

from __future__ import annotations

from collections import Counter
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture.core.jobs import body_json, consume, parse_job
from aperture.core.messages import StoryExpiry, StoryExpiryGroup
from aperture.core.observability import powertools
from aperture.stories.story import expire_all

logger, tracer, metrics = powertools("story_expirer")


@tracer.capture_method
def expire_stories(record: SQSRecord) -> None:
    body = body_json(record)
    if isinstance(body, dict) and "stories" in body:
        stories = list(parse_job(record, StoryExpiryGroup).stories)
    else:
        stories = [parse_job(record, StoryExpiry)]
    outcomes, failure = expire_all(stories)
    for outcome in outcomes:
        logger.info("story_expired", extra=outcome)  # the analytics event
    for kind, count in Counter(outcome["outcome"] for outcome in outcomes).items():
        metrics.add_metric(name=f"Stories_{kind.replace(' ', '_')}", unit=MetricUnit.Count, value=count)
    if failure is not None:
        raise failure


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return consume(event, context, expire_stories, logger=logger, metrics=metrics)
