"""Every five minutes: ends uploads whose intent was abandoned or whose job died without a trace."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture.core.observability import powertools
from aperture.core.schedules import scheduled_tick
from aperture.media.sweeper import sweep

logger, tracer, metrics = powertools("media_sweeper")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if scheduled_tick(event, logger, metrics) is None:
        return {"ignored": "not a scheduled tick"}
    report = sweep()
    metrics.add_metric(name="UploadsExpired", unit=MetricUnit.Count, value=report["expired"])
    metrics.add_metric(name="StuckJobsRequeued", unit=MetricUnit.Count, value=report["requeued"])
    metrics.add_metric(name="StuckUploadsFailed", unit=MetricUnit.Count, value=report["failed"])
    logger.info("media sweep done", extra=report)
    return report
