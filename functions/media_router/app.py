"""Routes each new upload to the pipeline for its kind of media (SQS fed by S3 ObjectCreated)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.parser.models import S3Model
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from aperture.jobs import PermanentError, body_json, consume
from aperture.observability import powertools

logger, tracer, metrics = powertools("media_router")


@tracer.capture_method
def route(record: SQSRecord) -> None:
    notification = body_json(record)
    if isinstance(notification, dict) and notification.get("Event") == "s3:TestEvent":
        logger.info("ignoring the S3 test event sent when notifications are configured")
        return
    try:
        uploads = S3Model.model_validate(notification).Records
    except ValidationError as error:
        raise PermanentError(f"not an S3 event notification: {error.error_count()} problems") from error
    for upload in uploads:
        stored = upload.s3.object
        if stored is None:
            raise PermanentError(f"{upload.eventName} names no object")
        logger.info(
            "upload received",
            extra={"bucket": upload.s3.bucket.name, "key": unquote_plus(stored.key), "size": stored.size},
        )
        metrics.add_metric(name="UploadsReceived", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return consume(event, context, route, logger=logger, metrics=metrics)
