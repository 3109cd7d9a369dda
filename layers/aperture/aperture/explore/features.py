"""Features that Explore's models see: of a post, of a user, and of a (user, post) pair.

The daily batch computes them from the interaction log; the same ``pair_features`` builds the
training rows and the serving rows, so the ranking model never sees features made two ways.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from aperture.explore.catalogue import (
    ENGAGEMENTS,
    KINDS,
    NETWORK_UNKNOWN,
    SHOWABLE_VERDICT,
    Action,
    Catalogue,
    Floats,
    InteractionLog,
    Ints,
)

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
    # the request's context: the last, so that rankers trained before them read the columns before
    "network",
    "session_engagements",
    "session_similarity",
    "hours_away",
)
SESSION_IDLE = 1800.0  # a user's actions with no half hour between them are one session


@dataclass(frozen=True)
class Positions:
    """Rows of the log resolved to positions in the catalogue and in the user list."""

    users: npt.NDArray[np.str_]
    user: Ints
    post: Ints  # -1 where the post is not in the catalogue


def positions(catalogue: Catalogue, log: InteractionLog) -> Positions:
    users, user = np.unique(log.user_id, return_inverse=True)
    return Positions(users, user.astype(np.int64), catalogue.find(log.post_id))


@dataclass(frozen=True)
class Context:
    """What a request says of its moment: the network it came over, the posts the viewer engaged
    with since they opened the app, and how long they had been away before that."""

    network: int = NETWORK_UNKNOWN
    session_posts: tuple[str, ...] = ()
    hours_away: float | None = None


@dataclass(frozen=True)
class SessionState:
    """The context columns of pairs: per pair, or one row for all of one request's candidates."""

    network: Floats  # NETWORK_*
    engagements: Floats  # in the session so far
    vector: npt.NDArray[np.float32]  # unit mean embedding of the session's engaged posts; 0 for none
    hours_away: Floats  # -1 when unknown

    @classmethod
    def of(cls, context: Context, session_vectors: npt.NDArray[np.floating]) -> SessionState:
        """One request's, from the embeddings of the posts engaged with this session."""
        summed = session_vectors.astype(np.float32).sum(axis=0, keepdims=True)
        return cls(
            network=np.array([float(context.network)]),
            engagements=np.array([float(len(session_vectors))]),
            vector=unit_rows(summed),
            hours_away=np.array([-1.0 if context.hours_away is None else context.hours_away]),
        )


def session_states(
    log: InteractionLog, post: Ints, post_vectors: npt.NDArray[np.floating], rows: Ints
) -> SessionState:
    """For each of ``rows`` of ``log``, its session's state just before it: the engagements (on
    posts at positions ``post``) earlier in the session, and the hours since the user's previous
    session began (-1 for their first in the log)."""
    session, opened = log.sessions(SESSION_IDLE)
    engaged = np.flatnonzero(np.isin(log.action, [a.value for a in ENGAGEMENTS]) & (post >= 0))
    key = session.astype(np.float64) * 1e7 + (log.at - opened)  # within a session, by time
    engaged = engaged[np.argsort(key[engaged], kind="stable")]
    lo = np.searchsorted(key[engaged], session[rows] * 1e7, side="left")
    hi = np.searchsorted(key[engaged], key[rows], side="left")  # strictly before the row
    dims = post_vectors.shape[1]
    sums = np.zeros((len(engaged) + 1, dims), dtype=np.float32)
    np.cumsum(post_vectors[post[engaged]].astype(np.float32), axis=0, out=sums[1:])
    sessions = int(session.max()) + 1 if len(session) else 0
    began, owner = np.zeros(sessions), np.empty(sessions, dtype=log.user_id.dtype)
    began[session], owner[session] = opened, log.user_id
    by_user = np.lexsort((began, owner))
    previous = np.full(sessions, np.nan)
    same = owner[by_user][1:] == owner[by_user][:-1]
    previous[by_user[1:][same]] = began[by_user[:-1][same]]
    away = (began[session[rows]] - previous[session[rows]]) / 3600.0
    return SessionState(
        network=log.networks()[rows].astype(np.float64),
        engagements=(hi - lo).astype(np.float64),
        vector=unit_rows(sums[hi] - sums[lo]),
        hours_away=np.where(np.isnan(away), -1.0, away),
    )


def unit_rows(rows: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
    """Each row scaled to length 1; a zero row stays zero."""
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return np.asarray(np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0), dtype=np.float32)


@dataclass(frozen=True)
class AppOpen:
    """The app open of a user's last Explore request, and when the open before it began."""

    session_id: str
    opened_at: float
    previous_opened_at: float | None = None


@dataclass(frozen=True)
class Viewer:
    """What the online feature store knows of the person asking."""

    user_id: str
    vector: Floats | None = None
    community: int | None = None
    kinds: Floats | None = None
    tower: Floats | None = None  # the two-tower model's user vector
    recent: tuple[str, ...] = ()  # post ids of their last actions: seen, so never shown again
    engaged: tuple[tuple[str, float], ...] = ()  # (post id, when) of the engagements among them
    last_open: AppOpen | None = None
    following: frozenset[str] = frozenset()
    unsafe: frozenset[str] = frozenset()  # posts flagged since the model was built
    context: Context = Context()


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


