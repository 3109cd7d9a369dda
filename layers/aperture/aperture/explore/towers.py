"""Explore's learned retrieval: a two-tower model trained on the log with in-batch negatives.

The post tower embeds what a post is: its creator, its kind and, damped, its own id (which only
posts with a history have learned); the user tower embeds who asks. A pair scores the towers'
cosine over a temperature plus a learned bias for the post's age at the moment of the action, since
Explore's posts are at most a week old and interest in them fades within it. The age bias rides as
one more dimension of each post's vector, so FAISS's inner-product index serves the whole score.

A post the batch never saw is embedded from its creator and kind: retrievable before its first view.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from aperture.explore.catalogue import KINDS, Action, Catalogue, Floats, InteractionLog, Ints, find_sorted
from aperture.explore.features import ACTION_WEIGHT, Positions

log = logging.getLogger(__name__)
Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True)
class TowerConfig:
    dimensions: int = 64  # 128: +0.008 recall@200 (views weighted 0.8) for twice the index memory and search
    epochs: float = 3.0
    max_steps: int = 4_000  # bounded whatever the log's size: creators carry what rare posts cannot learn
    batch: int = 1_024
    temperature: float = 0.07
    item_weight: float = 0.3  # a post's own id counts for this much beside its creator
    # Views are most of what predicts what a user engages with next. Measured on the simulated world
    # (bench explore_quality's retrieval alone, 64 dimensions): a view weighted 0.2, 0.4, 0.8, 1.5
    # and 3.0 gave recall@200 0.209, 0.225, 0.232, 0.241 and 0.252 (SVD: 0.192).
    view_weight: float = 3.0
    age_bucket: float = 6 * 3600.0
    age_buckets: int = 28  # a week in six-hour steps; older posts share the last
    learning_rate: float = 0.01
    l2: float = 1e-5
    seed: int = 7


class _Table:
    """An embedding table trained by Adam with lazy, row-wise updates (only the rows a batch used)."""

    def __init__(self, rows: int, dims: int, scale: float, rng: np.random.Generator) -> None:
        self.weights = rng.normal(0.0, scale, (rows, dims)).astype(np.float32)
        self._mean = np.zeros_like(self.weights)
        self._square = np.zeros_like(self.weights)
        self._steps = np.zeros(rows, dtype=np.float32)

    def update(self, rows: Ints, gradient: Vectors, config: TowerConfig) -> None:
        used, at = np.unique(rows, return_inverse=True)
        summed = np.zeros((len(used), self.weights.shape[1]), dtype=np.float32)
        np.add.at(summed, at, gradient)
        summed += config.l2 * self.weights[used]
        self._steps[used] += 1
        steps = self._steps[used][:, None]
        self._mean[used] = 0.9 * self._mean[used] + 0.1 * summed
        self._square[used] = 0.999 * self._square[used] + 0.001 * summed * summed
        mean, square = self._mean[used] / (1 - 0.9**steps), self._square[used] / (1 - 0.999**steps)
        self.weights[used] -= config.learning_rate * mean / (np.sqrt(square) + 1e-8)


def _unit(rows: Vectors) -> tuple[Vectors, Vectors]:
    norms = np.linalg.norm(rows, axis=1, keepdims=True) + 1e-9
    return (rows / norms).astype(np.float32), norms.astype(np.float32)


def _age_bucket(age: Floats, bucket: float, buckets: int) -> Ints:
    """A post's age in steps of ``bucket`` seconds, the last shared by anything older. Truncation is
    the floor for every age that counts; a negative age (a post not yet made) falls in the first."""
    return np.clip((age / bucket).astype(np.int64), 0, buckets - 1)


def _through_unit(grad: Vectors, unit: Vectors, norms: Vectors) -> Vectors:
    """Back through ``x / |x|``: the gradient's part along the vector does not change a direction."""
    return np.asarray((grad - unit * (unit * grad).sum(axis=1, keepdims=True)) / norms, dtype=np.float32)


@dataclass(frozen=True)
class Towers:
    """The trained towers; user vectors go to the online store, the rest travel in the model."""

    user_id: npt.NDArray[np.str_]  # sorted, as ``Positions.users``
    users: Vectors  # unit rows
    creator_id: npt.NDArray[np.str_]  # sorted
    creators: Vectors
    items: Vectors  # a row per post of the catalogue the towers were trained with
    kinds: Vectors
    age_bias: Vectors
    temperature: float
    age_bucket: float

    def post_vectors(self, catalogue: Catalogue, now: float, posts: Ints | None = None) -> Vectors:
        """Vectors for the inner-product index of ``posts`` (by default all) of the catalogue the towers
        were trained with, or of one that extends it with newer posts: the unit post tower and, last,
        the age bias at ``now`` times the temperature (queries end in 1). Posts of creators the towers
        never saw get zero rows."""
        posts = np.arange(len(catalogue)) if posts is None else posts
        authors = catalogue.author_id[posts]
        at = find_sorted(self.creator_id, authors)
        known, at = at >= 0, np.maximum(at, 0)
        items = np.zeros((len(posts), self.items.shape[1]), dtype=np.float32)
        trained = posts < len(self.items)  # a newer post has no id embedding yet
        items[trained] = self.items[posts[trained]]
        unit, _ = _unit(items + self.creators[at] + self.kinds[catalogue.kind[posts]])
        bias = self.age_bias[
            _age_bucket(now - catalogue.created_at[posts], self.age_bucket, len(self.age_bias))
        ]
        vectors = np.hstack([unit, self.temperature * bias[:, None]]).astype(np.float32)
        vectors[~known] = 0.0
        return vectors

    def fold(self, catalogue: Catalogue, posts: Ints) -> Floats | None:
        """A user vector for someone the batch never saw, from the posts they just acted on."""
        if not len(posts):
            return None
        summed = self.post_vectors(catalogue, 0.0, posts)[:, :-1].sum(axis=0)
        norm = float(np.linalg.norm(summed))
        return summed / norm if norm > 0 else None

    @classmethod
    def from_arrays(cls, arrays: dict[str, npt.NDArray[np.generic]]) -> Towers:
        scalars: dict[str, Any] = {name: float(arrays[name]) for name in ("temperature", "age_bucket")}
        return cls(**{**arrays, **scalars})

    def query(self, users: npt.NDArray[np.floating[Any]]) -> Vectors:
        """Index queries for one user vector or a row of them each: the vector, then a 1 that picks
        up each post's age bias."""
        rows = np.atleast_2d(users).astype(np.float32)
        return np.hstack([rows, np.ones((len(rows), 1), dtype=np.float32)])


