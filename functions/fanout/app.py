"""Writes a normal author's new post into the feeds of their followers, 25 at a time."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture.jobs import consume, parse_job
from aperture.messages import FanoutJob
from aperture.observability import powertools

logger, tracer, metrics = powertools("fanout")


@tracer.capture_method
def fan_out(record: SQSRecord) -> None:
    job = parse_job(record, FanoutJob)
    logger.info("fan-out slice accepted", extra=job.model_dump())


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return consume(event, context, fan_out, logger=logger, metrics=metrics)
