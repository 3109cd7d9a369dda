"""Interactions in real time: record what people do with posts, and turn it into features within a second."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator
from pynamodb.exceptions import PutError

from aperture.core import clock
from aperture.core.errors import NotFound
from aperture.core.identity import Caller
from aperture.core.tables import condition_failed, ttl
from aperture.explore.offline import DAY, append_log
from aperture.explore.store import RecentAction, record_actions
from aperture.explore.tables import Interaction
from aperture.social.posts import get_post

HISTORY_DAYS = 30
_EVENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
Network = Literal["wifi", "4g", "3g", "2g", "slow-2g"]  # the Network Information API's effectiveType, or wifi


class NewInteraction(BaseModel):
    """One action on a post; ``event_id`` is the client's, so a retried request counts once."""

    model_config = {"extra": "forbid"}

    event_id: str = Field(pattern=_EVENT_ID.pattern)
    action: Literal["view", "comment", "share", "save", "report"]
    watch_seconds: float = Field(default=0.0, ge=0.0, le=6 * 3600)
    network: Network | None = None  # what the client was on: Explore learns what each network suits

    @field_validator("watch_seconds")
    @classmethod
    def _to_the_millisecond(cls, seconds: float) -> float:
        """Kept to the millisecond: finer means nothing, and a value under DynamoDB's smallest
        number (1e-130) would fail the write with a 500."""
        return round(seconds, 3)


def record_interaction(
    caller: Caller, post_id: str, interaction: NewInteraction
) -> tuple[dict[str, Any], bool]:
    """Store the action (the stream turns it into features); True when it is new.

    A report counts once per user and post, whatever its event id: one person's twenty reports
    are one report in the integrity signal, not twenty."""
    post = get_post(post_id)
    if post.get("state") != "published":
        raise NotFound(f"there is no post {post_id}")
    event_id = f"report_{post_id}" if interaction.action == "report" else interaction.event_id
    return store_action(
        caller.user_id,
        post_id,
        event_id,
        interaction.action,
        watch_seconds=interaction.watch_seconds,
        network=interaction.network,
    )


def store_action(
    user_id: str,
    post_id: str,
    event_id: str,
    action: str,
    *,
    watch_seconds: float = 0.0,
    network: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """One action on a published post, once per ``event_id``: the service's own (a comment made
    through the API) as well as what clients report."""
    now = clock.now()
    row = {
        "user_id": user_id,
        "event_id": event_id,
        "post_id": post_id,
        "action": action,
        "watch_seconds": watch_seconds,
        "at": now,
        **({"network": network} if network else {}),
    }
    recorded = Interaction(
        user_id,
        event_id,
        post_id=post_id,
        action=action,
        watch_seconds=watch_seconds,
        network=network,
        at=now,
        expires_at=ttl(now + HISTORY_DAYS * DAY),
    )
    try:
        recorded.save(condition=Interaction.event_id.does_not_exist())
    except PutError as error:
        if condition_failed(error):
            return row, False
        raise
    return row, True


def ingest(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Real-time features: each user's recent actions, and the day's log for the batch."""
    by_user: dict[str, list[RecentAction]] = defaultdict(list)
    for row in rows:
        by_user[row["user_id"]].append(RecentAction(row["post_id"], row["action"], float(row["at"])))
    for user_id, actions in by_user.items():
        record_actions(user_id, actions)
    if rows:
        append_log(rows, clock.now())
    return {"actions": len(rows), "users": len(by_user)}
