"""A synthetic Aperture for developing and evaluating Explore.

Users have latent interests drawn around communities and a taste for photos, videos or reels;
creators have a popularity that follows a power law; each post inherits its creator's topic with
noise and has a latent quality. Sessions expose users to recent posts (from their community, from
popular creators, at random) and each exposure is answered with actions whose probabilities come
from those latents and from the session's context: each session leans its own way from the user's
taste, and on a slow network (30% of sessions) videos and reels stall. The latents are the ground
truth: they stay in ``Truth`` and never reach the training code, which sees only the ``Catalogue``
and the ``InteractionLog`` (with each action's network, as clients report it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from aperture.explore.catalogue import (
    KINDS,
    NETWORK_FAST,
    NETWORK_SLOW,
    NETWORK_UNKNOWN,
    Action,
    Catalogue,
    Floats,
    InteractionLog,
    Ints,
)

DAY = 86_400.0
_NETWORK_NAMES = {NETWORK_FAST: "4g", NETWORK_SLOW: "3g"}  # as a client would report them
RECENT = 7 * DAY  # sessions show posts of the last week, as Explore does


@dataclass(frozen=True)
class WorldSpec:
    users: int = 4_000
    posts: int = 40_000
    communities: int = 20
    creators_share: float = 0.1
    days: float = 30.0
    sessions_per_user: float = 14.0
    views_per_session: int = 20
    latent_dim: int = 16
    flagged_share: float = 0.02  # media moderation blocked or sent to review
    unmoderated_share: float = 0.01  # media whose moderation has not finished
    follows_per_user: int = 15
    # Context: each session is on a slow network or not, and leans its own way from the user's taste
    slow_network_share: float = 0.3
    slow_video_penalty: float = 1.5  # videos and reels that will not load: engagement odds x e^-1.5
    session_drift: float = 0.5  # the size of a session's lean, against the unit taste
    start: float = 1_790_000_000.0
    seed: int = 7


@dataclass(frozen=True)
class Truth:
    """What generated the world; only evaluation may look at it."""

    user_taste: Floats  # users x latent_dim, unit rows
    user_community: Ints
    post_topic: Floats  # posts x latent_dim, unit rows
    post_quality: Floats
    creator_popularity: Floats


@dataclass(frozen=True, eq=False)  # compared (and cached) by identity: it holds arrays
class World:
    spec: WorldSpec
    now: float
    user_ids: npt.NDArray[np.str_]
    catalogue: Catalogue
    interactions: InteractionLog
    follows: dict[str, set[str]]  # user -> the creators they follow
    truth: Truth


def log_rows(log: InteractionLog) -> Iterator[dict[str, Any]]:
    """The log as the offline store's lines (one action each), as the stream consumer writes them."""
    networks = log.networks()
    for n in range(len(log)):
        yield {
            "event_id": f"sim{n}",
            "user_id": str(log.user_id[n]),
            "post_id": str(log.post_id[n]),
            "action": Action(int(log.action[n])).name.lower(),
            "watch_seconds": round(float(log.watch_seconds[n]), 3),
            "at": float(log.at[n]),
            **({"network": _NETWORK_NAMES[int(networks[n])]} if networks[n] != NETWORK_UNKNOWN else {}),
        }


def _unit(rows: Floats) -> Floats:
    return np.asarray(rows / np.linalg.norm(rows, axis=1, keepdims=True), dtype=np.float64)


def _sigmoid(x: Floats) -> Floats:
    return np.asarray(1.0 / (1.0 + np.exp(-x)), dtype=np.float64)


