"""Posts moderation flagged after the daily model was built: Explore must drop them at once, not tomorrow.

One item in the Features table (``explore`` / ``unsafe``) holds their ids as a string set;
moderation adds to it, an approval on review takes an id out, and the batch prunes the ids its new
model already knows as unsafe. Serving reads it at most every ``_FRESH_SECONDS``.
"""

from __future__ import annotations

from collections.abc import Iterable

from cachetools import TTLCache, cached

from aperture.explore.tables import UnsafePosts

_KEY = ("explore", "unsafe")
_FRESH_SECONDS = 5


def mark(post_ids: Iterable[str], unsafe: bool) -> None:
    ids = sorted(set(post_ids))
    if not ids:
        return
    flagged = UnsafePosts(*_KEY)
    flagged.update([UnsafePosts.post_ids.add(set(ids)) if unsafe else UnsafePosts.post_ids.delete(set(ids))])
    unsafe_posts.cache_clear()


@cached(TTLCache(maxsize=1, ttl=_FRESH_SECONDS))
def unsafe_posts() -> frozenset[str]:
    try:
        return frozenset(UnsafePosts.get(*_KEY).post_ids or ())
    except UnsafePosts.DoesNotExist:
        return frozenset()
