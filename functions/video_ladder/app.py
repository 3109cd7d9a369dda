"""Encodes the background AV1 ladder (with its H.264 fallback) as HLS and swaps it in when ready."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture.core.jobs import consume, parse_job
from aperture.core.messages import MediaJob
from aperture.core.observability import powertools
from aperture.media.video_pipeline import process_video_ladder

logger, tracer, metrics = powertools("video_ladder")


@tracer.capture_method
def encode_ladder(record: SQSRecord) -> None:
    # A failed ladder leaves the fast path playing; retries and the DLQ (with its alarm) keep it visible.
    outcome = process_video_ladder(parse_job(record, MediaJob))
    if "av1_failure" in outcome:
        metrics.add_metric(name="Av1LadderFailed", unit=MetricUnit.Count, value=1)
    if "sr_model_error" in outcome:  # Lanczos made the enhanced rungs
        metrics.add_metric(name="SuperResolutionModelUnavailable", unit=MetricUnit.Count, value=1)
    logger.info("ladder job done", extra=outcome)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return consume(event, context, encode_ladder, logger=logger, metrics=metrics)
