"""The daily batch (30 days of log and posts in; a new model, user features and offline tables
out) and the refresh that lays the hours since it over that model.

Kept apart from serving so the API never imports the training code.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from aperture.core import clock
from aperture.explore import safety
from aperture.explore.catalogue import SHOWABLE_VERDICT
from aperture.explore.features import PostStats
from aperture.explore.model import ExploreModel
from aperture.explore.offline import (
    DAY,
    LATEST,
    REFRESHED,
    read_catalogue,
    read_log,
    read_object,
    read_pointer,
    write_pointed,
    write_snapshot,
)
from aperture.explore.refresh import build_refresh
from aperture.explore.store import put_users
from aperture.explore.training import train

HISTORY_DAYS = 30
MIN_INTERACTIONS, MIN_POSTS = 1_000, 50  # below this a model would learn noise: the batch waits


def run_batch(version: str) -> dict[str, Any]:
    """The daily batch: 30 days of log and posts in, a new model and user features out.

    Versions only move forward: a tick no newer than the published model (a replay, or a re-delivery
    of the same tick) changes nothing."""
    published = latest_version()
    if published is not None and published >= version:
        return {"version": version, "published": False, "reason": f"model {published} is as new or newer"}
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


def latest_version() -> str | None:
    pointer = read_pointer(LATEST)
    return None if pointer is None else str(pointer["version"])


def publish_model(model: ExploreModel) -> str:
    key = f"explore/models/{model.version}.npz"
    write_pointed(key, model.to_bytes(), LATEST, {"version": model.version, "built_at": model.built_at})
    return key


def run_refresh() -> dict[str, Any]:
    """Lay what happened since the daily batch over its model (see ``refresh``), every ten minutes.

    A refresh only moves forward: a run no newer than the published refresh of the same model (a
    re-delivered tick, or two runs at once) publishes nothing."""
    pointer = read_pointer(LATEST)
    if pointer is None:
        return {"published": False, "reason": "no model yet"}
    now = clock.now()
    published = read_pointer(REFRESHED)
    if published is not None and published["base"] == pointer["version"] and published["built_at"] >= now:
        return {"published": False, "reason": f"refresh {published['version']} is as new or newer"}
    model = ExploreModel.from_bytes(read_object(pointer["key"]))
    # A day before the batch too: posts it saw pending whose moderation has finished since
    posts = read_catalogue(model.built_at - DAY)
    log = read_log(model.built_at, now)
    refresh = build_refresh(model, posts, log, now)
    key = f"explore/refresh/{model.version}/{int(now * 1000)}.npz"
    write_pointed(
        key,
        refresh.to_bytes(),
        REFRESHED,
        {"base": model.version, "version": refresh.version, "built_at": refresh.built_at},
    )
    return {
        "published": True,
        "version": refresh.version,
        "interactions": len(log),
        "new_posts": len(refresh.posts),
        "changed_posts": len(refresh.changed),
        "trending": len(refresh.trending),
    }
