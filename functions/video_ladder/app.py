"""Encodes the background AV1 ladder of a video and swaps it in when ready."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture.jobs import consume, parse_job
from aperture.messages import MediaJob
from aperture.observability import powertools

logger, tracer, metrics = powertools("video_ladder")


@tracer.capture_method
def encode_ladder(record: SQSRecord) -> None:
    job = parse_job(record, MediaJob)
    logger.info("ladder job accepted", extra=job.model_dump())


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return consume(event, context, encode_ladder, logger=logger, metrics=metrics)
