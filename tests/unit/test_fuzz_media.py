"""A short run of the media fuzzer: mutated files of every accepted kind through the real
processors end processed or refused with a reason, never in a crash (``pipenv run fuzz media``
runs it for longer and writes benchmarks/results/fuzz_media.json)."""

from __future__ import annotations

import pytest

from tools.fuzz import media


@pytest.mark.slow(seconds=30)
def test_two_hundred_mutated_files_end_processed_or_refused() -> None:
    report = media.run(seconds=240, seed=7, workers=2, files_at_most=200)
    assert report["files"] >= 200
    assert report["crash_samples"] == []
    assert report["crashes"] == 0
    assert set(report["mutations"]) == set(media.MUTATIONS)
    assert any(outcome.startswith("refused: ") for outcome in report["outcomes"])
    assert report["outcomes"].get("processed", 0) > 0
