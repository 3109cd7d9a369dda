"""The daily batch: 30 days of log and posts in; a new model, user features and offline tables out.

Kept apart from serving so the API bundle needs neither scipy nor the training code.
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

from aperture.core import clock
from aperture.core.aws import client
from aperture.core.config import resource_name
from aperture.explore import safety
from aperture.explore.catalogue import SHOWABLE_VERDICT
from aperture.explore.features import PostStats
from aperture.explore.model import ExploreModel
from aperture.explore.offline import BUCKET, DAY, LATEST, read_catalogue, read_log, write_snapshot
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
    try:
        pointer = client("s3").get_object(Bucket=resource_name(BUCKET), Key=LATEST)["Body"].read()
    except client("s3").exceptions.NoSuchKey:
        return None
    return str(json.loads(pointer)["version"])


def publish_model(model: ExploreModel) -> str:
    s3, bucket = client("s3"), resource_name(BUCKET)
    key = f"explore/models/{model.version}.npz"
    s3.put_object(Bucket=bucket, Key=key, Body=model.to_bytes())
    pointer = {"version": model.version, "key": key, "built_at": model.built_at}
    s3.put_object(
        Bucket=bucket, Key=LATEST, Body=json.dumps(pointer).encode(), ContentType="application/json"
    )
    return key
