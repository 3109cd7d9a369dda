"""The follow button as the seed prescribes it for apps: taps while a request is in flight send nothing.

Unlike the seed's sketch, a tap made meanwhile is not lost: when the request returns and the
server's state differs from the last tap, that state is sent, once. Every request carries the time
of its tap, and the server keeps the latest (last write wins), so a request that arrives late
never undoes a later one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from aperture_client import models
from aperture_client.client import Aperture


class FollowButton:
    def __init__(
        self,
        api: Aperture,
        user_id: str,
        followee_id: str,
        *,
        following: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.api, self.user_id, self.followee_id, self.clock = api, user_id, followee_id, clock
        self.wanted = following
        self.sent = 0  # requests made, however many taps
        self._tapped_at = 0
        self._in_flight = False
        self._lock = threading.Lock()

    def tap(self) -> models.FollowState | None:
        """Toggle; returns the server's state once it matches the last tap, or None when a request
        already in flight will carry this tap."""
        with self._lock:
            self.wanted = not self.wanted
            self._tapped_at = max(self._tapped_at + 1, int(self.clock() * 1000))
            if self._in_flight:
                return None
            self._in_flight = True
        try:
            while True:
                with self._lock:
                    wanted, tapped_at = self.wanted, self._tapped_at
                    self.sent += 1
                state = self.api.set_follow(
                    self.user_id, self.followee_id, wanted, client_timestamp=tapped_at
                )
                with self._lock:
                    if state.following == self.wanted:
                        self._in_flight = False
                        return state
        except BaseException:
            with self._lock:
                self._in_flight = False
            raise