@dataclass(frozen=True)
class Counts:
    """Raw per-post counts over a stretch of log: what ``PostStats`` smooths."""

    views: Floats
    watched: Floats  # views' watched share of the video (or dwell seconds of a photo, capped at 1)
    engaged: Floats  # posts x 4: likes, comments, shares, saves
    reports: Floats
    trending: Floats  # engagements decayed to ``now``; actions stamped in the future are ignored


def counts(
    catalogue: Catalogue, log: InteractionLog, where: Positions, now: float, half_life: float
) -> Counts:
    posts = len(catalogue)
    known = where.post >= 0

    def count(action: Action, values: Floats | None = None) -> Floats:
        rows = known & (log.action == action)
        weights = None if values is None else values[rows]
        return np.bincount(where.post[rows], weights=weights, minlength=posts).astype(np.float64)

    duration = np.where(catalogue.duration > 0, catalogue.duration, 1.0)
    fresh = known & (log.at <= now) & (log.action != Action.VIEW) & (log.action != Action.REPORT)
    decay = np.exp2(-(now - log.at[fresh]) / half_life)
    return Counts(
        views=count(Action.VIEW),
        watched=count(Action.VIEW, np.minimum(log.watch_seconds / duration[np.maximum(where.post, 0)], 1.0)),
        engaged=np.stack([count(a) for a in ENGAGEMENTS], axis=1),
        reports=count(Action.REPORT),
        trending=np.bincount(where.post[fresh], weights=decay, minlength=posts).astype(np.float64),
    )


def post_stats(
    catalogue: Catalogue, log: InteractionLog, where: Positions, now: float, half_life: float
) -> PostStats:
    seen = counts(catalogue, log, where, now, half_life)
    views = max(seen.views.sum(), 1.0)
    prior = PostStats(  # one post with the catalogue's mean rates, which smoothing pulls toward
        views=np.zeros(1),
        rates=(seen.engaged.sum(axis=0) / views)[None, :],
        watch_share=np.array([seen.watched.sum() / views]),
        quality=np.array([seen.engaged.sum() / views]),
        integrity_risk=np.array([seen.reports.sum() / views]),
        trending=np.zeros(1),
        author_reach=np.zeros(1),
    )
    return updated(_repeat(prior, len(catalogue)), seen, catalogue, decay=0.0)


def updated(stats: PostStats, seen: Counts, catalogue: Catalogue, decay: float) -> PostStats:
    """``stats`` after the actions ``seen`` counts: each smoothed rate is the posterior with the old
    rate as its prior (worth its views plus ``PRIOR_VIEWS``), so a day's batch followed by updates
    equals one batch over both logs but for the catalogue mean in the prior; trending decays by
    ``decay`` and adds the new engagements; an author's reach adds what the author earned."""
    weight = stats.views + PRIOR_VIEWS
    total = weight + seen.views
    engaged = seen.engaged.sum(axis=1)
    authors, author_of = np.unique(catalogue.author_id, return_inverse=True)
    reach = np.zeros(len(authors))
    np.maximum.at(reach, author_of, np.expm1(stats.author_reach))  # every post of an author holds the same
    reach += np.bincount(author_of, weights=engaged, minlength=len(authors))
    return PostStats(
        views=stats.views + seen.views,
        rates=(stats.rates * weight[:, None] + seen.engaged) / total[:, None],
        watch_share=(stats.watch_share * weight + seen.watched) / total,
        quality=(stats.quality * weight + engaged) / total,
        integrity_risk=(stats.integrity_risk * weight + seen.reports) / total,
        trending=stats.trending * decay + seen.trending,
        author_reach=np.log1p(reach[author_of]),
    )


def _repeat(stats: PostStats, posts: int) -> PostStats:
    return PostStats(**{f.name: np.repeat(getattr(stats, f.name), posts, axis=0) for f in fields(PostStats)})


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
    session: SessionState,
) -> npt.NDArray[np.float32]:
    """One row per (user, post) pair; columns as ``FEATURE_NAMES``.

    User and session columns are one row per pair, or a single row for one user's candidates.
    """
    kinds = catalogue.kind[posts]
    vectors = post_vectors[posts].astype(np.float32)
    taste = np.broadcast_to(user_kinds, (len(posts), len(KINDS)))
    columns = [
        np.einsum(
            "ij,ij->i",
            vectors,
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
        np.broadcast_to(session.network, len(posts)),
        np.log1p(np.broadcast_to(session.engagements, len(posts))),
        np.einsum("ij,ij->i", vectors, np.broadcast_to(session.vector, vectors.shape)),
        np.broadcast_to(session.hours_away, len(posts)),
    ]
    return np.stack(columns, axis=1).astype(np.float32)


def showable(catalogue: Catalogue, now: float, max_age: float) -> npt.NDArray[np.bool_]:
    """Posts Explore may consider at ``now``: approved, and made within the last ``max_age``."""
    return np.asarray(
        (catalogue.verdict == SHOWABLE_VERDICT)
        & (catalogue.created_at <= now)
        & (catalogue.created_at >= now - max_age)
    )


def trending_list(catalogue: Catalogue, trending: Floats, now: float, max_age: float, size: int) -> Ints:
    """The trending source: the ``size`` showable posts with the most decayed engagement, best first."""
    eligible = np.flatnonzero(showable(catalogue, now, max_age))
    best = eligible[np.argsort(-trending[eligible], kind="stable")[:size]]
    return np.asarray(best[trending[best] > 0], dtype=np.int64)
