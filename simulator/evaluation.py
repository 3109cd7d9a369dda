"""Offline evaluation of Explore on held-out simulated interactions.

The models are trained on the log before a cut-off; each evaluated user's engagements after it
(likes, comments, shares, saves, graded by the same action weights as training) are the relevant
posts. Explore's full pipeline, a popularity ranking and a random ranking each list 200 posts under
the same rules (no seen, own, followed-author or unsafe posts); NDCG@50 and recall@200 compare them.
Retrieval alone is scored too: each index's 200 nearest showable posts, two-tower against SVD.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache

import faiss
import numpy as np
import numpy.typing as npt

from aperture.explore.catalogue import ENGAGEMENTS, SHOWABLE_VERDICT, Action, Floats, InteractionLog
from aperture.explore.features import (
    ACTION_WEIGHT,
    SESSION_IDLE,
    Context,
    UserFeatures,
    Viewer,
    positions,
    session_states,
)
from aperture.explore.model import ExploreModel
from aperture.explore.pipeline import Explore, ExploreConfig
from aperture.explore.refresh import build_refresh
from aperture.explore.training import TrainingConfig, train

from .world import DAY, World

log = logging.getLogger(__name__)
RECENT_ACTIONS = 100
# Stage budgets no loaded machine misses: a quality measure must not depend on the machine's load
UNHURRIED = ExploreConfig(retrieval_budget_ms=60_000.0, ranking_budget_ms=60_000.0)
_LONG_PAGES = replace(UNHURRIED, ranked_size=400, page_size=200)  # deep enough for recall@200
RETRIEVAL_TWO_TOWER, RETRIEVAL_SVD = "retrieval alone: two-tower", "retrieval alone: SVD"


@dataclass(frozen=True)
class Scores:
    ranker: str
    ndcg_at_50: float
    recall_at_200: float
    users: int


def ndcg(ranked: list[str], relevance: dict[str, float], k: int) -> float:
    gains = [relevance.get(post, 0.0) for post in ranked[:k]]
    dcg = sum(g / np.log2(i + 2) for i, g in enumerate(gains))
    ideal = sorted(relevance.values(), reverse=True)[:k]
    best = sum(g / np.log2(i + 2) for i, g in enumerate(ideal))
    return float(dcg / best) if best > 0 else 0.0


def recall(ranked: list[str], relevance: dict[str, float], k: int) -> float:
    return len(set(ranked[:k]) & relevance.keys()) / len(relevance) if relevance else 0.0


def viewers(world: World, history: InteractionLog, users: UserFeatures) -> dict[str, Viewer]:
    """What the online store would hold for each user at the cut-off."""
    index = {user: n for n, user in enumerate(users.user_id)}
    recent: dict[str, list[str]] = {}
    for user, post in zip(history.user_id[::-1], history.post_id[::-1], strict=True):
        seen = recent.setdefault(str(user), [])
        if len(seen) < RECENT_ACTIONS and post not in seen:
            seen.append(str(post))
    result = {}
    for user in world.user_ids:
        n = index.get(str(user))
        result[str(user)] = Viewer(
            user_id=str(user),
            vector=users.vector[n] if n is not None else None,
            community=int(users.community[n]) if n is not None else None,
            kinds=users.kinds[n] if n is not None else None,
            tower=users.tower[n] if n is not None else None,
            recent=tuple(recent.get(str(user), ())),
            following=frozenset(world.follows.get(str(user), set())),
        )
    return result


def relevant(world: World, held_out: InteractionLog, viewer: Viewer, cut: float) -> dict[str, float]:
    """The posts the user engaged with after the cut-off that Explore could have shown them."""
    author, verdict, created = _lookups(world)
    grades: dict[str, float] = {}
    rows = np.flatnonzero((held_out.user_id == viewer.user_id) & (held_out.action != Action.VIEW))
    for row in rows:
        post, action = str(held_out.post_id[row]), Action(int(held_out.action[row]))
        if action not in ACTION_WEIGHT or post in viewer.recent or verdict[post] != SHOWABLE_VERDICT:
            continue
        if created[post] >= cut:  # posted after the models were built: no offline ranker can know it
            continue
        if author[post] in viewer.following or author[post] == viewer.user_id:
            continue
        grades[post] = grades.get(post, 0.0) + ACTION_WEIGHT[action]
    return grades


@cache
def _lookups(world: World) -> tuple[dict[str, str], dict[str, str], dict[str, float]]:
    catalogue = world.catalogue
    ids = catalogue.post_id.tolist()
    return (
        dict(zip(ids, catalogue.author_id.tolist(), strict=True)),
        dict(zip(ids, catalogue.verdict.tolist(), strict=True)),
        dict(zip(ids, catalogue.created_at.tolist(), strict=True)),
    )


@dataclass(frozen=True)
class _Trained:
    cut: float
    history: InteractionLog  # what the batch learned from
    held_out: InteractionLog  # everything after it
    model: ExploreModel
    users: UserFeatures


@cache
def _trained(world: World, holdout_days: float) -> _Trained:
    """The batch at the cut-off: the posts made and the actions taken before it, and nothing after."""
    cut = world.now - holdout_days * DAY
    history = world.interactions.before(cut)
    posts = world.catalogue.where(world.catalogue.created_at < cut)
    model, users, _ = train(posts, history, cut, "evaluation", TrainingConfig())
    return _Trained(cut, history, world.interactions.since(cut), model, users)


def evaluate(world: World, holdout_days: float = 2.0, max_users: int = 600, seed: int = 11) -> list[Scores]:
    trained = _trained(world, holdout_days)
    cut, held_out, model = trained.cut, trained.held_out, trained.model
    explore = Explore(model, _LONG_PAGES)
    people = viewers(world, trained.history, trained.users)
    engaged = np.unique(held_out.user_id[held_out.action != Action.VIEW])
    rng = np.random.default_rng(seed)
    chosen = rng.choice(engaged, size=min(max_users, len(engaged)), replace=False)
    catalogue = world.catalogue
    live = np.flatnonzero((catalogue.verdict == SHOWABLE_VERDICT) & (catalogue.created_at <= cut))
    popularity = live[np.argsort(-model.stats.trending[live], kind="stable")]

    def allowed(viewer: Viewer) -> Callable[[int], bool]:
        seen = set(viewer.recent)
        return lambda p: (
            catalogue.author_id[p] not in viewer.following
            and catalogue.author_id[p] != viewer.user_id
            and catalogue.post_id[p] not in seen
        )

    def by_popularity(viewer: Viewer) -> list[str]:
        ok = allowed(viewer)
        return [str(catalogue.post_id[p]) for p in popularity[:2000] if ok(p)][:200]

    def at_random(viewer: Viewer) -> list[str]:
        ok = allowed(viewer)
        recent = live[catalogue.created_at[live] >= cut - 7 * DAY]
        return [str(catalogue.post_id[p]) for p in rng.permutation(recent)[:400] if ok(p)][:200]

    def by_explore(viewer: Viewer) -> list[str]:
        return [pick.post_id for pick in explore.page(viewer, cut).items]

    def retrieved(index: faiss.Index, query: npt.NDArray[np.float32], viewer: Viewer) -> list[str]:
        """Retrieval alone: the index's nearest posts, in its order, less what may not be shown."""
        found = index.search(query, explore.config.interest_size)[1][0]
        found = found[found >= 0]
        return [str(post) for post in catalogue.post_id[found[explore.may_show(viewer, found, cut)]][:200]]

    def by_two_tower(viewer: Viewer) -> list[str]:
        assert model.towers is not None
        assert model.tower_index is not None
        if viewer.tower is None:
            return []
        return retrieved(model.tower_index, model.towers.query(viewer.tower), viewer)

    def by_svd(viewer: Viewer) -> list[str]:
        if viewer.vector is None:
            return []
        return retrieved(model.index, viewer.vector.astype(np.float32)[None, :], viewer)

    rankers = {
        "explore (two-stage)": by_explore,
        "popularity": by_popularity,
        "random": at_random,
        RETRIEVAL_TWO_TOWER: by_two_tower,
        RETRIEVAL_SVD: by_svd,
    }
    totals = {name: [0.0, 0.0, 0] for name in rankers}
    for user in chosen:
        viewer = people[str(user)]
        grades = relevant(world, held_out, viewer, cut)
        if not grades:
            continue
        for name, rank in rankers.items():
            listed = rank(viewer)
            totals[name][0] += ndcg(listed, grades, 50)
            totals[name][1] += recall(listed, grades, 200)
            totals[name][2] += 1
    return _scores(totals)


