"""Explore between daily batches: what the log since the batch changes, every ten minutes.

The daily batch retrains everything from 30 days of log. The refresh reads only the posts made and
the actions taken since that batch, retrains nothing, and publishes a ``ModelRefresh`` that serving
lays over the day's model: new posts join the catalogue (the two-tower model embeds them from their
creator and kind, so they are retrievable before their first view), moderation's later verdicts
apply, every post's statistics take the new actions with the batch's smoothed rates as their prior,
and trending is ranked again. It is stateless: each run recounts everything since the batch, so a
lost or repeated run changes nothing the next one does not.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from aperture.explore.catalogue import Catalogue, Floats, InteractionLog, Strings, find_sorted
from aperture.explore.features import (
    PRIOR_VIEWS,
    PostStats,
    counts,
    positions,
    trending_list,
    unit_rows,
    updated,
)
from aperture.explore.model import ExploreModel, ModelRefresh
from aperture.explore.training import TrainingConfig


def build_refresh(
    model: ExploreModel,
    posts: Catalogue,
    log: InteractionLog,
    now: float,
    config: TrainingConfig | None = None,
) -> ModelRefresh:
    """The refresh of ``model`` at ``now`` from ``posts`` (those made since shortly before the batch)
    and ``log`` (every action since the batch)."""
    config = config or TrainingConfig()  # the batch's
    base = model.catalogue
    at = base.find(posts.post_id)
    new = at < 0
    moved = ~new & (base.verdict[np.maximum(at, 0)] != posts.verdict)
    catalogue = base.extended(posts.where(new))
    log = log.where((log.at >= model.built_at) & (log.at <= now))
    seen = counts(catalogue, log, positions(catalogue, log), now, config.trending_half_life)
    decay = float(np.exp2(-(now - model.built_at) / config.trending_half_life))
    grown = len(catalogue) - len(base)
    before = PostStats(
        **{
            name: np.concatenate([column, _prior(model.stats, name, grown)])
            for name, column in vars(model.stats).items()
        }
    )
    stats = updated(before, seen, catalogue, decay)
    engaged = seen.engaged.sum(axis=1) > 0
    changed = np.flatnonzero(
        (seen.views + seen.reports > 0)
        | np.isin(catalogue.author_id, catalogue.author_id[engaged])  # their author's reach grew
        | (np.arange(len(catalogue)) >= len(base))
    )
    return ModelRefresh(
        vectors=_creators_centroids(model, catalogue.author_id[len(base) :]),
        base_version=model.version,
        built_at=now,
        posts=posts.where(new | moved),
        changed=changed,
        stats=PostStats(**{name: column[changed] for name, column in vars(stats).items()}),
        trending_decay=decay,
        trending=trending_list(catalogue, stats.trending, now, config.eligible_age, config.trending_size),
    )


def _prior(stats: PostStats, name: str, posts: int) -> Floats:
    """Rows for ``posts`` new posts: no views or trending, and the catalogue's mean rates, as the
    batch smoothed toward (a rate is its own smoothed mean over the batch's views plus priors)."""
    column = getattr(stats, name)
    if name in ("views", "trending", "author_reach") or not len(column):
        return np.zeros((posts, *column.shape[1:]))
    weight = stats.views + PRIOR_VIEWS
    mean = np.tensordot(weight, column, axes=(0, 0)) / weight.sum()
    return np.repeat(np.asarray(mean, dtype=np.float64)[None, ...], posts, axis=0)


def _creators_centroids(model: ExploreModel, authors: Strings) -> npt.NDArray[np.float16]:
    """For each of ``authors``' new posts, the unit mean of the embeddings of that author's posts
    the batch embedded: until a post has its own, a creator's niche is its best guess (zero for an
    author with none)."""
    embedded = np.flatnonzero(np.abs(model.post_vectors).sum(axis=1) > 0)
    creators, creator_of = np.unique(model.catalogue.author_id[embedded], return_inverse=True)
    sums = np.zeros((len(creators), model.post_vectors.shape[1]), dtype=np.float32)
    np.add.at(sums, creator_of, model.post_vectors[embedded].astype(np.float32))
    at = find_sorted(creators, authors)
    units = unit_rows(sums)[np.maximum(at, 0)] if len(creators) else 0.0
    return np.where((at >= 0)[:, None], units, 0.0).astype(np.float16)
