"""Per-user rate limits, shared by every instance of a function: a counter per user and window.

A fixed window in one conditional update: the count moves only while it is under the limit, so
concurrent requests can never take more than the limit between them. DynamoDB's TTL removes
spent windows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import UpdateError

from aperture.core import clock
from aperture.core.errors import TooManyRequests
from aperture.core.tables import TableModel, condition_failed, ttl


class RateWindow(TableModel):
    class Meta:
        table_env = "RATE_LIMITS_TABLE"

    user_id = UnicodeAttribute(hash_key=True)
    window = UnicodeAttribute(range_key=True)  # "{action}#{window start}"
    used = NumberAttribute()
    expires_at = TTLAttribute()


@dataclass(frozen=True)
class RateLimit:
    action: str  # what is limited, in the words of the error: "comments"
    limit: int
    window_seconds: int

    def take(self, user_id: str) -> None:
        """Count one request of ``user_id``'s, or raise ``TooManyRequests`` when the window is spent."""
        now = clock.now()
        start = math.floor(now / self.window_seconds) * self.window_seconds
        end = start + self.window_seconds
        try:
            RateWindow(user_id, f"{self.action}#{start}").update(
                [RateWindow.used.add(1), RateWindow.expires_at.set(ttl(end))],
                condition=RateWindow.used.does_not_exist() | (RateWindow.used < self.limit),
            )
        except UpdateError as error:
            if not condition_failed(error):
                raise
            raise TooManyRequests(
                f"at most {self.limit} {self.action} in {self.window_seconds} s: try again later",
                retry_after=max(1, math.ceil(end - now)),
            ) from error
