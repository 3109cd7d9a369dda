"""Makes an uploaded video playable within seconds: one H.264 rendition, a poster and its ThumbHash."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture.core.jobs import consume, parse_job
from aperture.core.messages import MediaJob
from aperture.core.observability import powertools
from aperture.media import records
from aperture.media.video_pipeline import process_video_fastpath

logger, tracer, metrics = powertools("video_fastpath")


@tracer.capture_method
def process_video(record: SQSRecord) -> None:
    job = parse_job(record, MediaJob)
    with records.failing_on_last_attempt(record, job.media_id, job.owner_id):
        outcome = process_video_fastpath(job)
    logger.info("video job done", extra=outcome)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return consume(event, context, process_video, logger=logger, metrics=metrics)
