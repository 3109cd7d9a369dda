"""Routes each new upload to the pipeline for its kind of media (SQS fed by S3 ObjectCreated)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture.core.jobs import MAX_ATTEMPTS, PermanentError, attempt, body_json, consume
from aperture.core.observability import powertools
from aperture.media.routing import fail, route
from aperture.media.uploads import is_test_event, uploaded_objects

logger, tracer, metrics = powertools("media_router")


@tracer.capture_method
def route_uploads(record: SQSRecord) -> None:
    notification = body_json(record)
    if is_test_event(notification):
        logger.info("ignoring the S3 test event sent when notifications are configured")
        return
    for upload in uploaded_objects(notification):
        try:
            decision = route(upload)
        except PermanentError:
            raise
        except Exception:
            if attempt(record) >= MAX_ATTEMPTS:  # its last try: the upload must still end somewhere
                fail(upload, f"routing failed {MAX_ATTEMPTS} times")
            raise
        logger.info("upload routed", extra={**upload.model_dump(), **decision})
        metrics.add_metric(
            name=f"Uploads_{decision['outcome'].replace(' ', '_')}", unit=MetricUnit.Count, value=1
        )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return consume(event, context, route_uploads, logger=logger, metrics=metrics)