def train_towers(
    catalogue: Catalogue, interactions: InteractionLog, where: Positions, config: TowerConfig = TowerConfig()
) -> Towers:
    """In-batch softmax over sampled actions (weighted as for the embeddings, views weighted up), with
    a post that did not exist yet at an action's moment, or the same post, never its negative."""
    rng = np.random.default_rng(config.seed)
    weight = np.zeros(len(interactions), dtype=np.float64)
    for action, value in ACTION_WEIGHT.items():
        weight[interactions.action == action] = config.view_weight if action == Action.VIEW else value
    usable = np.flatnonzero((where.post >= 0) & (weight > 0))
    fit = _Fit(catalogue, interactions, where, config, rng)
    steps = min(config.max_steps, int(np.ceil(config.epochs * len(usable) / config.batch)))
    if steps:
        drawn = rng.choice(usable, size=(steps, config.batch), p=weight[usable] / weight[usable].sum())
        for step, rows in enumerate(drawn, start=1):
            fit.step(rows)
            if step % 500 == 0:
                log.info("two-tower: step %d of %d", step, steps)
    return fit.towers()


class _Fit:
    """The tables being trained, and one step of gradient descent on a batch of actions."""

    def __init__(
        self,
        catalogue: Catalogue,
        interactions: InteractionLog,
        where: Positions,
        config: TowerConfig,
        rng: np.random.Generator,
    ) -> None:
        self.catalogue, self.interactions, self.where, self.config = catalogue, interactions, where, config
        self.creator_id, self.creator = np.unique(catalogue.author_id, return_inverse=True)
        dims = config.dimensions
        self.users = _Table(len(where.users), dims, 0.1, rng)
        self.items = _Table(len(catalogue), dims, 0.01, rng)
        self.creators = _Table(len(self.creator_id), dims, 0.1, rng)
        self.kinds = _Table(len(KINDS), dims, 0.1, rng)
        self.age_bias = _Table(1, config.age_buckets, 0.0, rng)

    def step(self, rows: Ints) -> None:
        config, catalogue = self.config, self.catalogue
        user, post = self.where.user[rows], self.where.post[rows]
        creator, kind = self.creator[post], catalogue.kind[post]
        u, u_norm = _unit(self.users.weights[user])
        v, v_norm = _unit(
            config.item_weight * self.items.weights[post]
            + self.creators.weights[creator]
            + self.kinds.weights[kind]
        )
        age = self.interactions.at[rows][:, None] - catalogue.created_at[post][None, :]
        bucket = _age_bucket(age, config.age_bucket, config.age_buckets)  # a negative age is excluded below
        logits = u @ v.T / config.temperature + self.age_bias.weights[0][bucket]
        excluded = (age < 0) | (post[None, :] == post[:, None])
        np.fill_diagonal(excluded, False)
        logits[excluded] = -np.inf
        logits -= logits.max(axis=1, keepdims=True)
        softmax = np.exp(logits)
        softmax /= softmax.sum(axis=1, keepdims=True)
        softmax[np.arange(len(rows)), np.arange(len(rows))] -= 1.0
        grad = (softmax / len(rows)).astype(np.float32)  # d(mean cross-entropy) / d(logits)
        d_user = _through_unit(grad @ v / config.temperature, u, u_norm)
        d_post = _through_unit(grad.T @ u / config.temperature, v, v_norm)
        self.users.update(user, d_user, config)
        self.items.update(post, config.item_weight * d_post, config)
        self.creators.update(creator, d_post, config)
        self.kinds.update(kind, d_post, config)
        by_age = np.bincount(bucket.ravel(), weights=grad.ravel(), minlength=config.age_buckets)
        self.age_bias.update(np.zeros(1, dtype=np.int64), by_age[None, :].astype(np.float32), config)

    def towers(self) -> Towers:
        return Towers(
            user_id=self.where.users,
            users=_unit(self.users.weights)[0],
            creator_id=self.creator_id,
            creators=self.creators.weights,
            items=self.config.item_weight * self.items.weights,
            kinds=self.kinds.weights,
            age_bias=self.age_bias.weights[0],
            temperature=self.config.temperature,
            age_bucket=self.config.age_bucket,
        )
