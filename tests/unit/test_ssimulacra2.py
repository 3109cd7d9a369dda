"""SSIMULACRA2: ours against the independent ``ssimulacra2`` package, on natural photos."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import pytest
import ssimulacra2 as independent
from PIL import Image

from aperture.media import ssimulacra2
from benchmarks.natural import natural

# Natural photos at sizes that exercise the edges: odd sides, and too small for all six scales.
SOURCES = {
    "coffee 360x240": ("coffee", (360, 240)),
    "astronaut 257x257": ("astronaut", (257, 257)),
    "rocket 181x121": ("rocket", (181, 121)),
    "hubble 96x84": ("hubble", (96, 84)),
}
ENCODINGS = [
    (fmt, level) for fmt, levels in (("JPEG", (30, 60, 90)), ("WEBP", (40, 75, 95)), ("AVIF", (30, 55, 80)))
    for level in levels
]  # fmt: skip


def _source(name: str, size: tuple[int, int]) -> Image.Image:
    return Image.open(io.BytesIO(natural(name))).convert("RGB").resize(size, Image.Resampling.LANCZOS)


def _encoded(image: Image.Image, fmt: str, level: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, fmt, quality=level)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


@pytest.mark.parametrize(("source", "encoding"), list(itertools.product(SOURCES, ENCODINGS)))
def test_ours_agrees_with_the_independent_implementation(
    tmp_path: Path, source: str, encoding: tuple[str, int]
) -> None:
    # Given a natural photo and an encoding of it (36 pairs: 4 photos x 3 formats x 3 qualities)
    original = _source(*SOURCES[source])
    distorted = _encoded(original, *encoding)
    original.save(tmp_path / "original.png")
    distorted.save(tmp_path / "distorted.png")
    # When both implementations score the pair
    theirs = independent.compute_ssimulacra2(tmp_path / "original.png", tmp_path / "distorted.png")
    ours = ssimulacra2.score(original, distorted)
    # Then they agree well within the point the issue allows (float32 against float64)
    assert ours == pytest.approx(theirs, abs=0.05)


def test_a_source_against_itself_scores_100_and_worse_encodings_score_lower() -> None:
    original = _source("chelsea", (300, 200))
    reference = ssimulacra2.Reference(original)
    assert reference.score(original) == pytest.approx(100.0)
    scores = [reference.score(_encoded(original, "JPEG", level)) for level in (20, 50, 80, 95)]
    assert scores == sorted(scores)


def test_a_candidate_of_another_size_is_refused() -> None:
    reference = ssimulacra2.Reference(_source("chelsea", (300, 200)))
    with pytest.raises(ValueError, match="candidate is"):
        reference.score(_source("chelsea", (200, 300)))
