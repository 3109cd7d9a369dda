"""Notifications: what the service tells a user about their content (failed uploads, blocked media)."""

from __future__ import annotations

from typing import Any

from aperture.core import clock
from aperture.core.ids import new_id
from aperture.core.pagination import decode_cursor, encode_cursor
from aperture.social.tables import Notification


def notify(user_id: str, kind: str, message: str, *, media_id: str | None = None) -> None:
    Notification(
        user_id,
        new_id("n"),  # time-ordered: newest sorts last
        kind=kind,
        message=message,
        created_at=clock.now(),
        media_id=media_id,
    ).save()


def notifications_of(user_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
    """The user's notifications, newest first."""
    start = decode_cursor(cursor, {"user_id", "notification_id"}, partition={"user_id": user_id})
    page = Notification.query(user_id, scan_index_forward=False, limit=limit, last_evaluated_key=start)
    return {"items": [item.to_dict() for item in page], "next_cursor": encode_cursor(page.last_evaluated_key)}
