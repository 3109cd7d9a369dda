"""The follow graph, with the seed's last-write-wins rule and exact follower counts.

Each (follower, followee) edge keeps the client timestamp of the request that last set it, even
after an unfollow (a tombstone), so a late, older request can never undo a newer one. An edge
change and both users' counters move in one transaction, guarded by the edge as it was read.
"""

from __future__ import annotations

import random
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pynamodb.exceptions import TransactWriteError
from pynamodb.pagination import ResultIterator
from pynamodb.transactions import TransactWrite

from aperture.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from aperture.core.identity import Caller
from aperture.core.pagination import decode_cursor, encode_cursor
from aperture.core.tables import CONDITION_FAILED, commit, reasons, transaction
from aperture.social.tables import Edge, User
from aperture.social.users import get_profile

_ATTEMPTS = 50


class FollowRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    following: bool
    client_timestamp: int = Field(ge=0, le=10**15, description="the client's clock, in epoch milliseconds")


def _state(
    follower_id: str, followee_id: str, following: bool, updated_at: int, applied: bool
) -> dict[str, Any]:
    return {
        "follower_id": follower_id,
        "followee_id": followee_id,
        "following": following,
        "updated_at": updated_at,
        "applied": applied,
    }


def set_follow_state(
    caller: Caller, follower_id: str, followee_id: str, request: FollowRequest
) -> dict[str, Any]:
    """Apply a follow or unfollow if it is newer than the edge's last change; else say what is."""
    if caller.user_id != follower_id:
        raise Forbidden("you can only change whom you follow")
    if follower_id == followee_id:
        raise Unprocessable("you cannot follow yourself")
    get_profile(follower_id)
    get_profile(followee_id)
    for _ in range(_ATTEMPTS):
        edge = _edge(follower_id, followee_id)
        if edge and edge.updated_at >= request.client_timestamp:
            return _state(follower_id, followee_id, edge.following, int(edge.updated_at), applied=False)
        try:
            _write(follower_id, followee_id, request, edge)
        except TransactWriteError as error:
            if CONDITION_FAILED in reasons(error)[1:]:
                raise NotFound("one of the two users no longer exists") from error
            time.sleep(random.uniform(0, 0.01))  # the edge changed under us: read it again
            continue
        return _state(follower_id, followee_id, request.following, request.client_timestamp, applied=True)
    raise Conflict("too many concurrent changes to this follow: retry")


def _edge(follower_id: str, followee_id: str) -> Edge | None:
    try:
        return Edge.get(follower_id, followee_id, consistent_read=True)
    except Edge.DoesNotExist:
        return None


def _write(follower_id: str, followee_id: str, request: FollowRequest, edge: Edge | None) -> None:
    new = Edge(
        follower_id,
        followee_id,
        following=request.following,
        updated_at=request.client_timestamp,
        # Present only while following: the Followers index is sparse, so it lists live edges only.
        active_followee_id=followee_id if request.following else None,
        # The follower is acting now, so not dormant: fan-out writes to them (see ``dormancy``).
        audience_of=followee_id if request.following else None,
        # Engagement outlives follow changes: see ``closeness``.
        interactions=edge.interactions if edge else None,
        last_interaction_at=edge.last_interaction_at if edge else None,
    )
    unchanged = Edge.follower_id.does_not_exist() if edge is None else Edge.updated_at == edge.updated_at
    with transaction() as write:
        write.save(new, condition=unchanged)
        if bool(edge and edge.following) != request.following:
            delta = 1 if request.following else -1
            for user_id, counter in ((followee_id, User.follower_count), (follower_id, User.following_count)):
                write.update(User(user_id), [counter.add(delta)], condition=User.user_id.exists())


def sever(follower_id: str, followee_id: str) -> bool:
    """Remove an edge for good (one of its users' account is deleted), taking back the counts a
    live edge holds from whichever of the two still exists. True when it removed one."""
    for _ in range(_ATTEMPTS):
        edge = _edge(follower_id, followee_id)
        if edge is None:
            return False
        counters = [(followee_id, User.follower_count), (follower_id, User.following_count)]
        # a live edge's counts, on whichever of the two users still exists (a tombstone holds none)
        alive = [
            (user_id, counter) for user_id, counter in counters if edge.following and User.count(user_id)
        ]

        def build(write: TransactWrite, edge: Edge = edge, alive: list[tuple[str, Any]] = alive) -> None:
            write.delete(edge, condition=Edge.updated_at == edge.updated_at)
            for user_id, counter in alive:
                write.update(User(user_id), [counter.add(-1)], condition=User.user_id.exists())

        if not commit(build):
            return True
        # else the edge changed, or a user went, since it was read: read again
    raise Conflict("too many concurrent changes to this follow: retry")


def _page(edges: ResultIterator[Edge], other: str) -> dict[str, Any]:
    """One page of edges as users (the ``other`` end of each edge), and the cursor to the next."""
    users = [{"user_id": getattr(edge, other), "since": int(edge.updated_at)} for edge in edges]
    return {"users": users, "next_cursor": encode_cursor(edges.last_evaluated_key)}


def followers(user_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
    get_profile(user_id)
    keys = {"follower_id", "followee_id", "active_followee_id"}
    start = decode_cursor(cursor, keys, partition={"active_followee_id": user_id})
    return _page(Edge.followers.query(user_id, limit=limit, last_evaluated_key=start), "follower_id")


def following(user_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
    get_profile(user_id)
    start = decode_cursor(cursor, {"follower_id", "followee_id"}, partition={"follower_id": user_id})
    live = Edge.following == True  # noqa: E712 (a filter: tombstones stay in the partition)
    edges = Edge.query(user_id, filter_condition=live, limit=limit, last_evaluated_key=start)
    return _page(edges, "followee_id")
