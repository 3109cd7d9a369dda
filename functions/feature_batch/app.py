"""Daily: the Explore model (embeddings, communities, trending, rankers, IVF index) and user features."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture.core.observability import powertools
from aperture.explore.batch import run_batch

logger, tracer, metrics = powertools("feature_batch")


@logger.inject_lambda_context(correlation_id_path="id")
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_source(data_class=EventBridgeEvent)
def lambda_handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    # The version is the tick: a re-delivered event rebuilds the same version rather than a second one.
    report = run_batch(version=event.time.replace(":", "").replace("-", ""))
    logger.info("explore batch", extra=report)
    metrics.add_metric(name="ExploreModelPublished", unit=MetricUnit.Count, value=int(report["published"]))
    return report
