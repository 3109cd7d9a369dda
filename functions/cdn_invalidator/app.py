"""Invalidates, in one CloudFront request per batch, the media paths of the Stories that expired."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture.core.cdn import invalidate
from aperture.core.jobs import PermanentError, parse_job
from aperture.core.messages import CdnInvalidation
from aperture.core.observability import powertools

logger, tracer, metrics = powertools("cdn_invalidator")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """One request for the whole batch: if it fails, every record returns to the queue."""
    paths: list[str] = []
    for record in map(SQSRecord, event["Records"]):
        try:
            paths += parse_job(record, CdnInvalidation).paths
        except PermanentError as error:
            logger.error("permanent failure: message consumed without retry", extra={"reason": str(error)})
            metrics.add_metric(name="PermanentFailures", unit=MetricUnit.Count, value=1)
    invalidations = invalidate(paths)
    metrics.add_metric(name="PathsInvalidated", unit=MetricUnit.Count, value=len(set(paths)))
    logger.info("media invalidated", extra={"paths": len(set(paths)), "invalidations": invalidations})
    return {"batchItemFailures": []}
