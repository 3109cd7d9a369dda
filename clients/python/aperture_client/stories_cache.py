"""Client-side Story validation, as the seed prescribes for apps (a reference for the mobile teams).

The server is authoritative for time: every Stories response carries ``server_time``. A client
compares it with its own clock; within five minutes it trusts its clock (offline display keeps
working), beyond that it corrects by the measured skew, so a fast clock does not hide live
Stories and a slow one does not show expired ones. Nothing expired is ever displayed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aperture_client import models

SKEW_TOLERANCE_SECONDS = 300


@dataclass(frozen=True)
class CachedStory:
    author_id: str
    story_id: str
    expires_at: float  # server time


@dataclass
class StoriesCache:
    local_clock: Callable[[], float] = time.time
    skew: float = 0.0  # server time minus local time, as last measured
    stories: dict[str, CachedStory] = field(default_factory=dict)
    tray: list[str] = field(default_factory=list)

    def observe_server_time(self, server_time: float) -> None:
        self.skew = server_time - self.local_clock()

    @property
    def skewed(self) -> bool:
        return abs(self.skew) > SKEW_TOLERANCE_SECONDS

    def now(self) -> float:
        """The time to judge expiry by: the local clock, corrected when it is off by over 5 min."""
        local = self.local_clock()
        return local + self.skew if self.skewed else local

    def displayable(self, story: CachedStory) -> bool:
        return story.expires_at > self.now()

    def remember(self, response: models.StoryList) -> None:
        """Keep the Stories of a ``list_stories`` answer."""
        self.observe_server_time(response.server_time)
        for item in response.items:
            self.stories[item.story_id] = CachedStory(item.author_id, item.story_id, item.expires_at)

    def display(self, author_id: str) -> list[CachedStory]:
        """What may be shown now; expired Stories are dropped from the cache on the way."""
        for story in [s for s in self.stories.values() if not self.displayable(s)]:
            del self.stories[story.story_id]
        return sorted(
            (s for s in self.stories.values() if s.author_id == author_id), key=lambda s: s.expires_at
        )

    def resume(self, server_tray: models.Tray) -> list[str]:
        """Back from offline: drop what expired meanwhile, then take the server's tray as truth."""
        self.observe_server_time(server_tray.server_time)
        live_authors = {entry.author_id for entry in server_tray.items}
        for story in list(self.stories.values()):
            if not self.displayable(story) or story.author_id not in live_authors:
                del self.stories[story.story_id]
        self.tray = [entry.author_id for entry in server_tray.items]
        return self.tray
