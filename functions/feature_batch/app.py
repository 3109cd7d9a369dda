"""Daily: the Explore model (embeddings, communities, trending, rankers, IVF index) and user features."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture.core.observability import powertools
from aperture.core.schedules import scheduled_tick
from aperture.explore.batch import run_batch

logger, tracer, metrics = powertools("feature_batch")


@logger.inject_lambda_context(correlation_id_path="id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    tick = scheduled_tick(event, logger, metrics)
    if tick is None:
        return {"ignored": "not a scheduled tick", "published": False}
    # The version is the tick: a re-delivered or replayed tick never replaces a newer model.
    report = run_batch(version=tick.replace(":", "").replace("-", ""))
    logger.info("explore batch", extra=report)
    metrics.add_metric(name="ExploreModelPublished", unit=MetricUnit.Count, value=int(report["published"]))
    return report