def generate(spec: WorldSpec = WorldSpec()) -> World:
    rng = np.random.default_rng(spec.seed)
    centres = _unit(rng.normal(size=(spec.communities, spec.latent_dim)))
    community_size = rng.dirichlet(np.full(spec.communities, 2.0))
    user_community = rng.choice(spec.communities, size=spec.users, p=community_size)
    user_taste = _unit(centres[user_community] + 0.55 * rng.normal(size=(spec.users, spec.latent_dim)))
    kind_taste = rng.dirichlet(np.full(len(KINDS), 1.5), size=spec.users)
    activity = rng.lognormal(0.0, 0.6, size=spec.users)
    user_ids = np.array([f"u_sim{n:07d}" for n in range(spec.users)])

    creators = rng.choice(spec.users, size=max(1, int(spec.users * spec.creators_share)), replace=False)
    popularity = rng.pareto(1.3, size=len(creators)) + 1.0
    post_creator = rng.choice(len(creators), size=spec.posts, p=popularity**0.7 / (popularity**0.7).sum())
    author = creators[post_creator]
    post_topic = _unit(user_taste[author] + 0.45 * rng.normal(size=(spec.posts, spec.latent_dim)))
    post_kind = (rng.random((spec.posts, 1)) > np.cumsum(kind_taste[author], axis=1)[:, :-1]).sum(axis=1)
    post_quality = rng.beta(2.0, 2.0, size=spec.posts)
    created_at = np.sort(spec.start + rng.uniform(0, spec.days * DAY, size=spec.posts))
    duration = np.where(post_kind == 0, 0.0, rng.uniform(6, 60, size=spec.posts))
    verdict = rng.choice(
        np.array(["approved", "blocked", "review", "pending"]),
        size=spec.posts,
        p=[
            1 - spec.flagged_share - spec.unmoderated_share,
            spec.flagged_share / 2,
            spec.flagged_share / 2,
            spec.unmoderated_share,
        ],
    )
    catalogue = Catalogue(
        post_id=np.array([f"p_sim{n:08d}" for n in range(spec.posts)]),
        author_id=user_ids[author],
        kind=post_kind.astype(np.int64),
        created_at=created_at,
        duration=duration,
        verdict=verdict,
    )
    now = spec.start + spec.days * DAY
    follows = _follows(
        rng=rng, spec=spec, taste=user_taste, creators=creators, popularity=popularity, user_ids=user_ids
    )
    truth = Truth(user_taste, user_community.astype(np.int64), post_topic, post_quality, popularity)
    post_popularity = popularity[post_creator]
    user, post, at, session = _exposures(
        rng=rng,
        spec=spec,
        activity=activity,
        user_community=user_community,
        author=author,
        post_popularity=post_popularity,
        created_at=created_at,
    )
    # Drawn apart from the rest, so that the world's other draws are what they were without context
    context = np.random.default_rng(spec.seed + 1)
    sessions = int(session.max()) + 1 if len(session) else 0
    slow = context.random(sessions) < spec.slow_network_share
    lean = spec.session_drift * context.normal(size=(sessions, spec.latent_dim)) / np.sqrt(spec.latent_dim)
    interactions = _respond(
        rng=rng,
        spec=spec,
        truth=truth,
        kind_taste=kind_taste,
        catalogue=catalogue,
        post_popularity=post_popularity,
        exposures=(user, post, at),
        session_context=(slow[session], lean[session]),
    )
    log = InteractionLog(
        user_id=user_ids[interactions[0]],
        post_id=catalogue.post_id[interactions[1]],
        action=interactions[2],
        watch_seconds=interactions[3],
        at=interactions[4],
        network=np.where(interactions[5], NETWORK_SLOW, NETWORK_FAST).astype(np.int64),
    )
    return World(spec, now, user_ids, catalogue, log, follows, truth)


def _follows(
    *,
    rng: np.random.Generator,
    spec: WorldSpec,
    taste: Floats,
    creators: Ints,
    popularity: Floats,
    user_ids: npt.NDArray[np.str_],
) -> dict[str, set[str]]:
    """Each user follows a few creators, favouring popular ones close to their taste."""
    count = min(spec.follows_per_user, len(creators))
    follows: dict[str, set[str]] = {}
    for user in range(spec.users):
        weight = np.log(popularity) + 4.0 * taste[creators] @ taste[user]
        weight = np.exp(weight - weight.max())
        chosen = rng.choice(creators, size=count, replace=False, p=weight / weight.sum())
        follows[str(user_ids[user])] = {str(user_ids[c]) for c in chosen if c != user}
    return follows


