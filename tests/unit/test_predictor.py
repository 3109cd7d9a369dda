"""The quality model: trained from exact answers, shipped as JSON, and never load-bearing."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from aperture.media import images, predictor
from tests.conftest import ROOT, function_module, load_event, natural_picture
from tools.train import quality as training

FEATURES = predictor.Features(target=75.0, bits_per_pixel=2.0, pixels=640 * 427, colourfulness=30.0)


def _upload(width: int, height: int, seed: int = 1) -> bytes:
    buffer = io.BytesIO()
    natural_picture(width, height, seed).save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


@pytest.fixture
def model_at(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Where the image path reads its model, for this test only."""
    path = tmp_path / "quality_model.json"
    monkeypatch.setattr(predictor, "MODEL_PATH", path)
    predictor.shipped_model.cache_clear()
    yield path
    predictor.shipped_model.cache_clear()


def test_the_shipped_model_loads_and_guesses_a_quality_for_every_format() -> None:
    model = predictor.QualityModel.load()
    assert model is not None
    for fmt in ("JPEG", "WEBP", "AVIF"):
        guess = model.guess(fmt, FEATURES)
        assert guess is not None
        quality, points_per_step = guess
        assert 20 <= quality <= 100
        assert points_per_step > 0


@pytest.mark.slow(seconds=25)
def test_a_retrained_model_changes_the_predictions(model_at: Path) -> None:
    # Given exact answers for two pictures the shipped model never saw
    samples = training.label(_upload(240, 180, seed=5)) + training.label(_upload(180, 240, seed=6))
    assert len(samples) == 2 * 4 * 3  # sizes x formats
    # When a model is fitted on them and saved where the image path reads it
    retrained = predictor.fit(samples, version="test")
    retrained.save(model_at)
    # Then it loads back as fitted, and its guesses are not the shipped model's
    shipped = predictor.QualityModel.load(ROOT / "layers/aperture/aperture/media/quality_model.json")
    assert shipped is not None
    assert predictor.shipped_model() == retrained
    assert [retrained.guess(fmt, FEATURES) for fmt in ("JPEG", "WEBP", "AVIF")] != [
        shipped.guess(fmt, FEATURES) for fmt in ("JPEG", "WEBP", "AVIF")
    ]
    # and at least the fitted share of its first guesses (70%) meet or pass the exact answers
    first = [retrained.guess(s.fmt, s.features) >= (s.quality, 0) for s in samples]  # type: ignore[operator]
    assert sum(first) >= 0.7 * len(samples) - 1


@pytest.mark.parametrize(
    "content", ["{not json", json.dumps({"version": "x", "features": ["bias"], "formats": {}})]
)
def test_a_corrupt_model_falls_back_to_the_exact_search(model_at: Path, content: str) -> None:
    # Given an unreadable model where the image path reads it
    model_at.write_text(content)
    data = _upload(200, 150)
    # When an upload is processed
    processed = images.process(data)
    # Then every rendition is what the exact search finds, and the result says no model guided it
    assert not processed.predicted
    exact = images.process(data, exact=True)
    assert [(r.format, r.quality, r.data) for r in processed.renditions] == [
        (r.format, r.quality, r.data) for r in exact.renditions
    ]


def test_the_image_processor_counts_jobs_done_without_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the function, and a job whose renditions were searched without the model
    app = function_module("image_processor")
    outcome = {
        "media_id": "m_1",
        "outcome": "ready",
        "renditions": 12,
        "encodes": 80,
        "quality_model": "unavailable",
    }
    monkeypatch.setattr(app, "process_image_job", lambda job: outcome)
    app.metrics.clear_metrics()  # Powertools shares one metric set per process
    record = SQSRecord(load_event("image_processor/image_job.json")["Records"][0])
    # When it handles the record
    app.process_image(record)
    # Then the fallback is a metric an alarm can watch, beside the encodes spent
    metrics = app.metrics.metric_set
    assert metrics["QualityModelUnavailable"]["Value"] == [1.0]
    assert metrics["EncodesPerImage"]["Value"] == [80.0]
    app.metrics.clear_metrics()
