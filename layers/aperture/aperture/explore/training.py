"""The daily batch: embeddings, communities, trending and the ranking models, from the interaction log.

Embeddings come from a truncated SVD of the users x posts interest matrix; retrieval's first source
is the two-tower model of ``towers``, with the SVD's index kept for viewers it has no vector for.
The ranking models learn from a time split, as they will be used: features from the log up to a
cut-off, labels from what each user did with the posts they were shown after it. The served
artefact is then rebuilt from the whole log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import faiss
import lightgbm
import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.sparse.linalg import svds

from aperture.explore.catalogue import Action, Catalogue, Floats, InteractionLog, Ints, find_sorted
from aperture.explore.features import (
    ACTION_WEIGHT,
    Positions,
    PostStats,
    UserFeatures,
    kind_taste,
    pair_features,
    positions,
    post_stats,
    session_states,
    showable,
    trending_list,
    unit_rows,
)
from aperture.explore.model import TASKS, Communities, ExploreModel, LinearRanker
from aperture.explore.towers import TowerConfig, train_towers

log = logging.getLogger(__name__)
HOUR = 3600.0


def interest_matrix(log: InteractionLog, where: Positions, posts: int) -> sparse.csr_matrix:
    """users x posts, log-damped sum of action weights: what each user showed interest in."""
    weight = np.zeros(len(log))
    for action, value in ACTION_WEIGHT.items():
        weight[log.action == action] = value
    keep = (where.post >= 0) & (weight > 0)
    matrix = sparse.csr_matrix(
        (weight[keep], (where.user[keep], where.post[keep])), shape=(len(where.users), posts)
    )
    matrix.data = np.log1p(matrix.data)
    return matrix


@dataclass(frozen=True)
class TrainingConfig:
    dimensions: int = 64
    communities: int = 32
    community_size: int = 2_500
    trending_size: int = 500
    trending_half_life: float = 12 * HOUR
    label_window: float = 3 * 24 * HOUR  # the ranking models learn from the last three days' outcomes
    young_log_split: float = 0.7  # a log mostly inside the label window: features from its first 70%
    max_training_rows: int = 400_000
    min_views_to_index: int = 3
    eligible_age: float = 7 * 24 * HOUR  # Explore shows the last week's posts, as the seed's "active posts"
    recall_target: float = 0.95  # the index probes enough lists to find this share of the exact top k
    recall_k: int = 2_000
    recall_queries: int = 100
    towers: TowerConfig = field(default_factory=TowerConfig)
    seed: int = 7


@dataclass(frozen=True)
class TrainingSet:
    """The rows and labels the rankers learned from, kept in the offline store for later models."""

    rows: npt.NDArray[np.float32]
    labels: dict[str, Floats]


@dataclass(frozen=True)
class _Embedding:
    where: Positions
    users: npt.NDArray[np.float32]
    posts: npt.NDArray[np.float32]
    stats: PostStats
    communities: Communities
    user_community: Ints
    user_kinds: Floats


def _embed(
    catalogue: Catalogue, interactions: InteractionLog, now: float, config: TrainingConfig
) -> _Embedding:
    where = positions(catalogue, interactions)
    stats = post_stats(catalogue, interactions, where, now, config.trending_half_life)
    matrix = interest_matrix(interactions, where, len(catalogue))
    rank = min(config.dimensions, min(matrix.shape) - 1)
    u, s, vt = svds(matrix.astype(np.float64), k=rank, random_state=config.seed)
    users, posts = _pad(unit_rows(u * np.sqrt(s)), config), _pad(unit_rows(vt.T * np.sqrt(s)), config)
    posts[stats.views < config.min_views_to_index] = 0.0
    kmeans = faiss.Kmeans(
        users.shape[1], min(config.communities, len(users)), niter=20, seed=config.seed, spherical=True
    )
    kmeans.train(users)
    user_community = kmeans.index.search(users, 1)[1][:, 0].astype(np.int64)
    assert kmeans.centroids is not None
    communities = _communities(
        centroids=kmeans.centroids,
        user_community=user_community,
        matrix=matrix,
        catalogue=catalogue,
        now=now,
        config=config,
    )
    return _Embedding(
        where, users, posts, stats, communities, user_community, kind_taste(interactions, where, catalogue)
    )


def _pad(rows: npt.NDArray[np.float32], config: TrainingConfig) -> npt.NDArray[np.float32]:
    """Tiny worlds have fewer singular vectors than dimensions: the rest are zero."""
    padded = np.zeros((rows.shape[0], config.dimensions), dtype=np.float32)
    padded[:, : rows.shape[1]] = rows
    return padded


def _communities(
    *,
    centroids: npt.NDArray[np.float32],
    user_community: Ints,
    matrix: sparse.csr_matrix,
    catalogue: Catalogue,
    now: float,
    config: TrainingConfig,
) -> Communities:
    members = sparse.csr_matrix(
        (np.ones(len(user_community)), (user_community, np.arange(len(user_community)))),
        shape=(len(centroids), len(user_community)),
    )
    engagement = (members @ matrix).toarray()
    engagement[:, ~showable(catalogue, now, config.eligible_age)] = 0.0
    size = min(config.community_size, engagement.shape[1])
    posts = np.full((len(centroids), size), -1, dtype=np.int64)
    scores = np.zeros((len(centroids), size))
    for community, row in enumerate(engagement):
        best = np.argsort(-row, kind="stable")[:size]
        best = np.sort(best[row[best] > 0])
        posts[community, : len(best)] = best
        scores[community, : len(best)] = row[best] / max(row.max(), 1e-12)
    return Communities(np.asarray(centroids, dtype=np.float32), posts, scores)


def _community_scores(embedding: _Embedding, users: Ints, posts: Ints) -> Floats:
    scores = np.zeros(len(posts))
    community_of = np.where(users >= 0, embedding.user_community[np.maximum(users, 0)], -1)
    for community in np.unique(community_of[community_of >= 0]):
        rows = community_of == community
        scores[rows] = embedding.communities.score(int(community), posts[rows])
    return scores


def _labelled_rows(
    catalogue: Catalogue, earlier: _Embedding, later: InteractionLog, config: TrainingConfig
) -> tuple[npt.NDArray[np.float32], dict[str, Floats]]:
    """Training rows: each view after the cut-off, with what the viewer then did."""
    rng = np.random.default_rng(config.seed)
    where = positions(catalogue, later)
    user = find_sorted(earlier.where.users, later.user_id)
    views = np.flatnonzero((later.action == Action.VIEW) & (where.post >= 0))
    if len(views) > config.max_training_rows:
        views = np.sort(rng.choice(views, config.max_training_rows, replace=False))
    viewer, post = user[views], where.post[views]
    vectors = np.where((viewer >= 0)[:, None], earlier.users[np.maximum(viewer, 0)], 0.0)
    kinds = np.where((viewer >= 0)[:, None], earlier.user_kinds[np.maximum(viewer, 0)], 1.0 / 3)
    rows = pair_features(
        user_vectors=vectors,
        user_kinds=kinds,
        community_scores=_community_scores(earlier, viewer, post),
        posts=post,
        post_vectors=earlier.posts,
        stats=earlier.stats,
        catalogue=catalogue,
        now=later.at[views],
        session=session_states(later, where.post, earlier.posts, views),
    )
    pair = where.user * len(catalogue) + where.post
    labels: dict[str, Floats] = {}
    for task, action in zip(TASKS, (Action.LIKE, Action.COMMENT, Action.SHARE, Action.SAVE), strict=False):
        labels[task] = np.isin(pair[views], pair[later.action == action]).astype(np.float64)
    duration = np.where(catalogue.duration[post] > 0, catalogue.duration[post], 30.0)
    labels["watch"] = np.clip(later.watch_seconds[views] / duration, 0.0, 1.0)
    return rows, labels


def _fit_rankers(
    rows: npt.NDArray[np.float32], labels: dict[str, Floats], seed: int
) -> dict[str, lightgbm.Booster]:
    params = {
        "learning_rate": 0.08,
        "num_leaves": 31,
        "min_data_in_leaf": 100,
        "feature_fraction": 0.9,
        "verbosity": -1,
        "seed": seed,
        "deterministic": True,
        # OpenMP's default (OMP_NUM_THREADS, else every vCPU): a fixed count above what is free
        # spin-waits, three times slower when other processes share the cores.
        "num_threads": 0,
    }
    rankers = {}
    for task in TASKS:
        objective = "cross_entropy" if task == "watch" else "binary"
        data = lightgbm.Dataset(rows, label=labels[task], free_raw_data=False)
        rankers[task] = lightgbm.train({**params, "objective": objective}, data, num_boost_round=120)
    return rankers


def _fit_fallback(rows: npt.NDArray[np.float32], engaged: Floats, steps: int = 300) -> LinearRanker:
    """L2-regularised logistic regression by gradient descent on standardised features."""
    mean, scale = rows.mean(axis=0), rows.std(axis=0) + 1e-6
    x = (rows - mean) / scale
    weights, bias = (
        np.zeros(x.shape[1]),
        float(np.log(max(engaged.mean(), 1e-6) / max(1 - engaged.mean(), 1e-6))),
    )
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(x @ weights + bias)))
        weights -= 0.5 * (x.T @ (p - engaged) / len(x) + 1e-4 * weights)
        bias -= 0.5 * float((p - engaged).mean())
    return LinearRanker(mean.astype(np.float64), scale.astype(np.float64), weights, bias)


def _index(
    posts: npt.NDArray[np.float32], queries: npt.NDArray[np.float32], config: TrainingConfig
) -> faiss.Index:
    """IVF over the indexed posts, probing the fewest lists that reach the recall target."""
    indexed = np.flatnonzero(np.abs(posts).sum(axis=1) > 0)
    # about 4 * sqrt(n) lists, with the 39 training points per list that FAISS asks for
    lists = max(1, min(4096, int(4 * np.sqrt(len(indexed))), len(indexed) // 39))
    quantizer = faiss.IndexFlatIP(posts.shape[1])
    index = faiss.IndexIVFFlat(quantizer, posts.shape[1], lists, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(config.seed)
    sample = indexed if len(indexed) <= lists * 256 else rng.choice(indexed, lists * 256, replace=False)
    index.train(posts[sample] if len(sample) else np.zeros((1, posts.shape[1]), dtype=np.float32))
    index.add_with_ids(posts[indexed], indexed.astype(np.int64))
    _tune_probes(index, posts[indexed], indexed, queries, config)
    return index


def _tune_probes(
    index: faiss.Index,
    vectors: npt.NDArray[np.float32],
    ids: Ints,
    queries: npt.NDArray[np.float32],
    config: TrainingConfig,
) -> None:
    """Measure recall@k against exact search on sampled users; keep the smallest nprobe that meets it."""
    if not len(ids) or not len(queries):
        return
    rng = np.random.default_rng(config.seed)
    sample = queries[rng.choice(len(queries), min(config.recall_queries, len(queries)), replace=False)]
    k = min(config.recall_k, len(ids))
    exact = faiss.IndexIDMap(faiss.IndexFlatIP(vectors.shape[1]))
    exact.add_with_ids(vectors, ids)
    truth = exact.search(sample, k)[1]
    ivf = faiss.extract_index_ivf(index)
    for probes in (8, 16, 32, 64, 128, 256, 512, 1024):
        ivf.nprobe = min(probes, ivf.nlist)
        found = index.search(sample, k)[1]
        recall = np.mean([len(np.intersect1d(f, t)) / k for f, t in zip(found, truth, strict=True)])
        if recall >= config.recall_target or ivf.nprobe == ivf.nlist:
            log.info("IVF: %d lists, nprobe %d gives recall@%d %.3f", ivf.nlist, ivf.nprobe, k, recall)
            return


def _label_window_start(interactions: InteractionLog, now: float, config: TrainingConfig) -> float:
    """The last three days; but on a young service, whose log is mostly inside them (day one has
    minutes of it), the moment by which ``young_log_split`` of the log had happened, so that the
    rankers have both features to learn from and outcomes to learn."""
    window_start = now - config.label_window
    if len(interactions) == 0 or np.mean(interactions.at < window_start) >= 0.5:
        return window_start
    return float(np.quantile(interactions.at, config.young_log_split))


def train(
    catalogue: Catalogue,
    interactions: InteractionLog,
    now: float,
    version: str,
    config: TrainingConfig = TrainingConfig(),
) -> tuple[ExploreModel, UserFeatures, TrainingSet]:
    interactions = interactions.before(now)  # never learn from the future
    cut = _label_window_start(interactions, now, config)
    log.info("embedding the log up to the label window's start")
    earlier = _embed(catalogue, interactions.before(cut), cut, config)
    log.info("building labelled rows from the label window")
    rows, labels = _labelled_rows(catalogue, earlier, interactions.since(cut), config)
    log.info("fitting %d rankers on %d rows", len(TASKS), len(rows))
    rankers = _fit_rankers(rows, labels, config.seed)
    engaged = np.clip(sum(labels[task] for task in TASKS if task != "watch"), 0.0, 1.0)
    fallback = _fit_fallback(rows, engaged)
    log.info("embedding the whole log for serving")
    full = _embed(catalogue, interactions, now, config)
    eligible = showable(catalogue, now, config.eligible_age)
    trending = trending_list(catalogue, full.stats.trending, now, config.eligible_age, config.trending_size)
    serving_vectors = full.posts.copy()
    serving_vectors[~eligible] = 0.0  # unsafe and old posts are never retrieved
    log.info("training the two-tower retrieval model")
    towers = train_towers(catalogue, interactions, full.where, config.towers)
    tower_vectors = towers.post_vectors(catalogue, now)
    tower_vectors[~eligible] = 0.0
    model = ExploreModel(
        version=version,
        built_at=now,
        catalogue=catalogue,
        stats=full.stats,
        post_vectors=full.posts.astype(np.float16),
        index=_index(serving_vectors, full.users, config),
        towers=towers,
        tower_index=_index(tower_vectors, towers.query(towers.users), config),
        communities=full.communities,
        trending=trending,
        rankers=rankers,
        fallback=fallback,
    )
    users = UserFeatures(full.where.users, full.users, full.user_community, full.user_kinds, towers.users)
    return model, users, TrainingSet(rows, labels)
