"""The feeds table's shape: one row per (viewer, post) that fan-out delivered."""

from __future__ import annotations

from pynamodb.attributes import TTLAttribute, UnicodeAttribute

from aperture.core.tables import TableModel


class FeedRow(TableModel):
    class Meta:
        table_env = "FEEDS_TABLE"

    user_id = UnicodeAttribute(hash_key=True)
    feed_key = UnicodeAttribute(range_key=True)  # creation time in ms, then the post id: see ``home``
    post_id = UnicodeAttribute()
    author_id = UnicodeAttribute()
    expires_at_epoch = TTLAttribute()  # when the post leaves the feed window
