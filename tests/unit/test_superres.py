"""Super-resolution: the shipped filters beat bicubic on held-out footage, and are never load-bearing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from aperture.media import superres
from aperture.media.ladder import rungs
from aperture.media.video import Probe
from tests.conftest import function_module, load_event
from tools.train import sr as training


@pytest.fixture(scope="module")
def held_out_frame() -> np.ndarray:
    """A frame of bikes (camera footage the model never saw), 320 x 272 of its middle."""
    frame = next(training.clip_frames("bikes", 1, slice(125, 126)))
    return frame[:, 160:480]


@pytest.fixture
def model_at(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "sr_model.npz"
    monkeypatch.setattr(superres, "MODEL_PATH", path)
    superres.shipped_model.cache_clear()
    yield path
    superres.shipped_model.cache_clear()


def test_the_shipped_model_beats_bicubic_on_a_held_out_frame_in_both_banks(
    held_out_frame: np.ndarray,
) -> None:
    model = superres.shipped_model()
    for bank, encoded, least_gain in (("clean", False, 1.0), ("compressed", True, 0.1)):
        # Given the frame halved (and, for the compressed bank, through the low tier's encoder)
        pair = training.degrade("bikes", held_out_frame, encoded)
        # When the model doubles it
        upscaled = model.upscale_luma(pair.low, bank)
        # Then it is the original's size and closer to it than bicubic
        assert upscaled.shape == held_out_frame.shape
        gain = training.psnr(upscaled, held_out_frame) - training.psnr(
            training.bicubic(pair.low), held_out_frame
        )
        assert gain > least_gain, (bank, gain)


def test_strips_on_threads_give_the_same_pixels_as_one_pass(held_out_frame: np.ndarray) -> None:
    model = superres.shipped_model()
    low = training.halve(held_out_frame)
    assert np.array_equal(model.upscale_luma(low, threads=1), model.upscale_luma(low, threads=3))


def test_a_frame_doubles_with_chroma_and_without_a_model_by_lanczos(held_out_frame: np.ndarray) -> None:
    # Given a yuv420p frame as PyAV lays it out (Y, then U and V)
    luma = training.halve(held_out_frame)
    height, width = luma.shape
    chroma = np.full((height // 2, width), 128, np.uint8)
    planes = np.concatenate([luma, chroma])
    for model in (superres.shipped_model(), None):
        # When it is doubled
        bigger = superres.upscale_frame(model, planes)
        # Then luma is the model's (or Lanczos'), and flat chroma stays flat
        assert bigger.shape == (height * 3, width * 2)
        expected = model.upscale_luma(luma) if model else superres.lanczos(luma)
        assert np.array_equal(bigger[: height * 2], expected)
        assert np.all(bigger[height * 2 :] == 128)


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"not a zip", "unreadable"),
        (None, "no super-resolution model ships"),
    ],
)
def test_a_missing_or_corrupt_model_is_an_error_the_ladder_can_fall_back_on(
    model_at: Path, data: bytes | None, why: str
) -> None:
    if data is not None:
        model_at.write_bytes(data)
    with pytest.raises(superres.SrModelError, match=why):
        superres.shipped_model()


def test_a_model_of_another_shape_is_refused() -> None:
    model = superres.shipped_model()
    banks = {**model.banks, "clean": model.banks["clean"][:, :9]}
    with pytest.raises(superres.SrModelError, match="shape"):
        superres.SrModel(model.version, banks, model.strength_edges, model.coherence_edges)
    assert superres.SrModel.from_bytes(model.to_bytes()).version == model.version


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((640, 272), [(1280, 544, True), (854, 362, True), (640, 272, False)]),
        ((176, 144), [(352, 288, True), (176, 144, False)]),
        ((480, 854), [(960, 1708, True), (718, 1280, True), (480, 854, False), (358, 640, False)]),
        ((1280, 720), [(1280, 720, False), (854, 480, False), (640, 360, False)]),
    ],
)
def test_low_resolution_sources_get_super_resolved_rungs_up_to_twice_their_size(
    size: tuple[int, int], expected: list[tuple[int, int, bool]]
) -> None:
    probe = Probe(*size, rotation=0, seconds=1.0, fps=30.0, video_codec="h264", audio_codec=None)
    assert [(r.width, r.height, r.enhanced) for r in rungs(probe, "libx264")] == expected


def test_the_ladder_counts_jobs_enhanced_by_lanczos(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the function, and a job whose enhanced rungs were made without the model
    app = function_module("video_ladder")
    outcome = {"media_id": "m_1", "outcome": "laddered", "variants": 4, "enhanced_variants": 2}
    outcome["sr_model_error"] = "the super-resolution model is unreadable"
    monkeypatch.setattr(app, "process_video_ladder", lambda job: outcome)
    app.metrics.clear_metrics()  # Powertools shares one metric set per process
    record = SQSRecord(load_event("video_ladder/ladder_job.json")["Records"][0])
    # When it handles the record
    app.encode_ladder(record)
    # Then the fallback is a metric an alarm can watch
    assert app.metrics.metric_set["SuperResolutionModelUnavailable"]["Value"] == [1.0]
    app.metrics.clear_metrics()
