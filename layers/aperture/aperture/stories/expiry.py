"""The expiration service's scheduling half: each Story's expiry, at its exact time.

Every minute the scheduler asks which Stories expire within the next minute and creates a
one-time EventBridge Scheduler schedule for each, at the second it expires (rounded up), which
sends the Story to the expiry queue. A Story already due goes to the queue at once.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from aperture.core.aws import client
from aperture.core.config import resource_name
from aperture.core.messages import StoryExpiry
from aperture.stories.story import due_within

LOOKAHEAD_SECONDS = 60


def schedule_expiries(now: float) -> dict[str, int]:
    scheduled = queued = 0
    for story in due_within(now, LOOKAHEAD_SECONDS):
        message = StoryExpiry(author_id=story["author_id"], story_id=story["story_id"]).model_dump_json()
        if story["expires_at"] <= now:
            client("sqs").send_message(QueueUrl=resource_name("STORY_EXPIRY_QUEUE_URL"), MessageBody=message)
            queued += 1
        elif _create_schedule(story, message):
            scheduled += 1
    return {"scheduled": scheduled, "queued_now": queued}


def _create_schedule(story: dict[str, Any], message: str) -> bool:
    at = datetime.fromtimestamp(math.ceil(story["expires_at"]), UTC)
    scheduler = client("scheduler")
    try:
        scheduler.create_schedule(
            Name=f"expire-{story['story_id']}",
            ScheduleExpression=f"at({at:%Y-%m-%dT%H:%M:%S})",
            ScheduleExpressionTimezone="UTC",
            FlexibleTimeWindow={"Mode": "OFF"},
            ActionAfterCompletion="DELETE",
            Target={
                "Arn": resource_name("STORY_EXPIRY_QUEUE_ARN"),
                "RoleArn": resource_name("STORY_EXPIRY_SCHEDULER_ROLE_ARN"),
                "Input": message,
                "RetryPolicy": {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86_400},
            },
        )
    except scheduler.exceptions.ConflictException:
        return False  # scheduled by an earlier tick
    return True
