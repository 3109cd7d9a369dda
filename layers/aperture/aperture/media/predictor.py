"""The "ML" in ML compression: a learned guess of the quality that meets a rendition's target.

From features the pipeline has anyway (the target itself, what JPEG q85 spent per pixel, the size),
a linear model per format predicts the lowest quality that meets the target, shifted up by the
residual quantile the model was fitted for, so most guesses pass at their first, verifying encode;
a miss steps up by the points per quality step it learned. Trained by ``pipenv run train quality``
(``tools/train/quality.py``) and shipped as ``quality_model.json``; a model that is missing or
unreadable is reported and the pipeline falls back to an exact search.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image

from aperture.media.quality import Judge

MODEL_PATH = Path(__file__).with_name("quality_model.json")
FEATURES = ("bias", "target", "log2_bits_per_pixel", "log2_pixels", "log2_colourfulness")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Features:
    target: float
    bits_per_pixel: float  # of the q85 reference JPEG: how hard the picture is to compress
    pixels: int
    colourfulness: float  # of the small rendition: grey pictures and vivid ones spend bits differently

    def vector(self) -> list[float]:
        return [
            1.0,
            self.target,
            math.log2(max(self.bits_per_pixel, 1e-3)),
            math.log2(max(self.pixels, 1)),
            math.log2(1 + self.colourfulness),
        ]

    @classmethod
    def of(cls, judge: Judge, small: Image.Image) -> Features:
        pixels = judge.pixels.width * judge.pixels.height
        return cls(judge.target, 8 * len(judge.reference_bytes) / pixels, pixels, colourfulness(small))


def colourfulness(image: Image.Image) -> float:
    """Hasler and Suesstrunk's colourfulness (2003): 0 for grey, about 100 for the most vivid."""
    red, green, blue = np.moveaxis(np.asarray(image.convert("RGB"), dtype=np.float64), -1, 0)
    opponent = red - green, (red + green) / 2 - blue
    spread = math.hypot(*(float(plane.std()) for plane in opponent))
    return spread + 0.3 * math.hypot(*(float(plane.mean()) for plane in opponent))


@dataclass(frozen=True)
class Sample:
    """One training answer: the lowest quality of ``fmt`` that met the target, found exactly."""

    features: Features
    fmt: str
    quality: int
    points_per_step: float


@dataclass(frozen=True)
class FormatModel:
    weights: list[float]
    offset: float  # added to the fit: the residual quantile, so most first guesses pass
    points_per_step: float  # median score gained per quality step near the answer

    def predict(self, features: Features) -> int:
        return math.ceil(float(np.dot(self.weights, features.vector())) + self.offset)


@dataclass(frozen=True)
class QualityModel:
    version: str
    formats: dict[str, FormatModel]

    def guess(self, fmt: str, features: Features) -> tuple[int, float] | None:
        model = self.formats.get(fmt)
        return None if model is None else (model.predict(features), model.points_per_step)

    def save(self, path: Path | None = None) -> None:
        document = {"version": self.version, "features": FEATURES} | {
            "formats": {fmt: asdict(model) for fmt, model in self.formats.items()}
        }
        (path or MODEL_PATH).write_text(json.dumps(document, indent=1) + "\n")

    @classmethod
    def load(cls, path: Path | None = None) -> QualityModel | None:
        """The shipped model (or the one at ``path``), or None, logged, when it is missing or unreadable."""
        path = path or MODEL_PATH
        try:
            document = json.loads(path.read_text())
            if tuple(document["features"]) != FEATURES:
                raise ValueError(f"features {document['features']} are not {FEATURES}")
            formats = {
                fmt: FormatModel(
                    [float(w) for w in spec["weights"]], float(spec["offset"]), float(spec["points_per_step"])
                )
                for fmt, spec in document["formats"].items()
            }
            if any(len(model.weights) != len(FEATURES) for model in formats.values()):
                raise ValueError("a format's weights do not match the features")
            return cls(str(document["version"]), formats)
        except (OSError, ValueError, KeyError, TypeError) as error:
            log.warning("quality model unavailable, searching exactly: %s (%s)", error, path)
            return None


def fit(samples: Sequence[Sample], version: str, quantile: float = 0.7) -> QualityModel:
    """Least squares per format, then the offset that makes ``quantile`` of first guesses pass."""
    formats = {}
    for fmt in sorted({sample.fmt for sample in samples}):
        mine = [sample for sample in samples if sample.fmt == fmt]
        inputs = np.array([sample.features.vector() for sample in mine])
        answers = np.array([sample.quality for sample in mine], dtype=float)
        weights, *_ = np.linalg.lstsq(inputs, answers, rcond=None)
        residuals = answers - inputs @ weights
        formats[fmt] = FormatModel(
            [round(float(w), 6) for w in weights],
            round(float(np.quantile(residuals, quantile)), 4),
            round(float(np.median([sample.points_per_step for sample in mine])), 4),
        )
    return QualityModel(version, formats)


@cache
def shipped_model() -> QualityModel | None:
    """The model under the package, read once per execution environment."""
    return QualityModel.load()
