"""Every minute: find the Stories expiring in the next minute and schedule each exact expiry."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture.core import clock
from aperture.core.observability import powertools
from aperture.core.schedules import scheduled_tick
from aperture.stories.expiry import schedule_expiries

logger, tracer, metrics = powertools("story_scheduler")


@logger.inject_lambda_context(correlation_id_path="id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    tick = scheduled_tick(event, logger, metrics)
    if tick is None:
        return {"ignored": "not a scheduled tick"}
    done = schedule_expiries(clock.now())
    metrics.add_metric(name="StoryExpiriesScheduled", unit=MetricUnit.Count, value=done["scheduled"])
    logger.info("story expiries scheduled", extra={"tick": tick, **done})
    return done
