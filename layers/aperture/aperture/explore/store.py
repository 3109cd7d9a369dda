"""The online feature store: per-user features in DynamoDB, read against a deadline.

Its items are described in ``tables``. A read that misses its deadline answers with the last copy
this process read (stale features beat no features), and says so.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

import numpy as np
from cachetools import LRUCache
from pynamodb.exceptions import PutError

from aperture.core.config import settings
from aperture.core.tables import condition_failed, write_batch
from aperture.explore.features import UserFeatures, Viewer
from aperture.explore.tables import UserFeatureSet

RECENT_ACTIONS = 100


def _entity(user_id: str) -> str:
    return f"user#{user_id}"


@dataclass(frozen=True)
class RecentAction:
    post_id: str
    action: str
    at: float


def put_users(users: UserFeatures, batch_version: str) -> int:
    """Write every user's batch features; returns how many were written."""
    profiles = [
        UserFeatureSet(
            _entity(str(user)),
            "profile",
            vector=users.vector[n].astype(np.float32).tobytes(),
            tower=users.tower[n].astype(np.float32).tobytes(),
            community=int(users.community[n]),
            kinds=[float(k) for k in users.kinds[n]],
            batch_version=batch_version,
        )
        for n, user in enumerate(users.user_id)
    ]
    write_batch(UserFeatureSet, puts=profiles)
    return len(profiles)


def record_actions(user_id: str, actions: list[RecentAction], attempts: int = 10) -> None:
    """Put ``actions`` at the head of the user's recent list, trimmed to 100; optimistic on a version."""
    for _ in range(attempts):
        try:
            current = UserFeatureSet.get(_entity(user_id), "recent")
            version, known = (
                int(current.version or 0),
                [(post, action, float(at)) for post, action, at in current.recent_actions or []],
            )
        except UserFeatureSet.DoesNotExist:
            version, known = 0, []
        newest = [(a.post_id, a.action, a.at) for a in actions]
        unique = {*newest, *known}  # a retried batch adds nothing
        merged = sorted(unique, key=lambda e: -e[2])[:RECENT_ACTIONS]
        kept = UserFeatureSet(
            _entity(user_id),
            "recent",
            version=version + 1,
            recent_actions=[list(entry) for entry in merged],
        )
        try:
            kept.save(condition=UserFeatureSet.version.does_not_exist() | (UserFeatureSet.version == version))
            return
        except PutError as error:
            if not condition_failed(error):
                raise  # else another batch for this user landed first: merge again
    raise RuntimeError(f"recent actions of {user_id} kept changing under {attempts} attempts")


class OnlineFeatures:
    """Reads a viewer's features; a read slower than ``deadline`` seconds (by default the stack's
    ``ExploreFeatureDeadlineMs``) answers from the last copy."""

    def __init__(self, deadline: float | None = None, remembered: int = 100_000) -> None:
        self.deadline = deadline
        self._last: LRUCache[str, Viewer] = LRUCache(maxsize=remembered)
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="features")

    def viewer(self, user_id: str, following: frozenset[str]) -> tuple[Viewer, bool]:
        """The viewer's features, and whether they are a stale copy."""
        future = self._pool.submit(self._read, user_id, following)
        try:
            viewer = future.result(timeout=self.deadline or settings().explore_feature_deadline_s)
        except (FutureTimeout, OSError, RuntimeError):
            with self._lock:
                stale = self._last.get(user_id)
            return (stale if stale is not None else Viewer(user_id=user_id, following=following)), True
        with self._lock:
            self._last[user_id] = viewer
        return viewer, False

    def forget(self) -> None:
        with self._lock:
            self._last.clear()

    def _read(self, user_id: str, following: frozenset[str]) -> Viewer:
        found = UserFeatureSet.batch_get([(_entity(user_id), "profile"), (_entity(user_id), "recent")])
        by_set = {item.feature_set: item for item in found}
        profile, recent = by_set.get("profile"), by_set.get("recent")
        return Viewer(
            user_id=user_id,
            vector=np.frombuffer(profile.vector, dtype=np.float32) if profile and profile.vector else None,
            community=int(profile.community) if profile and profile.community is not None else None,
            kinds=np.array(profile.kinds, dtype=np.float64) if profile and profile.kinds else None,
            tower=np.frombuffer(profile.tower, dtype=np.float32) if profile and profile.tower else None,
            recent=tuple(dict.fromkeys(post for post, _, _ in recent.recent_actions or [])) if recent else (),
            following=following,
        )
