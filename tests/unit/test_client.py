"""The client never shows an expired Story, whatever its own clock says."""

from __future__ import annotations

from aperture_client.models import Story, StoryList, Tray, TrayEntry
from aperture_client.stories_cache import CachedStory, StoriesCache

SERVER_NOW = 1_795_000_000.0


def _cache(local_offset: float) -> tuple[StoriesCache, list[float]]:
    """A cache whose device clock is ``local_offset`` seconds off the server's."""
    device = [SERVER_NOW + local_offset]
    return StoriesCache(local_clock=lambda: device[0]), device


def _response(*stories: tuple[str, float]) -> StoryList:
    return StoryList(
        server_time=SERVER_NOW,
        items=[
            Story(
                author_id="u_a",
                story_id=sid,
                media_id=f"m_{sid}",
                created_at=SERVER_NOW + left - 86_400,
                expires_at=SERVER_NOW + left,
            )
            for sid, left in stories
        ],
    )


def test_a_clock_ten_minutes_fast_still_shows_a_story_with_five_minutes_left() -> None:
    cache, _ = _cache(+600)
    cache.remember(_response(("s_1", 300)))
    assert cache.skewed
    assert [s.story_id for s in cache.display("u_a")] == ["s_1"]


def test_a_clock_ten_minutes_slow_does_not_show_a_story_that_expired() -> None:
    cache, device = _cache(-600)
    cache.remember(_response(("s_1", 60)))
    device[0] += 61  # a minute later on the device: the server says the Story has expired
    assert cache.display("u_a") == []
    assert "s_1" not in cache.stories


def test_a_small_skew_is_tolerated_and_the_device_clock_used() -> None:
    cache, device = _cache(+120)
    cache.remember(_response(("s_1", 100)))
    assert not cache.skewed
    assert cache.now() == device[0]
    assert [s.story_id for s in cache.display("u_a")] == []  # by the device's clock it expired 20 s ago


def test_resume_after_offline_drops_expired_stories_and_takes_the_servers_tray() -> None:
    cache, device = _cache(0)
    cache.remember(_response(("s_old", 60), ("s_new", 7200)))
    cache.stories["s_gone"] = CachedStory("u_unfollowed", "s_gone", SERVER_NOW + 9999)
    device[0] += 3600  # an hour offline
    live = TrayEntry(
        author_id="u_a", latest_story_at=SERVER_NOW, expires_at=SERVER_NOW + 9e3, unseen=True, score=1
    )
    tray = cache.resume(Tray(server_time=SERVER_NOW + 3600, items=[live]))
    assert tray == ["u_a"]
    assert set(cache.stories) == {"s_new"}
