from __future__ import annotations

import time

import pytest

from aperture.core import clock
from aperture.core.clock import ManualClock, ScaledClock, SystemClock, set_clock


def test_the_manual_clock_moves_only_when_told(manual_clock: ManualClock) -> None:
    start = clock.now()
    assert clock.now() == start
    manual_clock.advance(86_400)
    assert clock.now() == start + 86_400
    assert clock.now_ms() == int((start + 86_400) * 1000)


def test_a_scaled_clock_runs_faster_than_wall_time() -> None:
    scaled = ScaledClock(speed=1000, start=0.0)
    time.sleep(0.05)
    assert 40 <= scaled.now() < 1000  # 50 ms of wall time is about 50 s


def test_a_scaled_clock_refuses_a_speed_that_is_not_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        ScaledClock(speed=0)


def test_set_clock_returns_the_clock_it_replaced() -> None:
    replacement = ManualClock()
    previous = set_clock(replacement)
    try:
        assert isinstance(previous, SystemClock)
        assert clock.get_clock() is replacement
    finally:
        set_clock(previous)
