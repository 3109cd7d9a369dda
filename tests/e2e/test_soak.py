"""The soak benchmark's short version: 15 uploads through the API with faults injected (the
benchmark, ``pipenv run bench soak``, sends hundreds)."""

from __future__ import annotations

import pytest

from benchmarks.soak import soak

pytestmark = pytest.mark.slow(seconds=30)


def test_fifteen_uploads_under_faults_all_end_and_no_count_drifts() -> None:
    # Given transient errors, kills, duplicate deliveries (three times the benchmark's share, so a
    # short run meets some) and a classifier outage on every asynchronous function (the outage from
    # 5 s to 60 s: the first photos reached moderation after 25 s once, on a loaded CI machine);
    # When 15 uploads, their posts, follows, likes and Stories go through
    result = soak(uploads=15, users=8, outage_seconds=55, drain_timeout=600, duplicates=0.15)

    # Then every accepted upload ended, nothing was posted twice and no count drifted
    assert result["uploads_accepted"] == 15
    assert result["uploads_terminal"] == 15
    assert result["uploads_stuck"] == 0
    assert result["duplicate_posts"] == 0
    assert result["like_count_drift"] == 0
    assert result["follow_count_drift"] == 0
    # with the faults really injected
    assert result["errors_injected"] > 0
    assert result["duplicates_injected"] > 0
    assert result["classifier_outage_calls"] > 0
