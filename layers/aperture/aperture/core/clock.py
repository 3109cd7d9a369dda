"""The one clock of the domain.

Every timestamp Aperture writes (a Story's ``expires_at``, a follow edge's ``updated_at``) comes
from here, so tests can freeze time and the local stack can run a day of Story life in minutes.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch, as a float with sub-millisecond precision."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()


class ScaledClock:
    """Wall time that runs ``speed`` times faster, starting from the moment it is created."""

    def __init__(self, speed: float, start: float | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._origin_wall = time.time()
        self._origin = self._origin_wall if start is None else start

    def now(self) -> float:
        return self._origin + (time.time() - self._origin_wall) * self.speed


class ManualClock:
    """A clock that moves only when told to: the tests' clock."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, epoch_seconds: float) -> None:
        self._now = epoch_seconds


_current: Clock = SystemClock()


def get_clock() -> Clock:
    return _current


def set_clock(clock: Clock) -> Clock:
    """Install ``clock`` process-wide and return the one it replaced."""
    global _current
    previous, _current = _current, clock
    return previous


def now() -> float:
    return _current.now()


def now_ms() -> int:
    return int(_current.now() * 1000)
