"""EventBridge's two kinds of schedule: the rules whose "Scheduled Event" ticks run scheduled
handlers (an EC2 state change or any other event routed to one by mistake is refused, logged with
what it was, and changes nothing), and one-time Scheduler schedules that deliver a message to a
queue at an exact second (a Story group's expiry, an account's deletion).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from aperture.core.aws import client
from aperture.core.config import resource_name

SCHEDULER_ROLE_ARN = "SCHEDULER_ROLE_ARN"


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


def deliver_at(name: str, second: int, queue_arn_env: str, message: str) -> bool:
    """A one-time schedule that sends ``message`` to the queue at ``second`` (UTC), retried for a
    day, deleted once done; False when one of that name exists (an earlier try made it)."""
    scheduler = client("scheduler")
    try:
        scheduler.create_schedule(
            Name=name,
            ScheduleExpression=f"at({datetime.fromtimestamp(second, UTC):%Y-%m-%dT%H:%M:%S})",
            ScheduleExpressionTimezone="UTC",
            FlexibleTimeWindow={"Mode": "OFF"},
            ActionAfterCompletion="DELETE",
            Target={
                "Arn": resource_name(queue_arn_env),
                "RoleArn": resource_name(SCHEDULER_ROLE_ARN),
                "Input": message,
                "RetryPolicy": {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86_400},
            },
        )
    except scheduler.exceptions.ConflictException:
        return False
    return True
