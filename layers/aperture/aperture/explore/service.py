"""Explore as the service offers it: record interactions, make them features, train daily, serve pages."""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from dataclasses import fields, replace
from typing import Any, Literal

from pydantic import BaseModel, Field

from .. import clock
from ..dynamo import dynamodb, table
from ..errors import NotFound
from ..feed import followed_authors
from ..identity import Caller
from ..posts import get_post
from . import safety
from .catalogue import SHOWABLE_VERDICT
from .features import PostStats
from .offline import DAY, ModelCache, append_log, publish_model, read_catalogue, read_log, write_snapshot
from .pipeline import Explore, ExploreConfig
from .store import OnlineFeatures, RecentAction, put_users, record_actions
from .training import train

INTERACTIONS = "INTERACTIONS_TABLE"
HISTORY_DAYS = 30
MIN_INTERACTIONS, MIN_POSTS = 1_000, 50  # below this a model would learn noise: the batch waits
_EVENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class NewInteraction(BaseModel):
    """One action on a post; ``event_id`` is the client's, so a retried request counts once."""

    model_config = {"extra": "forbid"}

    event_id: str = Field(pattern=_EVENT_ID.pattern)
    action: Literal["view", "comment", "share", "save", "report"]
    watch_seconds: float = Field(default=0.0, ge=0.0, le=6 * 3600)


def record_interaction(
    caller: Caller, post_id: str, interaction: NewInteraction
) -> tuple[dict[str, Any], bool]:
    """Store the action (the stream turns it into features); True when it is new."""
    post = get_post(post_id)
    if post.get("state") != "published":
        raise NotFound(f"there is no post {post_id}")
    now = clock.now()
    row = {
        "user_id": caller.user_id,
        "event_id": interaction.event_id,
        "post_id": post_id,
        "action": interaction.action,
        "watch_seconds": interaction.watch_seconds,
        "at": now,
    }
    try:
        dynamodb().put_item(
            TableName=table(INTERACTIONS),
            Item={
                "user_id": {"S": caller.user_id},
                "event_id": {"S": interaction.event_id},
                "post_id": {"S": post_id},
                "action": {"S": interaction.action},
                "watch_seconds": {"N": repr(interaction.watch_seconds)},
                "at": {"N": repr(now)},
                "expires_at": {"N": str(int(now + HISTORY_DAYS * DAY))},
            },
            ConditionExpression="attribute_not_exists(event_id)",
        )
    except dynamodb().exceptions.ConditionalCheckFailedException:
        return row, False
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


def run_batch(version: str) -> dict[str, Any]:
    """The daily batch: 30 days of log and posts in, a new model and user features out."""
    now = clock.now()
    catalogue = read_catalogue(now - HISTORY_DAYS * DAY)
    log = read_log(now - HISTORY_DAYS * DAY, now)
    report: dict[str, Any] = {"version": version, "posts": len(catalogue), "interactions": len(log)}
    if len(log) < MIN_INTERACTIONS or len(catalogue) < MIN_POSTS:
        return {**report, "published": False, "reason": "not enough interactions or posts to learn from"}
    model, users, training_set = train(catalogue, log, now, version)
    write_snapshot(
        "post_aggregates",
        now,
        post_id=catalogue.post_id,
        **{f.name: getattr(model.stats, f.name) for f in fields(PostStats)},
    )
    write_snapshot("training_set", now, rows=training_set.rows, **training_set.labels)
    report["model_key"] = publish_model(model)
    report["users"] = put_users(users, version)
    known_unsafe = set(catalogue.post_id[catalogue.verdict != SHOWABLE_VERDICT].tolist())
    safety.mark(known_unsafe & safety.unsafe_posts(), unsafe=False)  # the new model filters these itself
    return {**report, "published": True, "indexed_posts": int(model.index.ntotal)}


_models = ModelCache()
_features = OnlineFeatures()
_explorers: dict[str, Explore] = {}
_lock = threading.Lock()


def explore_page(user_id: str) -> dict[str, Any]:
    model = _models.get()
    if model is None:
        return {"items": [], "fallbacks": ["no_model"], "model_version": None}
    with _lock:
        explorer = _explorers.get(model.version)
        if explorer is None:
            _explorers.clear()
            explorer = _explorers[model.version] = Explore(model, ExploreConfig())
    viewer, stale = _features.viewer(user_id, frozenset(followed_authors(user_id)))
    viewer = replace(viewer, unsafe=safety.unsafe_posts())
    page = explorer.page(viewer, clock.now())
    return {
        "items": [
            {
                "post_id": pick.post_id,
                "author_id": pick.author_id,
                "kind": pick.kind,
                "reason": {"source": pick.source, "score": pick.score},
            }
            for pick in page.items
        ],
        "fallbacks": [*page.fallbacks, *(["stale_features"] if stale else [])],
        "model_version": page.model_version,
    }
