"""Checks finished media before it is published; flags it for review when the check is down."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture.jobs import consume, parse_job
from aperture.messages import ModerationJob
from aperture.moderation import NO_CLASSIFIER, record_verdict
from aperture.observability import powertools

logger, tracer, metrics = powertools("moderation")


@tracer.capture_method
def moderate(record: SQSRecord) -> None:
    job = parse_job(record, ModerationJob)
    outcome = record_verdict(job.media_id, "review", NO_CLASSIFIER)
    logger.info("moderation verdict", extra=outcome)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return consume(event, context, moderate, logger=logger, metrics=metrics)
