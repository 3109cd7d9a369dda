"""The Explore tables' shapes: the interactions log (its stream feeds real-time features) and the
online feature store, whose items are told apart by their keys:

- ``user#<id>`` / ``profile``: the batch's embedding (float32 bytes), community and kind taste;
- ``user#<id>`` / ``recent``: the last 100 actions, newest first, kept by the stream consumer;
- ``user#<id>`` / ``session``: the app open of their last Explore request, and the one before;
- ``explore`` / ``unsafe``: posts moderation flagged after the daily model was built.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BinaryAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)

from aperture.core.tables import TableModel


class Interaction(TableModel):
    class Meta:
        table_env = "INTERACTIONS_TABLE"

    user_id = UnicodeAttribute(hash_key=True)
    event_id = UnicodeAttribute(range_key=True)  # the client's, so a retried request counts once
    post_id = UnicodeAttribute()
    action = UnicodeAttribute()
    watch_seconds = NumberAttribute()
    network = UnicodeAttribute(null=True)  # the client's, where it said
    at = NumberAttribute()
    expires_at = TTLAttribute()


class UserFeatureSet(TableModel):
    """A user's ``profile`` or ``recent`` features: one model, so serving reads both in one
    BatchGetItem."""

    class Meta:
        table_env = "FEATURES_TABLE"

    entity_id = UnicodeAttribute(hash_key=True)  # user#<id>
    feature_set = UnicodeAttribute(range_key=True)  # profile | recent | session
    # profile, written by the daily batch
    vector = BinaryAttribute(legacy_encoding=False, null=True)  # float32 embedding
    tower = BinaryAttribute(legacy_encoding=False, null=True)  # float32 two-tower user vector
    community = NumberAttribute(null=True)
    kinds = ListAttribute[float](null=True)
    batch_version = UnicodeAttribute(null=True)
    # recent, kept by the stream consumer
    version = NumberAttribute(null=True)  # optimistic concurrency between stream batches
    # [[post id, action, when], ...] as one JSON string: 100 maps of three attributes made the item
    # twice the size (twice the read units) and took moto 40 ms to serialise on every page.
    recent_actions = JSONAttribute(null=True)
    # session, kept by Explore's requests: the app open a page was asked in, and the one before it
    session_id = UnicodeAttribute(null=True)
    opened_at = NumberAttribute(null=True)
    previous_opened_at = NumberAttribute(null=True)


class UnsafePosts(TableModel):
    class Meta:
        table_env = "FEATURES_TABLE"

    entity_id = UnicodeAttribute(hash_key=True)  # explore
    feature_set = UnicodeAttribute(range_key=True)  # unsafe
    post_ids = UnicodeSetAttribute(null=True)
