"""Daily: marks users idle for DormantAfterDays dormant, so fan-out stops writing their feeds."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture.core.observability import powertools
from aperture.core.schedules import scheduled_tick
from aperture.feed.dormancy import sweep

logger, tracer, metrics = powertools("feed_dormancy")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if scheduled_tick(event, logger, metrics) is None:
        return {"ignored": "not a scheduled tick"}
    report = sweep()
    metrics.add_metric(name="UsersMadeDormant", unit=MetricUnit.Count, value=report["dormant"])
    logger.info("dormancy sweep done", extra=report)
    return report
