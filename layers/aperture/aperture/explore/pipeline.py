"""Explore's serving path: retrieve about 5,000 candidates, shortlist 1,000 with the linear model,
rank those to 200 with the five tree models, filter them to a page. Both rankings predict what a
viewer does with a post once shown, given the request's context (network, the session's
engagements); each value is weighed by the two-tower model's odds that the viewer would come to
the post at all. Every tenth slot explores: it goes to the best post of the last few hours.

Every step that can fail has a stand-in, and says so in ``ExplorePage.fallbacks``: no personal
candidates -> global trending; the ranking models fail -> the linear model; that fails too -> the
trending order (a cached ranking that needs no model).

The seed's stage budgets hold at run time: the ANN search and the ranking models each run on a
worker thread that the page waits for only until its stage's budget; an overrun is served by the
next stand-in (retrieval without the ANN source; ranking by the linear model), named in
``fallbacks``, while the late work finishes unseen.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import TypeVar

import faiss
import numpy as np
import numpy.typing as npt

from aperture.explore.catalogue import KINDS, SHOWABLE_VERDICT, Floats, Ints, find_sorted
from aperture.explore.features import SessionState, Viewer, pair_features
from aperture.explore.model import TASKS, VALUE_WEIGHTS, ExploreModel

INTEREST, COMMUNITY, TRENDING = "interest", "community", "trending"
_STAGES = ThreadPoolExecutor(max_workers=4, thread_name_prefix="explore-stage")
_T = TypeVar("_T")


class OverBudget(Exception):
    """A stage's work did not finish within its budget."""


def within(budget_ms: float, work: Callable[[], _T]) -> _T:
    """``work``'s result, or ``OverBudget`` once ``budget_ms`` have passed (the work runs on)."""
    try:
        return _STAGES.submit(work).result(timeout=budget_ms / 1000)
    except FutureTimeout as error:
        raise OverBudget(f"over its {budget_ms:.0f} ms budget") from error


@dataclass(frozen=True)
class ExploreConfig:
    interest_size: int = 2_000
    community_size: int = 2_500
    trending_size: int = 500
    rerank_size: int = 1_000  # the linear model shortlists this many for the value model's trees
    ranked_size: int = 200
    page_size: int = 60
    nprobe: int | None = None  # None: the lists the batch found necessary for its recall target
    max_age: float = 7 * 86_400.0  # only the last week's posts are shown
    author_discount: float = 0.8  # each earlier pick by the same author multiplies the value by this
    max_kind_share: float = 0.6  # no content kind fills more of a page than this
    quality_percentile: float = 10.0  # posts below this percentile of quality are not shown
    max_integrity_risk: float = 0.02  # smoothed reports per view above which a post is not shown
    retrieval_budget_ms: float = 50.0  # the seed's stage budgets: the ANN search...
    ranking_budget_ms: float = 200.0  # ...and the ranking models
    # How much the two-tower model's odds that the viewer comes to a post weigh in its value. On the
    # simulated world before sessions and networks (bench explore_quality): 0 -> NDCG@50 0.0108,
    # 0.5 -> 0.0354, 1 -> 0.0370, 2 -> 0.0379. 1 is the plain product: what a post is worth if shown,
    # times the odds it is theirs.
    reach_weight: float = 1.0
    # Every this many slots, one goes to the best new post (made in the last ``new_post_hours``), so
    # that a post meets an audience within minutes and its rates are learned from it; 0: never.
    explore_every: int = 10
    new_post_hours: float = 6.0
    # How far the engagements since the app opened turn the viewer's two-tower query. In-session
    # pages on the simulated world (bench explore_quality, 300 sessions): 0, 0.25, 0.5, 1 and 2 gave
    # NDCG@50 0.0232, 0.0237, 0.0237, 0.0177, 0.0174 and recall@200 0.137, 0.146, 0.137, 0.127, 0.103.
    session_weight: float = 0.25


@dataclass(frozen=True)
class Pick:
    post_id: str
    author_id: str
    kind: str
    source: str
    score: float


@dataclass
class ExplorePage:
    items: list[Pick]
    model_version: str
    fallbacks: list[str] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    candidates: int = 0


@dataclass(frozen=True)
class _Candidates:
    posts: Ints
    sources: npt.NDArray[np.int8]  # index into SOURCES


SOURCES = (INTEREST, COMMUNITY, TRENDING)


