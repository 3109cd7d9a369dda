"""The offline store in S3: the interaction log by day, and the versioned Explore model.

Layout of the feature store bucket:
- ``interactions/dt=YYYY-MM-DD/<batch>.jsonl.gz``: what the stream consumer saw, one action a line;
- ``offline/<table>/dt=YYYY-MM-DD/<table>.npz``: the batch's 30-day post aggregates and training set;
- ``explore/models/<version>.npz`` and ``explore/models/latest.json``: the model the batch built
  and the pointer serving follows (see ``batch.publish_model`` and ``service.ModelCache``);
- ``explore/refresh/<version>/<ms>.npz`` and ``explore/refresh/latest.json``: what the log since
  that batch changes, every ten minutes (``batch.run_refresh``); kept two days.
"""

from __future__ import annotations

import gzip
import io
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from aperture.core import clock
from aperture.core.aws import client
from aperture.core.config import resource_name
from aperture.explore.catalogue import KINDS, NETWORK_UNKNOWN, NETWORKS, Action, Catalogue, InteractionLog
from aperture.media.tables import Media
from aperture.social.tables import Post, day_partitions

BUCKET = "FEATURE_STORE_BUCKET"
LATEST = "explore/models/latest.json"
REFRESHED = "explore/refresh/latest.json"
DAY = 86_400.0
_MEDIA_KIND = {"image": KINDS.index("photo"), "video": KINDS.index("video")}


def _day(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d")


def append_log(rows: list[dict[str, Any]], now: float) -> str:
    """Write one batch of actions (``user_id``, ``post_id``, ``action``, ``watch_seconds``, ``at``,
    and the client's ``network`` where it said)."""
    key = f"interactions/dt={_day(now)}/{int(now * 1000)}-{uuid.uuid4().hex}.jsonl.gz"
    body = gzip.compress("".join(json.dumps(row, sort_keys=True) + "\n" for row in rows).encode())
    client("s3").put_object(Bucket=resource_name(BUCKET), Key=key, Body=body)
    return key


def erase_from_log(user_id: str) -> int:
    """Rewrite each log object that holds the user's actions without them (one holding nothing
    else goes); returns the objects changed. Every object is read: the log keeps no index by user."""
    s3, bucket = client("s3"), resource_name(BUCKET)
    changed = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="interactions/"):
        for entry in page.get("Contents", []):
            body = gzip.decompress(s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()).decode()
            lines = body.splitlines(keepends=True)
            kept = [line for line in lines if json.loads(line).get("user_id") != user_id]
            if len(kept) == len(lines):
                continue
            if kept:
                s3.put_object(Bucket=bucket, Key=entry["Key"], Body=gzip.compress("".join(kept).encode()))
            else:
                s3.delete_object(Bucket=bucket, Key=entry["Key"])
            changed += 1
    return changed


def read_log(since: float, until: float) -> InteractionLog:
    """Every action logged on the days from ``since`` to ``until``, ordered by time."""
    s3, rows = client("s3"), []
    day = datetime.fromtimestamp(since, UTC).date()
    while day <= datetime.fromtimestamp(until, UTC).date():
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=resource_name(BUCKET), Prefix=f"interactions/dt={day.isoformat()}/"
        )
        for page in pages:
            for entry in page.get("Contents", []):
                body = s3.get_object(Bucket=resource_name(BUCKET), Key=entry["Key"])["Body"].read()
                rows += [json.loads(line) for line in gzip.decompress(body).decode().splitlines() if line]
        day += timedelta(days=1)
    unique = {
        r.get("event_id") or json.dumps(r, sort_keys=True): r for r in rows
    }  # retried batches log twice
    rows = sorted((r for r in unique.values() if since <= r["at"] < until), key=lambda r: r["at"])
    return InteractionLog(
        user_id=np.array([r["user_id"] for r in rows], dtype=np.str_),
        post_id=np.array([r["post_id"] for r in rows], dtype=np.str_),
        action=np.array([Action[r["action"].upper()] for r in rows], dtype=np.int64),
        watch_seconds=np.array([float(r.get("watch_seconds", 0.0)) for r in rows]),
        at=np.array([r["at"] for r in rows], dtype=np.float64),
        network=np.array([NETWORKS.get(r.get("network", ""), NETWORK_UNKNOWN) for r in rows], dtype=np.int64),
    )


def read_catalogue(since: float) -> Catalogue:
    """Posts created since ``since`` that are not deleted, with their media's kind and verdict: a
    query of each ByDay partition since that day, side by side, never a scan of the whole table."""

    def partition(key: str) -> list[dict[str, Any]]:
        found = Post.by_day.query(key, Post.created_at >= since, filter_condition=Post.state != "deleted")
        return [post.to_dict() for post in found]

    with ThreadPoolExecutor(max_workers=16) as pool:
        posts = [post for found in pool.map(partition, day_partitions(since, clock.now())) for post in found]
    media_ids = sorted({item["media_id"] for p in posts for item in p.get("media_items", [])})
    media = {m.media_id: m.to_dict() for m in Media.batch_get(media_ids)}

    def verdict(post: dict[str, Any]) -> str:
        """The verdict of the post's media: approved when every item is, else the first that is not."""
        if not post.get("media_items"):
            return "approved" if post.get("state") == "published" else "pending"
        verdicts = [
            str(media.get(item["media_id"], {}).get("moderation", {}).get("verdict", "pending"))
            for item in post["media_items"]
        ]
        return next((v for v in verdicts if v != "approved"), "approved")

    return Catalogue(
        post_id=np.array([p["post_id"] for p in posts], dtype=np.str_),
        author_id=np.array([p["author_id"] for p in posts], dtype=np.str_),
        kind=np.array(
            [_MEDIA_KIND.get(media.get(p.get("media_id", ""), {}).get("kind", "image"), 0) for p in posts],
            dtype=np.int64,
        ),
        created_at=np.array([float(p["created_at"]) for p in posts], dtype=np.float64),
        duration=np.array(
            [float(media.get(p.get("media_id", ""), {}).get("duration", 0.0)) for p in posts],
            dtype=np.float64,
        ),
        verdict=np.array([verdict(p) for p in posts], dtype=np.str_),
    )


def read_pointer(key: str) -> dict[str, Any] | None:
    """A ``latest.json``'s content; None before the first was written."""
    s3 = client("s3")
    try:
        return dict(json.loads(s3.get_object(Bucket=resource_name(BUCKET), Key=key)["Body"].read()))
    except s3.exceptions.NoSuchKey:
        return None


def read_object(key: str) -> bytes:
    return bytes(client("s3").get_object(Bucket=resource_name(BUCKET), Key=key)["Body"].read())


def write_pointed(key: str, body: bytes, pointer_key: str, pointer: dict[str, Any]) -> None:
    """Write ``body`` at ``key``, then the pointer to it (with ``key``): readers never see a pointer
    to an object not yet written."""
    s3, bucket = client("s3"), resource_name(BUCKET)
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    s3.put_object(
        Bucket=bucket,
        Key=pointer_key,
        Body=json.dumps({**pointer, "key": key}).encode(),
        ContentType="application/json",
    )


def write_snapshot(name: str, now: float, **arrays: npt.NDArray[np.generic]) -> str:
    """A daily table for the offline store (30-day aggregates, training sets): one npz per day."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, allow_pickle=False, **arrays)
    key = f"offline/{name}/dt={_day(now)}/{name}.npz"
    client("s3").put_object(Bucket=resource_name(BUCKET), Key=key, Body=buffer.getvalue())
    return key
