"""What Explore learns from, held column-wise: the posts it may show and the interaction log.

Both are numpy columns rather than objects because the daily batch reads millions of rows and the
serving path indexes them by position; ids stay strings so nothing outside Explore sees positions.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import IntEnum
from typing import Any

import numpy as np
import numpy.typing as npt

Strings = npt.NDArray[np.str_]
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


class Action(IntEnum):
    VIEW = 0
    LIKE = 1
    COMMENT = 2
    SHARE = 3
    SAVE = 4
    REPORT = 5


ENGAGEMENTS = (Action.LIKE, Action.COMMENT, Action.SHARE, Action.SAVE)
# The network an action was taken on, as clients report it: the Network Information API's
# effectiveType (or "wifi"), in three classes; old clients and old log lines say nothing.
NETWORK_UNKNOWN, NETWORK_FAST, NETWORK_SLOW = 0, 1, 2
NETWORKS = {
    "wifi": NETWORK_FAST,
    "4g": NETWORK_FAST,
    "3g": NETWORK_SLOW,
    "2g": NETWORK_SLOW,
    "slow-2g": NETWORK_SLOW,
}
KINDS = ("photo", "video", "reel")
# Only media that moderation approved may be shown; anything else (pending, in review, blocked) never is.
SHOWABLE_VERDICT = "approved"


@dataclass(frozen=True)
class Catalogue:
    """Posts eligible to be considered: one row per post."""

    post_id: Strings
    author_id: Strings
    kind: Ints  # index into KINDS
    created_at: Floats
    duration: Floats  # seconds of video; 0 for photos
    verdict: Strings  # the moderation verdict of the post's media

    def __len__(self) -> int:
        return len(self.post_id)

    def where(self, mask: npt.NDArray[np.bool_]) -> Catalogue:
        return Catalogue(**{f.name: getattr(self, f.name)[mask] for f in fields(Catalogue)})

    def extended(self, more: Catalogue) -> Catalogue:
        """These posts, then ``more``'s: every position into this catalogue still means the same post."""
        return Catalogue(
            **{
                f.name: np.concatenate([getattr(self, f.name), getattr(more, f.name)])
                for f in fields(Catalogue)
            }
        )

    def find(self, post_ids: Strings) -> Ints:
        """The position of each of ``post_ids``, -1 for a post not here."""
        if not len(self):
            return np.full(len(post_ids), -1, dtype=np.int64)
        order = np.argsort(self.post_id)
        at = find_sorted(self.post_id[order], post_ids)
        return np.where(at >= 0, order[at], -1).astype(np.int64)


def find_sorted(ordered: npt.NDArray[Any], keys: npt.NDArray[Any]) -> Ints:
    """Where each of ``keys`` is in ``ordered`` (ascending), -1 where it is not."""
    if not len(ordered):
        return np.full(len(keys), -1, dtype=np.int64)
    at = np.minimum(np.searchsorted(ordered, keys), len(ordered) - 1)
    return np.where(ordered[at] == keys, at, -1).astype(np.int64)


@dataclass(frozen=True)
class InteractionLog:
    """Every action a user took on a post: a view carries its watch (or dwell) seconds."""

    user_id: Strings
    post_id: Strings
    action: Ints
    watch_seconds: Floats
    at: Floats
    network: Ints | None = None  # NETWORK_*; None: none known

    def __len__(self) -> int:
        return len(self.user_id)

    def networks(self) -> Ints:
        return self.network if self.network is not None else np.zeros(len(self), dtype=np.int64)

    def where(self, mask: npt.NDArray[np.bool_]) -> InteractionLog:
        return InteractionLog(
            self.user_id[mask],
            self.post_id[mask],
            self.action[mask],
            self.watch_seconds[mask],
            self.at[mask],
            None if self.network is None else self.network[mask],
        )

    def sessions(self, idle: float = 1800.0) -> tuple[Ints, Floats]:
        """Each action's session (a number, the same for one user's actions with no ``idle``
        seconds between them) and that session's first moment."""
        order = np.lexsort((self.at, self.user_id))
        users, moments = self.user_id[order], self.at[order]
        starts = np.ones(len(order), dtype=bool)
        starts[1:] = (users[1:] != users[:-1]) | (np.diff(moments) > idle)
        number = np.cumsum(starts) - 1
        session = np.empty(len(order), dtype=np.int64)
        session[order] = number
        return session, moments[starts][session]

    def before(self, moment: float) -> InteractionLog:
        return self.where(self.at < moment)

    def since(self, moment: float) -> InteractionLog:
        return self.where(self.at >= moment)
