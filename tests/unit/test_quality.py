"""Perceptual compression: the SSIM it measures, and the search for the smallest passing encode."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from aperture.media import quality
from tests.conftest import natural_picture


def _decoded(image: Image.Image, fmt: str, level: int) -> Image.Image:
    return Image.open(io.BytesIO(quality.encode(image, fmt, level)))


def _ffmpeg_ssim(tmp_path: Path, reference: Image.Image, candidate: Image.Image) -> float:
    reference.convert("L").save(tmp_path / "reference.png")
    candidate.convert("L").save(tmp_path / "candidate.png")
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(tmp_path / "reference.png")]
    command += ["-i", str(tmp_path / "candidate.png"), "-lavfi", "ssim", "-f", "null", "-"]
    report = subprocess.run(command, capture_output=True, text=True, check=True).stderr
    found = re.search(r"SSIM Y:([0-9.]+)", report)
    assert found, report
    return float(found.group(1))


@pytest.mark.parametrize(
    ("width", "height", "fmt", "level"),
    [(317, 243, "JPEG", 40), (640, 480, "WEBP", 75), (150, 113, "JPEG", 90), (33, 17, "WEBP", 30)],
)
def test_ssim_is_ffmpegs(tmp_path: Path, width: int, height: int, fmt: str, level: int) -> None:
    # Given a picture and a lossy copy of it, of sizes that are not multiples of the window
    reference = natural_picture(width, height)
    candidate = _decoded(reference, fmt, level)
    # When both measure SSIM on luma
    ours = quality.ssim(quality.luma(reference), quality.luma(candidate))
    # Then ours is FFmpeg's ssim filter's Y score (it prints six decimals)
    assert ours == pytest.approx(_ffmpeg_ssim(tmp_path, reference, candidate), abs=1e-6)


def test_a_picture_against_itself_scores_one_and_a_tiny_one_is_still_scored() -> None:
    picture = quality.luma(natural_picture(64, 48))
    assert quality.ssim(picture, picture) == pytest.approx(1.0)
    tiny = np.full((4, 4), 100.0)
    assert quality.ssim(tiny, tiny + 51) == pytest.approx(0.8)  # one minus the mean error / 255


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_the_search_returns_the_lowest_quality_that_meets_the_target(fmt: str) -> None:
    # Given a picture and a target between what the lowest and highest qualities reach
    picture = natural_picture(400, 300)
    # When the lowest passing quality is searched
    found = quality.smallest_above(picture, fmt, 0.97)
    # Then it passes, and one step lower does not, measured independently
    reference = quality.luma(picture)
    assert found.ssim >= 0.97
    assert found.ssim == quality.ssim(reference, quality.luma(_decoded(picture, fmt, found.quality)))
    assert quality.ssim(reference, quality.luma(_decoded(picture, fmt, found.quality - 1))) < 0.97
    assert found.data == quality.encode(picture, fmt, found.quality)


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_a_similar_pictures_curve_finds_the_same_quality_with_fewer_encodes(fmt: str) -> None:
    # Given the same scene at two sizes (like a display rendition and a thumbnail), the small one
    # searched blind
    large = natural_picture(960, 720)
    small = large.resize((320, 240), Image.Resampling.LANCZOS)
    like = quality.QualitySearch(small, fmt)
    like.smallest_above(0.97)
    # When the large one is searched with the small one's curve, and again blind
    guided, blind = quality.QualitySearch(large, fmt), quality.QualitySearch(large, fmt)
    found = guided.smallest_above(0.97, like.scores)
    # Then both find the same quality, the guided search with two or three encodes, fewer than blind
    assert found.quality == blind.smallest_above(0.97).quality
    assert len(guided.tried) <= 3
    assert len(guided.tried) < len(blind.tried)


def test_targets_out_of_reach_give_the_ends_of_the_range() -> None:
    picture = natural_picture(200, 150)
    assert quality.smallest_above(picture, "JPEG", 0.0).quality == quality.LOWEST
    assert quality.smallest_above(picture, "JPEG", 1.0).quality == quality.HIGHEST
    search = quality.QualitySearch(picture, "JPEG")
    assert search.smallest_above(1.0, {80: 0.99, 85: 0.995}).quality == quality.HIGHEST
