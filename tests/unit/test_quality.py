"""Perceptual compression: the target each rendition must meet, and the searches that meet it."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from aperture.media import quality, ssimulacra2
from tests.conftest import natural_picture


def test_small_renditions_are_judged_enlarged_until_all_six_scales_exist() -> None:
    # Given renditions of a 3:2 photo at the four sizes
    sizes = {width: natural_picture(width, width * 2 // 3) for width in (1080, 640, 320, 150)}
    # When each is prepared for the metric
    judged = {width: quality.judged(image).size for width, image in sizes.items()}
    # Then those with a side under 256 px are enlarged by the smallest whole factor reaching it
    assert judged == {1080: (1080, 720), 640: (640, 426), 320: (640, 426), 150: (450, 300)}
    # but never past 2048 px on the longer side: an extreme strip is judged as it is
    assert quality.judged(natural_picture(1080, 2)).size == (1080, 2)
    assert quality.judged(natural_picture(600, 40)).size == (1800, 120)


def test_the_target_is_what_jpeg_q85_scores_on_the_same_pixels() -> None:
    pixels = natural_picture(320, 240)
    judge = quality.Judge(pixels)
    reference = Image.open(io.BytesIO(judge.reference_bytes))
    assert reference.format == "JPEG"
    assert judge.target == pytest.approx(
        ssimulacra2.score(quality.judged(pixels), quality.judged(reference.convert("RGB"))), abs=1e-9
    )
    assert 40 < judge.target < 100


def _tables(data: bytes) -> dict[int, list[int]]:
    tables: dict[int, list[int]] = getattr(Image.open(io.BytesIO(data)), "quantization", {})
    return tables


def test_jpeg_spends_more_on_colour_than_libjpeg_tables_do() -> None:
    # When a JPEG rendition is encoded at quality 80
    picture = natural_picture(64, 64)
    ours = _tables(quality.encode(picture, "JPEG", 80))

    # Then its luma table is what libjpeg writes at quality 80, its chroma table what it writes at 88
    def libjpeg(level: int) -> dict[int, list[int]]:
        buffer = io.BytesIO()
        picture.save(buffer, "JPEG", quality=level)
        return _tables(buffer.getvalue())

    assert ours[0] == libjpeg(80)[0]
    assert ours[1] == libjpeg(88)[1]
    assert ours[1] != libjpeg(80)[1]


def _colour_edges(size: int) -> Image.Image:
    """Saturated red and blue stripes two pixels wide: what 4:2:0 chroma smears."""
    picture = Image.new("RGB", (size, size), (220, 20, 30))
    for x in range(0, size, 4):
        picture.paste((20, 40, 220), (x, 0, x + 2, size))
    return picture


def test_webp_keeps_colour_edges_that_plain_yuv_conversion_smears() -> None:
    # Given thin saturated stripes, and its judge
    picture = _colour_edges(256)
    judge = quality.Judge(picture)
    # When the WebP rendition and Pillow's own WebP are made at the same quality
    ours = quality.encode(picture, "WEBP", 80)
    plain = io.BytesIO()
    picture.save(plain, "WEBP", quality=80, method=quality.WEBP_EFFORT)
    # Then ours (sharp YUV conversion) scores clearly higher
    assert judge.score(ours) > judge.score(plain.getvalue()) + 5


def test_webp_keeps_transparency() -> None:
    picture = Image.new("RGBA", (40, 30), (10, 200, 30, 128))
    decoded = Image.open(io.BytesIO(quality.encode(picture, "WEBP", 80)))
    assert decoded.format == "WEBP"
    assert decoded.mode == "RGBA"
    assert decoded.size == (40, 30)
    assert decoded.getchannel("A").getextrema() == (128, 128)


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP", "AVIF"])
def test_the_exact_search_finds_the_lowest_quality_that_meets_the_target(fmt: str) -> None:
    # Given a picture and its judge
    picture = natural_picture(200, 150)
    judge = quality.Judge(picture)
    # When the lowest passing quality is searched exactly
    found = quality.QualitySearch(picture, fmt, judge).bisect()
    # Then it meets the target, one quality lower (encoded afresh) does not, and the bytes are its own
    assert found.score >= judge.target
    assert judge.score(quality.encode(picture, fmt, found.quality - 1)) < judge.target
    assert found.data == quality.encode(picture, fmt, found.quality)


def test_a_guess_that_passes_costs_one_encode_and_a_miss_steps_up_until_one_passes() -> None:
    picture = natural_picture(200, 150)
    judge = quality.Judge(picture)
    answer = quality.QualitySearch(picture, "WEBP", judge).bisect().quality
    # A guess at or above the answer, with no steps to spare, is verified by one encode and kept
    high = quality.QualitySearch(picture, "WEBP", judge)
    assert high.from_guess(answer + 3, points_per_step=100.0).quality == answer + 3
    assert len(high.tried) == 1
    # A guess below it is corrected upward to a passing quality
    low = quality.QualitySearch(picture, "WEBP", judge)
    found = low.from_guess(answer - 10, 1.0)
    assert found.score >= judge.target
    assert answer <= found.quality
    assert 2 <= len(low.tried) <= 4


def test_a_guess_far_above_the_answer_tries_once_where_its_spare_steps_lead() -> None:
    picture = natural_picture(200, 150)
    judge = quality.Judge(picture)
    answer = quality.QualitySearch(picture, "AVIF", judge).bisect().quality
    # When the guess is 25 steps too high and a step is worth what it is near the answer (2 points)
    search = quality.QualitySearch(picture, "AVIF", judge)
    found = search.from_guess(answer + 25, points_per_step=2.0)
    # Then a second encode lands lower, still passing, and no third is made
    assert len(search.tried) == 2
    assert found.score >= judge.target
    assert answer <= found.quality < answer + 25


def test_out_of_reach_the_search_gives_the_best_it_can() -> None:
    picture = natural_picture(120, 90)
    judge = quality.Judge(picture)
    judge.target = 101.0  # no encoding scores above 100
    search = quality.QualitySearch(picture, "JPEG", judge)
    assert search.bisect().quality == quality.HIGHEST
    assert search.from_guess(quality.HIGHEST - 1, 5.0).quality == quality.HIGHEST


def test_when_the_spare_steps_overshoot_the_two_scores_bracket_one_last_probe() -> None:
    picture = natural_picture(200, 150)
    judge = quality.Judge(picture)
    answer = quality.QualitySearch(picture, "AVIF", judge).bisect().quality
    # When the guess is 25 steps too high and the expected points per step are far too few
    search = quality.QualitySearch(picture, "AVIF", judge)
    found = search.from_guess(answer + 25, points_per_step=0.5)
    # Then the probe its spare steps lead to fails, and the line between the two scores places a
    # third that passes, well below the guess
    assert len(search.tried) == 3
    assert min(search.tried) < answer
    assert found.score >= judge.target
    assert answer <= found.quality <= answer + 15  # the curve bends: a chord aims a little high
