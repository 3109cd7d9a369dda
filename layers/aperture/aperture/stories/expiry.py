"""The expiration service's scheduling half: each Story's expiry, at its exact time, in bulk.

Every minute the scheduler asks which Stories expire within the next minute and groups them by the
second they expire in (rounded up): one one-time EventBridge Scheduler schedule per group of up to
``EXPIRY_GROUP`` Stories sends the group to the expiry queue at that second, and the schedules are
created in parallel. A group's name is its second and a digest of its Stories, so a repeated tick
that finds the same Stories meets its own schedules (a conflict) instead of doubling them. Stories
already due go to the queue at once, ten to a request.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

from aperture.core.messages import EXPIRY_GROUP, StoryExpiry, StoryExpiryGroup, send_all
from aperture.core.schedules import deliver_at
from aperture.stories.story import due_within

LOOKAHEAD_SECONDS = 60
SCHEDULING_THREADS = 8


def schedule_expiries(now: float) -> dict[str, int]:
    due_now: list[StoryExpiry] = []
    by_second: dict[int, list[StoryExpiry]] = defaultdict(list)
    for story in due_within(now, LOOKAHEAD_SECONDS):
        expiry = StoryExpiry(author_id=story["author_id"], story_id=story["story_id"])
        if story["expires_at"] <= now:
            due_now.append(expiry)
        else:
            by_second[math.ceil(story["expires_at"])].append(expiry)
    groups = [
        (second, StoryExpiryGroup(stories=stories[start : start + EXPIRY_GROUP]))
        for second, stories in by_second.items()
        for start in range(0, len(stories), EXPIRY_GROUP)
    ]
    with ThreadPoolExecutor(max_workers=SCHEDULING_THREADS) as pool:
        created = sum(pool.map(lambda group: _create_schedule(*group), groups))
    send_all("STORY_EXPIRY_QUEUE_URL", due_now)
    return {
        "scheduled": sum(len(group.stories) for _, group in groups),
        "schedules": len(groups),
        "schedules_created": created,
        "queued_now": len(due_now),
    }


def _create_schedule(second: int, group: StoryExpiryGroup) -> bool:
    members = sorted(f"{story.author_id}/{story.story_id}" for story in group.stories)
    digest = hashlib.sha256("\n".join(members).encode()).hexdigest()[:16]
    return deliver_at(f"expire-{second}-{digest}", second, "STORY_EXPIRY_QUEUE_ARN", group.model_dump_json())