Acted = dict[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.str_]]]  # moments (ascending) and posts
WITH_CONTEXT, WITHOUT_CONTEXT = "explore, with the session's context", "explore, without it"


def evaluate_context(
    world: World, *, holdout_days: float = 2.0, max_users: int = 600, seed: int = 11
) -> list[Scores]:
    """Explore asked in a session, right after its first engagement, with and without the request's
    context (the session's network, that engagement, the hours since the session before); relevant
    are the posts engaged with in the rest of the session. One session per user: the first after
    the cut-off with two engagements or more on posts the model knows."""
    trained = _trained(world, holdout_days)
    model, held_out = trained.model, trained.held_out
    explore = Explore(model, _LONG_PAGES)
    people = viewers(world, trained.history, trained.users)
    session, _ = held_out.sessions(SESSION_IDLE)
    known = positions(model.catalogue, held_out).post  # -1: made after the cut-off, unknown to the model
    states = session_states(held_out, known, model.post_vectors, np.arange(len(held_out)))
    engaged = np.flatnonzero(np.isin(held_out.action, [a.value for a in ENGAGEMENTS]) & (known >= 0))
    acted = _actions_by_user(held_out)
    rng = np.random.default_rng(seed)
    totals = {WITH_CONTEXT: [0.0, 0.0, 0], WITHOUT_CONTEXT: [0.0, 0.0, 0]}
    for user in rng.permutation(np.unique(held_out.user_id[engaged])):
        mine = engaged[held_out.user_id[engaged] == user]
        sessions, counts = np.unique(session[mine], return_counts=True)
        if not (counts >= 2).any():
            continue
        rows = mine[session[mine] == sessions[np.argmax(counts >= 2)]]
        first, rest = rows[0], rows[1:]
        moment = float(held_out.at[first])
        viewer = _as_of(people[str(user)], acted, moment, including=True)  # the first engagement too
        grades: dict[str, float] = {}
        for row in rest:
            post = str(held_out.post_id[row])
            if post not in viewer.recent:
                grades[post] = grades.get(post, 0.0) + ACTION_WEIGHT[Action(int(held_out.action[row]))]
        if not grades:
            continue
        context = Context(
            network=int(held_out.networks()[first]),
            session_posts=(str(held_out.post_id[first]),),
            hours_away=None if states.hours_away[first] < 0 else float(states.hours_away[first]),
        )
        for name, asked in ((WITH_CONTEXT, context), (WITHOUT_CONTEXT, Context())):
            listed = [pick.post_id for pick in explore.page(replace(viewer, context=asked), moment).items]
            totals[name][0] += ndcg(listed, grades, 50)
            totals[name][1] += recall(listed, grades, 200)
            totals[name][2] += 1
        if totals[WITH_CONTEXT][2] >= max_users:
            break
    return _scores(totals)


