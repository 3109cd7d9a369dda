"""The online feature store: per-user features in DynamoDB, read against a deadline.

Items in the Features table, keyed ``entity_id`` + ``feature_set``:
- ``user#<id>`` / ``profile``: the batch's embedding (float32 bytes), community and kind taste;
- ``user#<id>`` / ``recent``: the last 100 actions, newest first, kept by the stream consumer.
A read that misses its deadline answers with the last copy this process read (stale features
beat no features), and says so.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

import numpy as np
from cachetools import LRUCache

from aperture.core.dynamo import dynamodb, table
from aperture.explore.features import UserFeatures, Viewer

FEATURES = "FEATURES_TABLE"
RECENT_ACTIONS = 100
_WRITE_BATCH = 25


def _key(user_id: str, feature_set: str) -> dict[str, Any]:
    return {"entity_id": {"S": f"user#{user_id}"}, "feature_set": {"S": feature_set}}


@dataclass(frozen=True)
class RecentAction:
    post_id: str
    action: str
    at: float


def put_users(users: UserFeatures, batch_version: str) -> int:
    """Write every user's batch features; returns how many were written."""
    requests = [
        {
            "PutRequest": {
                "Item": {
                    **_key(str(user), "profile"),
                    "vector": {"B": users.vector[n].astype(np.float32).tobytes()},
                    "community": {"N": str(int(users.community[n]))},
                    "kinds": {"L": [{"N": repr(float(k))} for k in users.kinds[n]]},
                    "batch_version": {"S": batch_version},
                }
            }
        }
        for n, user in enumerate(users.user_id)
    ]
    for start in range(0, len(requests), _WRITE_BATCH):
        pending = {table(FEATURES): requests[start : start + _WRITE_BATCH]}
        while pending:
            pending = dynamodb().batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
    return len(requests)


def record_actions(user_id: str, actions: list[RecentAction], attempts: int = 10) -> None:
    """Put ``actions`` at the head of the user's recent list, trimmed to 100; optimistic on a version."""
    for _ in range(attempts):
        item = dynamodb().get_item(TableName=table(FEATURES), Key=_key(user_id, "recent")).get("Item", {})
        version = int(item.get("version", {"N": "0"})["N"])
        known = [
            {"p": entry["M"]["p"]["S"], "a": entry["M"]["a"]["S"], "t": float(entry["M"]["t"]["N"])}
            for entry in item.get("actions", {"L": []})["L"]
        ]
        newest = [{"p": a.post_id, "a": a.action, "t": a.at} for a in actions]
        unique = {(e["p"], e["a"], e["t"]): e for e in [*newest, *known]}  # a retried batch adds nothing
        merged = sorted(unique.values(), key=lambda e: -float(e["t"]))[:RECENT_ACTIONS]
        try:
            dynamodb().put_item(
                TableName=table(FEATURES),
                Item={
                    **_key(user_id, "recent"),
                    "version": {"N": str(version + 1)},
                    "actions": {"L": [_entry(e) for e in merged]},
                },
                ConditionExpression="attribute_not_exists(version) OR version = :seen",
                ExpressionAttributeValues={":seen": {"N": str(version)}},
            )
            return
        except dynamodb().exceptions.ConditionalCheckFailedException:
            continue  # another batch for this user landed first: merge again
    raise RuntimeError(f"recent actions of {user_id} kept changing under {attempts} attempts")


def _entry(action: dict[str, Any]) -> dict[str, Any]:
    return {"M": {"p": {"S": action["p"]}, "a": {"S": action["a"]}, "t": {"N": repr(action["t"])}}}


class OnlineFeatures:
    """Reads a viewer's features; a read slower than ``deadline`` seconds answers from the last copy."""

    def __init__(self, deadline: float = 0.08, remembered: int = 100_000) -> None:
        self.deadline = deadline
        self._last: LRUCache[str, Viewer] = LRUCache(maxsize=remembered)
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="features")

    def viewer(self, user_id: str, following: frozenset[str]) -> tuple[Viewer, bool]:
        """The viewer's features, and whether they are a stale copy."""
        future = self._pool.submit(self._read, user_id, following)
        try:
            viewer = future.result(timeout=self.deadline)
        except (FutureTimeout, OSError, RuntimeError):
            with self._lock:
                stale = self._last.get(user_id)
            return (stale if stale is not None else Viewer(user_id=user_id, following=following)), True
        with self._lock:
            self._last[user_id] = viewer
        return viewer, False

    def _read(self, user_id: str, following: frozenset[str]) -> Viewer:
        items = dynamodb().batch_get_item(
            RequestItems={table(FEATURES): {"Keys": [_key(user_id, "profile"), _key(user_id, "recent")]}}
        )["Responses"][table(FEATURES)]
        by_set = {item["feature_set"]["S"]: item for item in items}
        profile, recent = by_set.get("profile"), by_set.get("recent")
        return Viewer(
            user_id=user_id,
            vector=np.frombuffer(profile["vector"]["B"], dtype=np.float32) if profile else None,
            community=int(profile["community"]["N"]) if profile else None,
            kinds=np.array([float(k["N"]) for k in profile["kinds"]["L"]]) if profile else None,
            recent=tuple(dict.fromkeys(e["M"]["p"]["S"] for e in recent["actions"]["L"])) if recent else (),
            following=following,
        )
