"""Renders an uploaded image into its renditions and ThumbHash, then sends it to moderation."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture.core.jobs import consume, parse_job
from aperture.core.messages import MediaJob
from aperture.core.observability import powertools
from aperture.media import records
from aperture.media.pipeline import process_image_job

logger, tracer, metrics = powertools("image_processor")


@tracer.capture_method
def process_image(record: SQSRecord) -> None:
    job = parse_job(record, MediaJob)
    with records.failing_on_last_attempt(record, job.media_id, job.owner_id):
        outcome = process_image_job(job)
    if outcome.get("quality_model") == "unavailable":  # renditions searched exactly: slower, same bytes
        metrics.add_metric(name="QualityModelUnavailable", unit=MetricUnit.Count, value=1)
    if "encodes" in outcome:
        metrics.add_metric(name="EncodesPerImage", unit=MetricUnit.Count, value=outcome["encodes"])
    logger.info("image job done", extra=outcome)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return consume(event, context, process_image, logger=logger, metrics=metrics)