@dataclass(frozen=True)
class Freshness:
    """How soon Explore shows the posts of the day after its batch (see ``freshness``)."""

    posts: int  # made that day, approved, and engaged with the same day
    shown: int  # of which some Explore page showed during the day
    shown_before_engagement: int  # retrieved from their creator and kind before anyone engaged
    shown_within_15_minutes: int  # of their first engagement
    minutes_to_first_impression: float | None  # median; None when fewer than half were shown
    p75_minutes_to_first_impression: float | None
    minutes_from_creation_to_first_impression: float | None  # median
    minutes_to_next_batch: float  # median, the daily batch alone: the soonest it could show them
    pages: int


def freshness(
    world: World,
    *,
    holdout_days: float = 2.0,
    refresh_every: float = 600.0,
    pickup: float = 300.0,
    panel: int = 40,
    seed: int = 11,
) -> Freshness:
    """The day after the batch, simulated: the refresh runs every ``refresh_every`` seconds on the
    posts and the log so far, and serving picks each up ``pickup`` seconds later (the model cache's
    re-check, at its slowest). Explore is opened at each session of the world's day, and by a panel
    of ``panel`` of the day's users after each refresh: the world's 4,000 users open it a few
    thousand times a day, too seldom for a post to meet its audience within minutes, as it would
    among millions. For each post made that day and engaged with: the minutes from its first
    engagement to its first impression (0 when shown before it)."""
    trained = _trained(world, holdout_days)
    cut, model = trained.cut, trained.model
    day = trained.held_out.before(cut + DAY)
    catalogue = world.catalogue
    people = viewers(world, trained.history, trained.users)
    served: dict[float, Explore] = {}
    config = UNHURRIED

    def explore_at(moment: float) -> Explore:
        tick = cut + np.floor((moment - pickup - cut) / refresh_every) * refresh_every
        if tick < cut + refresh_every:
            return served.setdefault(cut, Explore(model, config))
        if tick not in served:
            served.clear()
            made = catalogue.where((catalogue.created_at >= cut - DAY) & (catalogue.created_at < tick))
            served[tick] = Explore(
                model.refreshed(build_refresh(model, made, day.before(tick), tick)), config
            )
        return served[tick]

    sessions = _sessions(day)
    active = sorted({user for _, user in sessions})
    chosen = np.random.default_rng(seed).choice(len(active), size=min(panel, len(active)), replace=False)
    visits = [
        (tick + pickup, active[n])
        for tick in np.arange(cut + refresh_every, cut + DAY, refresh_every).tolist()
        for n in chosen
    ]
    acted = _actions_by_user(day)
    first_seen: dict[str, float] = {}
    opens = sorted([*sessions, *visits])
    for n, (moment, user) in enumerate(opens):
        for pick in explore_at(moment).page(_as_of(people[user], acted, moment), moment).items:
            first_seen.setdefault(pick.post_id, moment)
        if n % 500 == 0:
            log.info("freshness: page %d of %d", n, len(opens))
    engaged = day.where(np.isin(day.action, [a.value for a in ENGAGEMENTS]))
    first_engaged: dict[str, float] = {}
    for post, moment in zip(engaged.post_id.tolist(), engaged.at.tolist(), strict=True):
        first_engaged.setdefault(post, moment)
    made_today = (catalogue.created_at >= cut) & (catalogue.verdict == SHOWABLE_VERDICT)
    fresh = [p for p in catalogue.post_id[made_today].tolist() if p in first_engaged]
    shown = np.array([first_seen.get(p, np.inf) for p in fresh])
    engaged_at = np.array([first_engaged[p] for p in fresh])
    delays = np.maximum(shown - engaged_at, 0.0) / 60.0
    made_at = dict(zip(catalogue.post_id.tolist(), catalogue.created_at.tolist(), strict=True))
    return Freshness(
        posts=len(fresh),
        shown=int(np.isfinite(delays).sum()),
        shown_before_engagement=int((shown <= engaged_at).sum()),
        shown_within_15_minutes=int((delays <= 15.0).sum()),
        minutes_to_first_impression=_quantile(delays, 0.5),
        p75_minutes_to_first_impression=_quantile(delays, 0.75),
        minutes_from_creation_to_first_impression=_quantile(
            (shown - np.array([made_at[p] for p in fresh])) / 60.0, 0.5
        ),
        minutes_to_next_batch=float(np.median((cut + DAY - engaged_at) / 60.0)),
        pages=len(opens),
    )


