"""Notifications: what the service tells a user about their content (failed uploads, blocked media)
and about what others did with it (comments)."""

from __future__ import annotations

from typing import Any

from aperture.core import clock
from aperture.core.ids import new_id
from aperture.core.pagination import decode_cursor, encode_cursor
from aperture.social.tables import Notification


def notify(
    user_id: str,
    kind: str,
    message: str,
    *,
    notification_id: str | None = None,
    **about: Any,
) -> None:
    """Tell ``user_id``; ``about`` names what it concerns (media_id, post_id, comment_id, actor_id).
    A ``notification_id`` (time-ordered, see ``ids.timed_id``) makes a repeated notice one notice."""
    Notification(
        user_id,
        notification_id or new_id("n"),  # time-ordered: newest sorts last
        kind=kind,
        message=message,
        created_at=clock.now(),
        **about,
    ).save()


def notifications_of(user_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
    """The user's notifications, newest first."""
    start = decode_cursor(cursor, {"user_id", "notification_id"}, partition={"user_id": user_id})
    page = Notification.query(user_id, scan_index_forward=False, limit=limit, last_evaluated_key=start)
    return {"items": [item.to_dict() for item in page], "next_cursor": encode_cursor(page.last_evaluated_key)}
