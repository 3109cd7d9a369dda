"""Every minute: find the Stories expiring in the next minute and schedule each exact expiry."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import clock
from aperture.observability import powertools

logger, tracer, metrics = powertools("story_scheduler")

LOOKAHEAD_SECONDS = 60


@logger.inject_lambda_context(correlation_id_path="id")
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_source(data_class=EventBridgeEvent)
def lambda_handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    window_start = clock.now()
    window = {"from": window_start, "until": window_start + LOOKAHEAD_SECONDS}
    logger.info("scanning for expiring stories", extra={"tick": event.time, **window})
    return window
