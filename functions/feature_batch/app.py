"""Daily: offline features, embeddings and the retrieval index, written to the feature store."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import clock
from aperture.observability import powertools

logger, tracer, metrics = powertools("feature_batch")


@logger.inject_lambda_context(correlation_id_path="id")
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_source(data_class=EventBridgeEvent)
def lambda_handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    run = {"tick": event.time, "started_at": clock.now()}
    logger.info("daily feature batch", extra=run)
    return run