def _exposures(
    *,
    rng: np.random.Generator,
    spec: WorldSpec,
    activity: Floats,
    user_community: Ints,
    author: Ints,
    post_popularity: Floats,
    created_at: Floats,
) -> tuple[Ints, Ints, Floats, Ints]:
    """Which recent posts each session showed: its community's, popular creators', random ones; and
    the session of each showing."""
    sessions = rng.poisson(spec.sessions_per_user * activity / activity.mean())
    session_user = np.repeat(np.arange(spec.users), sessions)
    session_at = spec.start + rng.uniform(1 * DAY, spec.days * DAY, size=len(session_user))
    user = np.repeat(session_user, spec.views_per_session)
    session = np.repeat(np.arange(len(session_user)), spec.views_per_session)
    at = np.repeat(session_at, spec.views_per_session) + rng.uniform(0, 600, size=len(user))
    source = rng.choice(3, size=len(user), p=[0.45, 0.25, 0.30])  # community, popular, random
    post = np.full(len(user), -1, dtype=np.int64)

    def recent_among(candidates: Ints, moments: Floats) -> Ints:
        times = created_at[candidates]
        lo = np.searchsorted(times, moments - RECENT)
        hi = np.searchsorted(times, moments)
        span = np.maximum(hi - lo, 0)
        pick = lo + np.floor(rng.random(len(moments)) * span).astype(np.int64)
        return np.where(span > 0, candidates[np.minimum(pick, len(candidates) - 1)], -1)

    everything = np.arange(len(created_at))
    post_community = user_community[author]
    for community in range(spec.communities):
        rows = np.flatnonzero((source == 0) & (user_community[user] == community))
        members = np.flatnonzero(post_community == community)
        if len(rows) and len(members):
            post[rows] = recent_among(members, at[rows])
    random_rows = np.flatnonzero(source == 2)
    post[random_rows] = recent_among(everything, at[random_rows])
    popular_rows = np.flatnonzero(source == 1)
    tries = np.stack([recent_among(everything, at[popular_rows]) for _ in range(4)])
    reach = np.where(tries >= 0, post_popularity[tries], -1.0)
    post[popular_rows] = tries[np.argmax(reach, axis=0), np.arange(len(popular_rows))]
    shown = post >= 0
    return user[shown], post[shown], at[shown], session[shown]


def _respond(
    *,
    rng: np.random.Generator,
    spec: WorldSpec,
    truth: Truth,
    kind_taste: Floats,
    catalogue: Catalogue,
    post_popularity: Floats,
    exposures: tuple[Ints, Ints, Floats],
    session_context: tuple[npt.NDArray[np.bool_], Floats],
) -> tuple[Ints, Ints, Ints, Floats, Floats, npt.NDArray[np.bool_]]:
    """How each exposure was answered: a view with its watch time, then any engagements. A session
    leans its own way from the user's taste, and on a slow network videos and reels do not load."""
    user, post, at = exposures
    slow, lean = session_context
    taste = _unit(truth.user_taste[user] + lean)
    affinity = np.einsum("ij,ij->i", taste, truth.post_topic[post])
    kind = catalogue.kind[post]
    taste_for_kind = np.log(kind_taste[user, kind] * len(KINDS))
    quality = truth.post_quality[post] - 0.5
    star = np.log(post_popularity[post])
    flagged = np.isin(catalogue.verdict[post], ["blocked", "review"])
    stalled = spec.slow_video_penalty * (slow & (kind != 0))
    base = 3.2 * affinity + 1.5 * quality + 0.5 * taste_for_kind + 0.15 * star + 0.8 * flagged - stalled
    watch_share = _sigmoid(base - 0.5)
    watch = np.where(
        kind == 0, rng.exponential(2.0 + 4.0 * watch_share), catalogue.duration[post] * watch_share
    )
    rows = [(user, post, np.full(len(user), Action.VIEW), watch, at, slow)]
    for action, offset in (
        (Action.LIKE, -2.3),
        (Action.COMMENT, -4.2),
        (Action.SHARE, -4.6),
        (Action.SAVE, -4.0),
    ):
        taken = rng.random(len(user)) < _sigmoid(base + offset)
        rows.append(
            (
                user[taken],
                post[taken],
                np.full(taken.sum(), action),
                np.zeros(taken.sum()),
                at[taken] + 5,
                slow[taken],
            )
        )
    reported = rng.random(len(user)) < np.where(flagged, 0.08, 0.002)
    rows.append(
        (
            user[reported],
            post[reported],
            np.full(reported.sum(), Action.REPORT),
            np.zeros(reported.sum()),
            at[reported] + 5,
            slow[reported],
        )
    )
    columns = [np.concatenate([row[i] for row in rows]) for i in range(6)]
    order = np.argsort(columns[4], kind="stable")
    return (
        columns[0][order].astype(np.int64),
        columns[1][order].astype(np.int64),
        columns[2][order].astype(np.int64),
        columns[3][order].astype(np.float64),
        columns[4][order].astype(np.float64),
        columns[5][order].astype(bool),
    )
