"""Closeness: how much a viewer engages with an author they follow (likes, Story views).

It lives on the viewer's follow edge, since only followed authors have rings in a tray: a count
of interactions and the time of the last one. ``closeness`` maps them into [0, 1], rising with
the count and fading with a two-week half-life, so the tray favours the people one engages with now.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from pynamodb.exceptions import UpdateError

from aperture.core import clock
from aperture.core.tables import condition_failed
from aperture.social.tables import Edge

HALF_LIFE_SECONDS = 14 * 86_400
SATURATION = 5.0  # interactions at which closeness reaches 1 - 1/e


def closeness(interactions: int, last_interaction_at: float, now: float) -> float:
    fading: float = 0.5 ** (max(0.0, now - last_interaction_at) / HALF_LIFE_SECONDS)
    return (1.0 - math.exp(-interactions / SATURATION)) * fading


def record(viewer_id: str, author_id: str) -> bool:
    """Count one interaction of the viewer with an author they follow; False when they do not."""
    if viewer_id == author_id:
        return False
    try:
        Edge(viewer_id, author_id).update(
            [Edge.last_interaction_at.set(clock.now()), Edge.interactions.add(1)],
            condition=Edge.following == True,  # noqa: E712
        )
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True


def closeness_to(viewer_id: str, author_ids: Iterable[str], now: float) -> dict[str, float]:
    """The viewer's closeness to each author, read from their follow edges."""
    keys = [(viewer_id, author_id) for author_id in sorted(set(author_ids))]
    edges = Edge.batch_get(keys, attributes_to_get=["followee_id", "interactions", "last_interaction_at"])
    return {
        edge.followee_id: closeness(int(edge.interactions or 0), edge.last_interaction_at or now, now)
        for edge in edges
    }
