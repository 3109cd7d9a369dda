"""The artefact the daily batch builds and the Explore function loads at cold start.

One file per version: the catalogue and its post statistics, the post embeddings and their FAISS
IVF index, the two-tower model and its index, the user communities and each community's favourite
posts, the trending list, and the ranking models (LightGBM per action, and the linear model that
stands in when they fail).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, fields, replace
from typing import Any

import faiss
import lightgbm
import numpy as np
import numpy.typing as npt

from aperture.explore.catalogue import SHOWABLE_VERDICT, Catalogue, Floats, Ints, find_sorted
from aperture.explore.features import PostStats
from aperture.explore.towers import Towers

TASKS = ("like", "comment", "share", "save", "watch")
# What a shown post is worth, per predicted action: the value model's business weights.
VALUE_WEIGHTS = {"like": 1.0, "comment": 3.0, "share": 5.0, "save": 4.0, "watch": 2.0}


@dataclass(frozen=True)
class LinearRanker:
    """Logistic regression on standardised features: simple, and needs nothing but numpy."""

    mean: Floats
    scale: Floats
    weights: Floats
    bias: float

    def engagement(self, rows: npt.NDArray[np.float32]) -> Floats:
        columns = len(self.weights)  # a model from before the context columns reads the ones before
        z = ((rows[:, :columns] - self.mean) / self.scale) @ self.weights + self.bias
        return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)


@dataclass(frozen=True)
class Communities:
    """For each community (a cluster of users' embeddings), the posts it engaged with most."""

    centroids: npt.NDArray[np.float32]
    posts: Ints  # communities x size, catalogue positions sorted ascending per row, -1 padding at the end
    scores: Floats  # the same shape: each post's engagement within the community, 0..1

    def of(self, vector: Floats) -> int:
        return int(np.argmax(self.centroids @ vector.astype(np.float32)))

    def top(self, community: int, count: int) -> Ints:
        row, scores = self.posts[community], self.scores[community]
        best = np.argsort(-scores, kind="stable")[:count]
        return np.asarray(row[best][row[best] >= 0], dtype=np.int64)

    def score(self, community: int, posts: Ints) -> Floats:
        """Each post's score in ``community``; 0 for posts it did not engage with."""
        if community < 0:
            return np.zeros(len(posts))
        row = self.posts[community]
        filled = int((row >= 0).sum())
        at = find_sorted(row[:filled], posts)
        return np.where(at >= 0, self.scores[community][np.maximum(at, 0)], 0.0)


@dataclass(frozen=True)
class ExploreModel:
    version: str
    built_at: float
    catalogue: Catalogue
    stats: PostStats
    post_vectors: npt.NDArray[np.float16]  # zero rows for posts not in the index
    index: faiss.Index  # inner product over unit post vectors; ids are catalogue positions
    communities: Communities
    trending: Ints  # catalogue positions, best first
    rankers: dict[str, lightgbm.Booster]
    fallback: LinearRanker
    towers: Towers | None = None  # None in artefacts from before the two-tower model: SVD retrieves
    tower_index: faiss.Index | None = None  # inner product over ``Towers.post_vectors``; same ids
    # Posts a refresh added since the batch, searched exactly beside ``tower_index`` (never stored)
    fresh_index: faiss.Index | None = None

    def refreshed(self, refresh: ModelRefresh) -> ExploreModel:
        """This model with ``refresh`` laid over it: the new posts appended (the two-tower model
        embeds them from their creator and kind, into ``fresh_index``), and verdicts, statistics and
        trending as of the refresh. Positions into this model keep their meaning."""
        if refresh.base_version != self.version:
            raise ValueError(f"refresh of {refresh.base_version} cannot apply to model {self.version}")
        at = self.catalogue.find(refresh.posts.post_id)
        verdict = self.catalogue.verdict.astype(np.result_type(self.catalogue.verdict, refresh.posts.verdict))
        verdict[at[at >= 0]] = refresh.posts.verdict[at >= 0]
        catalogue = replace(self.catalogue, verdict=verdict).extended(refresh.posts.where(at < 0))
        grown = len(catalogue) - len(self.catalogue)
        stats = {
            f.name: np.concatenate([(old := getattr(self.stats, f.name)), np.zeros((grown, *old.shape[1:]))])
            for f in fields(PostStats)
        }
        stats["trending"] *= refresh.trending_decay
        for name, column in stats.items():
            column[refresh.changed] = getattr(refresh.stats, name)
        fresh = np.union1d(at[at >= 0], np.arange(len(self.catalogue), len(catalogue)))
        return replace(
            self,
            version=refresh.version,
            catalogue=catalogue,
            stats=PostStats(**stats),
            post_vectors=np.vstack([self.post_vectors, refresh.vectors.astype(np.float16)]),
            trending=refresh.trending,
            fresh_index=self._fresh_index(catalogue, fresh, refresh.built_at),
        )

    def _fresh_index(self, catalogue: Catalogue, posts: Ints, now: float) -> faiss.Index | None:
        """Exact inner-product search over the two-tower vectors of ``posts`` that may be shown."""
        if self.towers is None or self.tower_index is None:
            return None
        vectors = self.towers.post_vectors(catalogue, now, posts)
        keep = (catalogue.verdict[posts] == SHOWABLE_VERDICT) & (np.abs(vectors).sum(axis=1) > 0)
        index = faiss.IndexIDMap(faiss.IndexFlatIP(vectors.shape[1]))
        index.add_with_ids(vectors[keep], posts[keep])
        return index

    def indexed(self, index: faiss.Index | None = None) -> Ints:
        """The catalogue positions an IVF index (by default the SVD's) holds."""
        invlists: Any = faiss.extract_index_ivf(self.index if index is None else index).invlists
        lists = [
            faiss.rev_swig_ptr(invlists.get_ids(n), invlists.list_size(n)).copy()
            for n in range(invlists.nlist)
            if invlists.list_size(n)
        ]
        return np.sort(np.concatenate(lists)).astype(np.int64) if lists else np.zeros(0, dtype=np.int64)

    def to_bytes(self) -> bytes:
        arrays: dict[str, npt.NDArray[np.generic]] = {
            **{f"catalogue.{f.name}": getattr(self.catalogue, f.name) for f in fields(Catalogue)},
            **{f"stats.{f.name}": getattr(self.stats, f.name) for f in fields(PostStats)},
            **{f"communities.{f.name}": getattr(self.communities, f.name) for f in fields(Communities)},
            **{
                f"fallback.{f.name}": np.asarray(getattr(self.fallback, f.name)) for f in fields(LinearRanker)
            },
            "post_vectors": self.post_vectors,
            "index": faiss.serialize_index(self.index),
            "trending": self.trending,
        }
        if self.towers is not None and self.tower_index is not None:
            arrays |= {f"towers.{f.name}": np.asarray(getattr(self.towers, f.name)) for f in fields(Towers)}
            arrays["tower_index"] = faiss.serialize_index(self.tower_index)
        header = {
            "version": self.version,
            "built_at": self.built_at,
            "rankers": {task: booster.model_to_string() for task, booster in self.rankers.items()},
        }
        return _pack(header, arrays)

    @classmethod
    def from_bytes(cls, data: bytes) -> ExploreModel:
        arrays, header = _unpack(data)
        fallback, towers = _group(arrays, "fallback"), _group(arrays, "towers")
        return cls(
            version=header["version"],
            built_at=header["built_at"],
            catalogue=Catalogue(**_group(arrays, "catalogue")),
            stats=PostStats(**_group(arrays, "stats")),
            post_vectors=arrays["post_vectors"].astype(np.float16),
            index=faiss.deserialize_index(arrays["index"]),
            communities=Communities(**_group(arrays, "communities")),
            trending=arrays["trending"].astype(np.int64),
            rankers={task: lightgbm.Booster(model_str=text) for task, text in header["rankers"].items()},
            fallback=LinearRanker(
                mean=fallback["mean"].astype(np.float64),
                scale=fallback["scale"].astype(np.float64),
                weights=fallback["weights"].astype(np.float64),
                bias=float(fallback["bias"]),
            ),
            towers=Towers.from_arrays(towers) if towers else None,
            tower_index=faiss.deserialize_index(arrays["tower_index"]) if "tower_index" in arrays else None,
        )


@dataclass(frozen=True)
class ModelRefresh:
    """What changed since a daily model was built: made every few minutes from the log since the
    batch (see ``refresh``), laid over that model by serving (``ExploreModel.refreshed``)."""

    base_version: str
    built_at: float
    posts: Catalogue  # posts made since the base model, and base posts whose verdict changed
    changed: Ints  # positions, in the base catalogue extended by the new posts, whose stats moved
    stats: PostStats  # the rows of ``changed``
    vectors: npt.NDArray[np.float16]  # the new posts' embeddings: their creator's, until the next batch
    trending_decay: float  # what every other post's trending score is multiplied by
    trending: Ints

    @property
    def version(self) -> str:
        return f"{self.base_version}+{int(self.built_at)}"

    def to_bytes(self) -> bytes:
        return _pack(
            {"base_version": self.base_version, "built_at": self.built_at, "decay": self.trending_decay},
            {
                "changed": self.changed,
                "vectors": self.vectors,
                "trending": self.trending,
                **{f"posts.{f.name}": getattr(self.posts, f.name) for f in fields(Catalogue)},
                **{f"stats.{f.name}": getattr(self.stats, f.name) for f in fields(PostStats)},
            },
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> ModelRefresh:
        arrays, header = _unpack(data)
        return cls(
            base_version=header["base_version"],
            built_at=float(header["built_at"]),
            posts=Catalogue(**_group(arrays, "posts")),
            changed=arrays["changed"].astype(np.int64),
            stats=PostStats(**_group(arrays, "stats")),
            vectors=arrays["vectors"].astype(np.float16),
            trending_decay=float(header["decay"]),
            trending=arrays["trending"].astype(np.int64),
        )


def _pack(header: dict[str, Any], arrays: dict[str, npt.NDArray[np.generic]]) -> bytes:
    """An artefact: named arrays and a JSON header, in one npz (no pickles)."""
    buffer = io.BytesIO()
    np.savez(
        buffer,
        allow_pickle=False,
        header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
        **arrays,
    )
    return buffer.getvalue()


def _unpack(data: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    with np.load(io.BytesIO(data), allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    return arrays, json.loads(arrays["header"].tobytes())


def _group(arrays: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The arrays stored as ``<prefix>.<name>``, by name."""
    return {k.split(".", 1)[1]: v for k, v in arrays.items() if k.startswith(f"{prefix}.")}
