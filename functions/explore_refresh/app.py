"""Every ten minutes: new posts, verdicts, engagement and trending since the daily Explore model."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture.core.observability import powertools
from aperture.core.schedules import scheduled_tick
from aperture.explore.batch import run_refresh

logger, tracer, metrics = powertools("explore_refresh")


@logger.inject_lambda_context(correlation_id_path="id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if scheduled_tick(event, logger, metrics) is None:
        return {"ignored": "not a scheduled tick", "published": False}
    report = run_refresh()
    logger.info("explore refresh", extra=report)
    metrics.add_metric(name="ExploreRefreshPublished", unit=MetricUnit.Count, value=int(report["published"]))
    if report["published"]:
        metrics.add_metric(name="ExploreRefreshNewPosts", unit=MetricUnit.Count, value=report["new_posts"])
    return report
