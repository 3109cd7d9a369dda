"""Offline evaluation of Explore on held-out simulated interactions.

The models are trained on the log before a cut-off; each evaluated user's engagements after it
(likes, comments, shares, saves, graded by the same action weights as training) are the relevant
posts. Explore's full pipeline, a popularity ranking and a random ranking each list 200 posts under
the same rules (no seen, own, followed-author or unsafe posts); NDCG@50 and recall@200 compare them.
Retrieval alone is scored too: each index's 200 nearest showable posts, two-tower against SVD.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import faiss
import numpy as np
import numpy.typing as npt

from aperture.explore.catalogue import SHOWABLE_VERDICT, Action, InteractionLog
from aperture.explore.features import ACTION_WEIGHT, UserFeatures, Viewer
from aperture.explore.pipeline import Explore, ExploreConfig
from aperture.explore.training import TrainingConfig, train

from .world import DAY, World

RECENT_ACTIONS = 100
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


def evaluate(world: World, holdout_days: float = 2.0, max_users: int = 600, seed: int = 11) -> list[Scores]:
    cut = world.now - holdout_days * DAY
    history, held_out = world.interactions.before(cut), world.interactions.since(cut)
    model, users, _ = train(world.catalogue, history, cut, "evaluation", TrainingConfig())
    explore = Explore(model, ExploreConfig(ranked_size=400, page_size=200))
    people = viewers(world, history, users)
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
    return [
        Scores(name, ndcg_at_50=t[0] / max(t[2], 1), recall_at_200=t[1] / max(t[2], 1), users=int(t[2]))
        for name, t in totals.items()
    ]
