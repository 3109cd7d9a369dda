"""The artefact the daily batch builds and the Explore function loads at cold start.

One file per version: the catalogue and its post statistics, the post embeddings and their FAISS
IVF index, the two-tower model and its index, the user communities and each community's favourite
posts, the trending list, and the ranking models (LightGBM per action, and the linear model that
stands in when they fail).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, fields
from typing import Any

import faiss
import lightgbm
import numpy as np
import numpy.typing as npt

from aperture.explore.catalogue import Catalogue, Floats, Ints
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
        z = ((rows - self.mean) / self.scale) @ self.weights + self.bias
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
        at = np.minimum(np.searchsorted(row[:filled], posts), max(filled - 1, 0))
        hit = (filled > 0) & (row[at] == posts)
        return np.where(hit, self.scores[community][at], 0.0)


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
        arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
        buffer = io.BytesIO()
        np.savez(buffer, allow_pickle=False, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> ExploreModel:
        with np.load(io.BytesIO(data), allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        header = json.loads(arrays["header"].tobytes())

        def group(prefix: str) -> dict[str, npt.NDArray[np.generic]]:
            return {k.split(".", 1)[1]: v for k, v in arrays.items() if k.startswith(f"{prefix}.")}

        fallback, towers = group("fallback"), group("towers")
        return cls(
            version=header["version"],
            built_at=header["built_at"],
            catalogue=Catalogue(**group("catalogue")),  # type: ignore[arg-type]
            stats=PostStats(**group("stats")),  # type: ignore[arg-type]
            post_vectors=arrays["post_vectors"].astype(np.float16),
            index=faiss.deserialize_index(arrays["index"]),
            communities=Communities(**group("communities")),  # type: ignore[arg-type]
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
