"""Features that Explore's models see: of a post, of a user, and of a (user, post) pair.

The daily batch computes them from the interaction log; the same ``pair_features`` builds the
training rows and the serving rows, so the ranking model never sees features made two ways.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from aperture.explore.catalogue import KINDS, Action, Catalogue, Floats, InteractionLog, Ints

# How much each action says about interest, for embeddings and engagement scores.
ACTION_WEIGHT = {Action.VIEW: 0.2, Action.LIKE: 1.0, Action.COMMENT: 2.0, Action.SHARE: 3.0, Action.SAVE: 3.0}
PRIOR_VIEWS = 20.0  # rates are smoothed toward the catalogue's mean over this many views
FEATURE_NAMES = (
    "similarity",
    "trending",
    "log_views",
    "like_rate",
    "comment_rate",
    "share_rate",
    "save_rate",
    "watch_share",
    "author_reach",
    "age_hours",
    "kind_taste",
    "community_score",
    "is_photo",
    "is_video",
    "is_reel",
)


@dataclass(frozen=True)
class Positions:
    """Rows of the log resolved to positions in the catalogue and in the user list."""

    users: npt.NDArray[np.str_]
    user: Ints
    post: Ints  # -1 where the post is not in the catalogue


def positions(catalogue: Catalogue, log: InteractionLog) -> Positions:
    order = np.argsort(catalogue.post_id)
    found = np.searchsorted(catalogue.post_id[order], log.post_id)
    found = np.minimum(found, len(order) - 1)
    post = np.where(catalogue.post_id[order][found] == log.post_id, order[found], -1)
    users, user = np.unique(log.user_id, return_inverse=True)
    return Positions(users, user.astype(np.int64), post.astype(np.int64))


@dataclass(frozen=True)
class Viewer:
    """What the online feature store knows of the person asking."""

    user_id: str
    vector: Floats | None = None
    community: int | None = None
    kinds: Floats | None = None
    tower: Floats | None = None  # the two-tower model's user vector
    recent: tuple[str, ...] = ()  # post ids of their last actions: seen, so never shown again
    following: frozenset[str] = frozenset()
    unsafe: frozenset[str] = frozenset()  # posts flagged since the model was built


@dataclass(frozen=True)
class UserFeatures:
    """What the online store keeps per user, as of the batch."""

    user_id: npt.NDArray[np.str_]
    vector: npt.NDArray[np.float32]
    community: Ints
    kinds: Floats
    tower: npt.NDArray[np.float32]


@dataclass(frozen=True)
class PostStats:
    """Per-post engagement, as of the end of the log it was computed from."""

    views: Floats
    rates: Floats  # posts x 4: like, comment, share, save per view, smoothed
    watch_share: Floats
    quality: Floats  # smoothed engagements per view: the quality floor's measure
    integrity_risk: Floats  # smoothed reports per view
    trending: Floats  # decayed engagement; actions stamped in the future are ignored
    author_reach: Floats  # log of the engagements the post's author earned overall


def post_stats(
    catalogue: Catalogue, log: InteractionLog, where: Positions, now: float, half_life: float
) -> PostStats:
    posts = len(catalogue)
    known = where.post >= 0

    def count(action: Action, values: Floats | None = None) -> Floats:
        rows = known & (log.action == action)
        weights = None if values is None else values[rows]
        return np.bincount(where.post[rows], weights=weights, minlength=posts).astype(np.float64)

    views = count(Action.VIEW)
    duration = np.where(catalogue.duration > 0, catalogue.duration, 1.0)
    watched = count(Action.VIEW, np.minimum(log.watch_seconds / duration[np.maximum(where.post, 0)], 1.0))
    engaged = np.stack([count(a) for a in (Action.LIKE, Action.COMMENT, Action.SHARE, Action.SAVE)], axis=1)
    mean_rates = engaged.sum(axis=0) / max(views.sum(), 1.0)
    rates = (engaged + PRIOR_VIEWS * mean_rates) / (views + PRIOR_VIEWS)[:, None]
    mean_watch = watched.sum() / max(views.sum(), 1.0)
    watch_share = (watched + PRIOR_VIEWS * mean_watch) / (views + PRIOR_VIEWS)
    mean_quality = engaged.sum() / max(views.sum(), 1.0)
    quality = (engaged.sum(axis=1) + PRIOR_VIEWS * mean_quality) / (views + PRIOR_VIEWS)
    reports = count(Action.REPORT)
    mean_reports = reports.sum() / max(views.sum(), 1.0)
    integrity_risk = (reports + PRIOR_VIEWS * mean_reports) / (views + PRIOR_VIEWS)
    fresh = known & (log.at <= now) & (log.action != Action.VIEW) & (log.action != Action.REPORT)
    decay = np.exp2(-(now - log.at[fresh]) / half_life)
    trending = np.bincount(where.post[fresh], weights=decay, minlength=posts).astype(np.float64)
    authors, author_of = np.unique(catalogue.author_id, return_inverse=True)
    author_engagement = np.bincount(author_of, weights=engaged.sum(axis=1), minlength=len(authors))
    return PostStats(
        views=views,
        rates=rates,
        watch_share=watch_share,
        quality=quality,
        integrity_risk=integrity_risk,
        trending=trending,
        author_reach=np.log1p(author_engagement[author_of]),
    )


def kind_taste(log: InteractionLog, where: Positions, catalogue: Catalogue) -> Floats:
    """users x kinds: each user's share of engagements per content kind, smoothed toward uniform."""
    rows = (where.post >= 0) & np.isin(log.action, [a.value for a in ACTION_WEIGHT if a != Action.VIEW])
    counts = np.zeros((len(where.users), len(KINDS)))
    np.add.at(counts, (where.user[rows], catalogue.kind[where.post[rows]]), 1.0)
    return np.asarray((counts + 1.0) / (counts.sum(axis=1, keepdims=True) + len(KINDS)), dtype=np.float64)


def pair_features(
    *,
    user_vectors: Floats,
    user_kinds: Floats,
    community_scores: Floats,
    posts: Ints,
    post_vectors: npt.NDArray[np.floating],
    stats: PostStats,
    catalogue: Catalogue,
    now: Floats | float,
) -> npt.NDArray[np.float32]:
    """One row per (user, post) pair; columns as ``FEATURE_NAMES``.

    User columns are one row per pair, or a single row for one user's candidates.
    """
    kinds = catalogue.kind[posts]
    taste = np.broadcast_to(user_kinds, (len(posts), len(KINDS)))
    columns = [
        np.einsum(
            "ij,ij->i",
            post_vectors[posts].astype(np.float32),
            np.broadcast_to(user_vectors, (len(posts), user_vectors.shape[-1])).astype(np.float32),
        ),
        np.log1p(stats.trending[posts]).astype(np.float64),
        np.log1p(stats.views[posts]),
        *stats.rates[posts].T,
        stats.watch_share[posts],
        stats.author_reach[posts],
        np.clip((now - catalogue.created_at[posts]) / 3600.0, 0.0, None),
        np.take_along_axis(taste, kinds[:, None], axis=1)[:, 0],
        community_scores,
        *(kinds == k for k in range(len(KINDS))),
    ]
    return np.stack(columns, axis=1).astype(np.float32)
