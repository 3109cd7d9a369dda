"""Comments, screened: text that matches the moderators' term list is held until a moderator
decides; a comment that is shown is engagement Explore learns from, like a reported interaction."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from aperture.core.identity import Caller, require_moderator
from aperture.explore.realtime import store_action
from aperture.moderation.terms import matching_term
from aperture.social import comments


class CommentDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verdict: Literal["approved", "removed"]


def post_comment(
    caller: Caller, post_id: str, new: comments.NewComment, request_key: str | None = None
) -> dict[str, Any]:
    held_for = matching_term(new.text)
    comment = comments.create_comment(caller, post_id, new, request_key, held_for=held_for)
    if comment["state"] == comments.SHOWN:
        store_action(caller.user_id, post_id, comment["comment_id"], "comment")
    return comment


def held_comments(caller: Caller, limit: int, cursor: str | None) -> dict[str, Any]:
    require_moderator(caller)
    return comments.held_page(limit, cursor)


def decide_comment(
    caller: Caller, post_id: str, comment_id: str, decision: CommentDecision
) -> dict[str, Any]:
    """Approve a held comment (shown, counted, announced) or remove it; either is final."""
    require_moderator(caller)
    if decision.verdict == "approved":
        comment = comments.approve_held(post_id, comment_id)
        store_action(comment["author_id"], post_id, comment_id, "comment")
    else:
        comments.remove_held(post_id, comment_id)
    return {"post_id": post_id, "comment_id": comment_id, "verdict": decision.verdict}