class Explore:
    def __init__(self, model: ExploreModel, config: ExploreConfig = ExploreConfig()) -> None:
        self.model = model
        self.config = config
        if config.nprobe is not None:
            faiss.extract_index_ivf(model.index).nprobe = config.nprobe
        order = np.argsort(model.catalogue.post_id)
        self._post_ids, self._post_order = model.catalogue.post_id[order], order
        rated = model.stats.views >= 3
        qualities = model.stats.quality[rated] if rated.any() else model.stats.quality
        self.quality_floor = (
            float(np.percentile(qualities, config.quality_percentile)) if len(qualities) else 0.0
        )

    # ------------------------------------------------------------------ the page
    def page(self, viewer: Viewer, now: float) -> ExplorePage:
        page = ExplorePage(items=[], model_version=self.model.version)
        started = time.perf_counter()
        vector, tower = self._vector(viewer), self._tower_vector(viewer)
        candidates = self._retrieve(viewer, vector, tower, now, page)
        page.candidates = len(candidates.posts)
        page.timings_ms["retrieval"] = _ms(started)
        stage = time.perf_counter()
        ranked, values = self._rank(viewer, (vector, tower), candidates.posts, now, page)
        page.timings_ms["ranking"] = _ms(stage)
        stage = time.perf_counter()
        sources = candidates.sources[ranked]
        page.items = self._filter(viewer, candidates.posts[ranked], values, sources, now)
        page.timings_ms["filters"] = _ms(stage)
        page.timings_ms["total"] = _ms(started)
        return page

    def _positions(self, post_ids: tuple[str, ...] | frozenset[str]) -> Ints:
        at = find_sorted(self._post_ids, np.array(sorted(post_ids), dtype=self._post_ids.dtype))
        return np.asarray(self._post_order[at[at >= 0]], dtype=np.int64)

    def _vector(self, viewer: Viewer) -> Floats | None:
        """The batch's embedding, or one folded in from what they just engaged with (new users)."""
        if viewer.vector is not None and np.any(viewer.vector):
            return viewer.vector
        recent = self.model.post_vectors[self._positions(viewer.recent)].astype(np.float32)
        folded = recent.sum(axis=0) if len(recent) else np.zeros(0)
        norm = float(np.linalg.norm(folded)) if len(folded) else 0.0
        return folded / norm if norm > 0 else None

    # ------------------------------------------------------------------ stage 1
    def _retrieve(
        self, viewer: Viewer, vector: Floats | None, tower: Floats | None, now: float, page: ExplorePage
    ) -> _Candidates:
        config, model = self.config, self.model
        personal: list[tuple[Ints, int]] = []
        interest = self._interest_query(vector, tower, page)
        if interest is not None:
            index, query = interest
            try:
                found = within(config.retrieval_budget_ms, lambda: self._nearest(index, query))
                personal.append((found, 0))
            except OverBudget:
                page.fallbacks.append("retrieval_over_budget")  # community and trending still personalise
        if vector is not None:
            community = viewer.community if viewer.community is not None else model.communities.of(vector)
            personal.append((model.communities.top(community, config.community_size), 1))
        sources = [*personal, (model.trending[: config.trending_size], 2)]
        candidates = self._eligible(viewer, sources, now)
        if not np.any(candidates.sources < 2):
            page.fallbacks.append("global_trending")  # nothing personal: the whole trending list stands in
            candidates = self._eligible(viewer, [(model.trending, 2)], now)
        return candidates

    def _tower_vector(self, viewer: Viewer) -> Floats | None:
        """The batch's two-tower vector, or one folded in from what they just acted on; leaning
        toward what they engaged with since the app opened."""
        towers = self.model.towers
        if towers is None:
            return None
        known = (
            viewer.tower is not None and len(viewer.tower) == towers.users.shape[1] and np.any(viewer.tower)
        )
        user = viewer.tower if known else towers.fold(self.model.catalogue, self._positions(viewer.recent))
        session = towers.fold(self.model.catalogue, self._positions(viewer.context.session_posts))
        if user is None or session is None or not self.config.session_weight:
            return user if user is not None else session
        leaning = user + self.config.session_weight * session
        return np.asarray(leaning / np.linalg.norm(leaning), dtype=np.float64)

    def _interest_query(
        self, vector: Floats | None, tower: Floats | None, page: ExplorePage
    ) -> tuple[faiss.Index, npt.NDArray[np.float32]] | None:
        """The two-tower index and the viewer's query for it; the SVD's when the viewer has no
        two-tower vector (features from an older batch) and no recent actions to fold one from."""
        towers, index = self.model.towers, self.model.tower_index
        if towers is not None and index is not None:
            if tower is not None:
                return index, towers.query(tower)
            if vector is not None:
                page.fallbacks.append("svd_retrieval")
        return (self.model.index, vector.astype(np.float32)[None, :]) if vector is not None else None

    def _nearest(self, index: faiss.Index, query: npt.NDArray[np.float32]) -> Ints:
        """The index's ``interest_size`` nearest posts; the two-tower index's together with the posts
        a refresh added since the batch, best first."""
        scores, found = index.search(query, self.config.interest_size)
        fresh = self.model.fresh_index
        if index is self.model.tower_index and fresh is not None and fresh.ntotal:
            more = fresh.search(query, min(self.config.interest_size, fresh.ntotal))
            scores, found = np.hstack([scores, more[0]]), np.hstack([found, more[1]])
            found = found[:, np.argsort(-scores[0], kind="stable")[: self.config.interest_size]]
        return np.asarray(found[0][found[0] >= 0], dtype=np.int64)

    def _eligible(self, viewer: Viewer, sources: list[tuple[Ints, int]], now: float) -> _Candidates:
        """Deduplicated (the first source to find a post keeps it) and stripped of what must not show."""
        posts = np.concatenate([found for found, _ in sources]) if sources else np.zeros(0, np.int64)
        labels = (
            np.concatenate([np.full(len(found), s, np.int8) for found, s in sources]) if sources else posts
        )
        posts, first = np.unique(posts, return_index=True)
        keep = self.may_show(viewer, posts, now)
        return _Candidates(posts[keep], labels[first][keep].astype(np.int8))

    def may_show(self, viewer: Viewer, posts: Ints, now: float) -> npt.NDArray[np.bool_]:
        """Which ``posts`` the viewer may be shown: approved, of the last week, not their own, not by
        someone they follow, not one they have acted on."""
        catalogue = self.model.catalogue
        return np.asarray(
            (catalogue.verdict[posts] == SHOWABLE_VERDICT)
            & (catalogue.created_at[posts] <= now)
            & (catalogue.created_at[posts] >= now - self.config.max_age)
            & (catalogue.author_id[posts] != viewer.user_id)
            & ~np.isin(catalogue.author_id[posts], list(viewer.following))
            & ~np.isin(posts, self._positions(viewer.recent))
        )

    # ------------------------------------------------------------------ stage 2
    def _rank(
        self,
        viewer: Viewer,
        vectors: tuple[Floats | None, Floats | None],
        posts: Ints,
        now: float,
        page: ExplorePage,
    ) -> tuple[Ints, Floats]:
        """Positions (into ``posts``) of the best ``ranked_size``, and their values."""
        if not len(posts):
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        model, (vector, tower) = self.model, vectors
        reach = self._reach(tower, posts, now)
        dimensions = model.post_vectors.shape[1]
        community = (
            viewer.community
            if viewer.community is not None
            else (model.communities.of(vector) if vector is not None else -1)
        )
        rows = pair_features(
            user_vectors=vector[None, :] if vector is not None else np.zeros((1, dimensions)),
            user_kinds=viewer.kinds if viewer.kinds is not None else np.full(len(KINDS), 1.0 / len(KINDS)),
            community_scores=model.communities.score(community, posts),
            posts=posts,
            post_vectors=model.post_vectors,
            stats=model.stats,
            catalogue=model.catalogue,
            now=now,
            session=SessionState.of(
                viewer.context, model.post_vectors[self._positions(viewer.context.session_posts)]
            ),
        )
        shortlist = self._shortlist(rows, posts, reach)
        rows, kinds = rows[shortlist], model.catalogue.kind[posts[shortlist]]
        try:
            values = within(self.config.ranking_budget_ms, lambda: self._value(rows))
        except Exception as error:
            page.fallbacks.append("ranking_over_budget" if isinstance(error, OverBudget) else "simpler_model")
            try:
                values = model.fallback.engagement(rows)
            except Exception:
                page.fallbacks.append("cached_ranking")
                values = model.stats.trending[posts[shortlist]].astype(np.float64)
        values = values * reach[shortlist]
        new = self._new(posts[shortlist], now)
        best = _best(values, kinds, self.config.ranked_size, new, self.config.explore_every)
        return shortlist[best], values[best]

    def _shortlist(self, rows: npt.NDArray[np.float32], posts: Ints, reach: Floats) -> Ints:
        """Positions of the candidates the value model ranks: the linear model's best
        ``rerank_size``, since five tree models over every candidate were most of a page's time."""
        if len(rows) <= self.config.rerank_size:
            return np.arange(len(rows))
        try:
            scores = self.model.fallback.engagement(rows) * reach
        except Exception:
            return np.arange(len(rows))  # the trees rank them all, as before shortlisting
        return _best(scores, self.model.catalogue.kind[posts], self.config.rerank_size)

    def _reach(self, tower: Floats | None, posts: Ints, now: float) -> Floats:
        """How likely the viewer is to come to each post by themselves, by the two-tower model: its
        softmax numerator against the best candidate's, to the power ``reach_weight``. The value model
        predicts what a viewer does with a post once shown; this weighs in whether it is theirs."""
        towers = self.model.towers
        if towers is None or tower is None or not self.config.reach_weight:
            return np.ones(len(posts))
        vectors = towers.post_vectors(self.model.catalogue, now, posts)
        logits = (vectors @ towers.query(tower)[0]).astype(np.float64) / towers.temperature
        return np.asarray(np.exp(self.config.reach_weight * (logits - logits.max())), dtype=np.float64)

    def _new(self, posts: Ints, now: float) -> npt.NDArray[np.bool_]:
        return np.asarray(self.model.catalogue.created_at[posts] >= now - self.config.new_post_hours * 3600.0)

    def _value(self, rows: npt.NDArray[np.float32]) -> Floats:
        value = np.zeros(len(rows))
        for task in TASKS:
            ranker = self.model.rankers[task]  # one from before the context columns reads those before
            value += VALUE_WEIGHTS[task] * np.asarray(
                ranker.predict(rows[:, : ranker.num_feature()], num_threads=1)
            )
        return value

    # ------------------------------------------------------------------ stage 3
    def _filter(
        self, viewer: Viewer, posts: Ints, values: Floats, sources: npt.NDArray[np.int8], now: float
    ) -> list[Pick]:
        model, config = self.model, self.config
        catalogue, stats = model.catalogue, model.stats
        safe = (
            (catalogue.verdict[posts] == SHOWABLE_VERDICT)
            & ~np.isin(catalogue.post_id[posts], list(viewer.unsafe))
            & (stats.integrity_risk[posts] <= config.max_integrity_risk)
        )
        keep = safe & (stats.quality[posts] >= self.quality_floor)
        posts, values, sources = posts[keep], values[keep], sources[keep]
        authors, kinds = catalogue.author_id[posts], catalogue.kind[posts]
        kind_cap = max(1, int(np.ceil(config.max_kind_share * config.page_size)))
        chosen: list[Pick] = []
        adjusted = values.astype(np.float64)  # each pick of an author discounts their other posts
        shown_of_kind = np.zeros(len(KINDS), dtype=np.int64)
        open_ = np.ones(len(posts), dtype=bool)
        new = self._new(posts, now)
        while len(chosen) < config.page_size:
            allowed = open_.copy()
            if chosen:
                allowed &= authors != chosen[-1].author_id
            balanced = allowed & (shown_of_kind[kinds] < kind_cap)
            pool = balanced if balanced.any() else allowed
            if config.explore_every and len(chosen) % config.explore_every == config.explore_every - 1:
                pool = pool & new if (pool & new).any() else pool  # an exploration slot
            if not pool.any():
                break
            best = int(np.argmax(np.where(pool, adjusted, -np.inf)))
            open_[best] = False
            shown_of_kind[kinds[best]] += 1
            chosen.append(
                Pick(
                    post_id=str(catalogue.post_id[posts[best]]),
                    author_id=str(authors[best]),
                    kind=KINDS[int(kinds[best])],
                    source=SOURCES[int(sources[best])],
                    score=round(float(adjusted[best]), 6),
                )
            )
            adjusted[authors == authors[best]] *= config.author_discount
        return chosen


def _best(
    values: Floats,
    kinds: Ints,
    size: int,
    new: npt.NDArray[np.bool_] | None = None,
    explore_every: int = 0,
) -> Ints:
    """Positions of the ``size`` highest values, highest first, and of each kind's best
    ``size / kinds`` besides, so that the page can still balance content types, and of the best
    ``size / explore_every`` ``new`` posts, for the page's exploration slots."""
    order = np.argsort(-values, kind="stable")
    reserve = size // len(KINDS)
    reserved = [order[kinds[order] == kind][:reserve] for kind in range(len(KINDS))]
    if new is not None and explore_every:
        reserved.append(order[new[order]][: size // explore_every])
    best = np.unique(np.concatenate([order[:size], *reserved]))
    return best[np.argsort(-values[best], kind="stable")]


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000.0
