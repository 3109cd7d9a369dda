"""Expires one Story at its exact time; idempotent, since schedules and the TTL stream both ask."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture.jobs import consume, parse_job
from aperture.messages import StoryExpiry
from aperture.observability import powertools

logger, tracer, metrics = powertools("story_expirer")


@tracer.capture_method
def expire(record: SQSRecord) -> None:
    job = parse_job(record, StoryExpiry)
    logger.info("story expiry accepted", extra=job.model_dump())


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return consume(event, context, expire, logger=logger, metrics=metrics)
