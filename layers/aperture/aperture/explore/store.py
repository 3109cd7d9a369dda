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
from aperture.explore.catalogue import ENGAGEMENTS
from aperture.explore.features import AppOpen, UserFeatures, Viewer
from aperture.explore.tables import UserFeatureSet

RECENT_ACTIONS = 100
ENGAGING = {action.name.lower() for action in ENGAGEMENTS}


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


def record_open(
    user_id: str, last: AppOpen | None, session_id: str, opened_at: float
) -> tuple[float, float | None]:
    """The app open an Explore request came from (``last`` is the one the store held): when it began
    (``opened_at`` the first time it is seen, then as first told), and the hours since the open
    before it (None for a first). A new open is written: one write per open, not per page."""
    if last is not None and last.session_id == session_id:
        return last.opened_at, _hours(last.previous_opened_at, last.opened_at)
    before = last.opened_at if last is not None else None
    if before is None or opened_at > before:  # a late request from an older open changes nothing
        UserFeatureSet(
            _entity(user_id), "session", session_id=session_id, opened_at=opened_at, previous_opened_at=before
        ).save()
    return opened_at, _hours(before, opened_at)


def _hours(before: float | None, after: float) -> float | None:
    return None if before is None or before >= after else (after - float(before)) / 3600.0


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
        entity = _entity(user_id)
        found = UserFeatureSet.batch_get([(entity, "profile"), (entity, "recent"), (entity, "session")])
        by_set = {item.feature_set: item for item in found}
        profile, recent, session = by_set.get("profile"), by_set.get("recent"), by_set.get("session")
        actions = (recent.recent_actions or []) if recent else []
        return Viewer(
            user_id=user_id,
            vector=np.frombuffer(profile.vector, dtype=np.float32) if profile and profile.vector else None,
            community=int(profile.community) if profile and profile.community is not None else None,
            kinds=np.array(profile.kinds, dtype=np.float64) if profile and profile.kinds else None,
            tower=np.frombuffer(profile.tower, dtype=np.float32) if profile and profile.tower else None,
            recent=tuple(dict.fromkeys(post for post, _, _ in actions)),
            engaged=tuple((post, float(at)) for post, action, at in actions if action in ENGAGING),
            following=following,
            last_open=(
                AppOpen(str(session.session_id), float(session.opened_at), session.previous_opened_at)
                if session is not None and session.session_id and session.opened_at is not None
                else None
            ),
        )
