"""Dormant followers: no fan-out writes for users who stopped coming, a rebuilt feed when they return.

A user is active when they read their feed (``last_active_at``, written at most hourly). A daily
sweep marks users idle for ``DormantAfterDays`` dormant and takes their edges out of the Audience
index, so fan-out stops writing rows nobody reads. Their next feed read puts the edges back and
refills the feed from the authors they follow.
"""

from __future__ import annotations

from collections.abc import Iterator

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition

from aperture.core import clock
from aperture.core.config import settings
from aperture.core.tables import condition_failed
from aperture.feed.home import followed_authors, rebuild
from aperture.social.tables import Edge, User

ACTIVITY_RESOLUTION = 3600.0  # seconds: last_active_at is rewritten at most this often


def touch(user_id: str) -> int:
    """Record that the user is here; if they were dormant, wake them. Returns posts rebuilt.

    Every feed read calls this, so it reads first (half a read unit) and writes only when the
    record is an hour old or the user was dormant."""
    now = clock.now()
    seen = _user(user_id, ["last_active_at", "dormant_since"], consistent=False)
    recent = seen is not None and (seen.last_active_at or 0) >= now - ACTIVITY_RESOLUTION
    if recent and seen is not None and seen.dormant_since is None:
        return 0
    stale = now - ACTIVITY_RESOLUTION
    try:
        previous = User(user_id).update_returning_old(
            [User.last_active_at.set(now), User.dormant_since.remove()],
            condition=User.follower_count.exists()
            & (
                User.last_active_at.does_not_exist()
                | (User.last_active_at < stale)
                | User.dormant_since.exists()
            ),
        )
    except UpdateError as error:
        if condition_failed(error):
            return 0  # active within the hour, or no profile yet
        raise
    if previous is None or previous.dormant_since is None:
        return 0
    authors = followed_authors(user_id)
    _set_audience(user_id, authors, present=True)
    return rebuild(user_id, authors)


def sweep() -> dict[str, int]:
    """Mark users idle for too long dormant, and stop fanning out to them."""
    now = clock.now()
    cutoff = now - settings().dormant_after_days * 86_400
    marked = edges = 0
    for user_id in _idle_users(cutoff):
        try:
            User(user_id).update([User.dormant_since.set(now)], condition=_idle(cutoff))
        except UpdateError as error:
            if condition_failed(error):
                continue  # came back meanwhile
            raise
        authors = followed_authors(user_id)
        edges += _set_audience(user_id, authors, present=False)
        marked += 1
        if not _still_dormant(user_id):  # woke between our two steps: give the edges back
            _set_audience(user_id, authors, present=True)
    return {"dormant": marked, "edges": edges}


def _idle(cutoff: float) -> Condition:
    idle: Condition = (User.last_active_at < cutoff) & User.dormant_since.does_not_exist()
    return idle


def _idle_users(cutoff: float) -> Iterator[str]:
    for user in User.scan(_idle(cutoff), attributes_to_get=["user_id"]):
        yield user.user_id


def _user(user_id: str, attributes: list[str] | None = None, *, consistent: bool = True) -> User | None:
    try:
        return User.get(user_id, consistent_read=consistent, attributes_to_get=attributes)
    except User.DoesNotExist:
        return None


def _still_dormant(user_id: str) -> bool:
    user = _user(user_id)
    return user is not None and user.dormant_since is not None


def _set_audience(user_id: str, authors: set[str], present: bool) -> int:
    """Put the user's live edges into the Audience index, or take them out."""
    changed = 0
    for author_id in authors:
        action = Edge.audience_of.set(author_id) if present else Edge.audience_of.remove()
        try:
            Edge(user_id, author_id).update([action], condition=Edge.following == True)  # noqa: E712
            changed += 1
        except UpdateError as error:
            if not condition_failed(error):
                raise  # else unfollowed meanwhile
    return changed
