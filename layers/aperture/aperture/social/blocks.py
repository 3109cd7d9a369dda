"""Blocks: a viewer's block hides the blocked user's posts from the viewer's feed."""

from __future__ import annotations

from typing import Any

from aperture.core import clock
from aperture.core.errors import Forbidden, Unprocessable
from aperture.core.identity import Caller
from aperture.social.tables import Block
from aperture.social.users import get_profile


def _own(caller: Caller, blocker_id: str, blocked_id: str) -> None:
    if caller.user_id != blocker_id:
        raise Forbidden("you can only change whom you block")
    if blocker_id == blocked_id:
        raise Unprocessable("you cannot block yourself")


def block(caller: Caller, blocker_id: str, blocked_id: str) -> dict[str, Any]:
    _own(caller, blocker_id, blocked_id)
    get_profile(blocked_id)
    Block(blocker_id, blocked_id, created_at=clock.now()).save()
    return {"blocker_id": blocker_id, "blocked_id": blocked_id, "blocked": True}


def unblock(caller: Caller, blocker_id: str, blocked_id: str) -> dict[str, Any]:
    _own(caller, blocker_id, blocked_id)
    Block(blocker_id, blocked_id).delete()
    return {"blocker_id": blocker_id, "blocked_id": blocked_id, "blocked": False}


def blocked_by(blocker_id: str) -> set[str]:
    return {block.blocked_id for block in Block.query(blocker_id, attributes_to_get=["blocked_id"])}


def between(user_id: str, other_id: str) -> bool:
    """Whether either of the two blocks the other."""
    return any(True for _ in Block.batch_get([(user_id, other_id), (other_id, user_id)]))
