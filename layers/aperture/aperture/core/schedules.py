"""Scheduled handlers run on EventBridge's "Scheduled Event" ticks of their own rules, nothing else.

An EC2 state change or any other event routed to such a function by mistake is refused, logged
with what it was, and changes nothing.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit


def scheduled_tick(event: Any, logger: Logger, metrics: Metrics) -> str | None:
    """The tick's time (EventBridge's ``time``), or None, logged and counted, for any other event."""
    if (
        isinstance(event, dict)
        and event.get("source") == "aws.events"
        and event.get("detail-type") == "Scheduled Event"
        and isinstance(event.get("time"), str)
    ):
        return str(event["time"])
    seen = event if isinstance(event, dict) else {}
    logger.error(
        "permanent failure: not a scheduled tick, ignored",
        extra={"source": seen.get("source"), "detail_type": seen.get("detail-type")},
    )
    metrics.add_metric(name="PermanentFailures", unit=MetricUnit.Count, value=1)
    return None
