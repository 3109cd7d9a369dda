"""Makes an uploaded video playable within seconds: one H.264 rendition, a poster and its ThumbHash."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture.jobs import MAX_ATTEMPTS, attempt, consume, parse_job
from aperture.media import records
from aperture.media.video_pipeline import process_video_fastpath
from aperture.messages import MediaJob
from aperture.observability import powertools

logger, tracer, metrics = powertools("video_fastpath")


@tracer.capture_method
def process_video(record: SQSRecord) -> None:
    job = parse_job(record, MediaJob)
    try:
        outcome = process_video_fastpath(job)
    except Exception as error:
        if attempt(record) >= MAX_ATTEMPTS:  # its last try: the job goes to the DLQ, the owner hears now
            records.mark_failed(job.media_id, job.owner_id, f"processing failed {MAX_ATTEMPTS} times")
        logger.warning("video job failed", extra={"media_id": job.media_id, "error": repr(error)})
        raise
    logger.info("video job done", extra=outcome)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return consume(event, context, process_video, logger=logger, metrics=metrics)