def _scores(totals: dict[str, list[float]]) -> list[Scores]:
    """Mean NDCG@50 and recall@200 from totals of [ndcg, recall, users]."""
    return [
        Scores(name, ndcg_at_50=t[0] / max(t[2], 1), recall_at_200=t[1] / max(t[2], 1), users=int(t[2]))
        for name, t in totals.items()
    ]


def _as_of(viewer: Viewer, acted: Acted, moment: float, *, including: bool = False) -> Viewer:
    """The viewer at ``moment``: their actions of the held-out time before it (and at it, with
    ``including``), newest first, ahead of what the batch knew."""
    moments, posts = acted[viewer.user_id]
    before = posts[: np.searchsorted(moments, moment, side="right" if including else "left")][::-1]
    return replace(viewer, recent=tuple(dict.fromkeys([*before.tolist(), *viewer.recent]))[:RECENT_ACTIONS])


def _actions_by_user(log: InteractionLog) -> Acted:
    """Each user's action moments (ascending) and posts."""
    order = np.lexsort((log.at, log.user_id))
    users, moments, posts = log.user_id[order], log.at[order], log.post_id[order]
    cuts = np.flatnonzero(users[1:] != users[:-1]) + 1
    groups = zip(np.split(users, cuts), np.split(moments, cuts), np.split(posts, cuts), strict=True)
    return defaultdict(
        lambda: (np.zeros(0), np.zeros(0, dtype=np.str_)),
        {str(u[0]): (m, p) for u, m, p in groups if len(u)},
    )


def _sessions(log: InteractionLog) -> list[tuple[float, str]]:
    """(moment, user) of each session's start, in time order."""
    session, opened = log.sessions(SESSION_IDLE)
    first = np.unique(session, return_index=True)[1]
    return sorted(zip(opened[first].tolist(), log.user_id[first].tolist(), strict=True))


def _quantile(values: Floats, q: float) -> float | None:
    """The ``q`` quantile of values that may be infinite (never shown); None when it is."""
    if not len(values):
        return None
    value = float(np.quantile(values, q, method="inverted_cdf"))
    return round(value, 2) if np.isfinite(value) else None
