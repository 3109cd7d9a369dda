"""The media table's shape: one record per upload, from its intent to its renditions and verdict."""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from aperture.core.tables import TableModel


class ReviewQueue(GlobalSecondaryIndex["Media"]):
    """Sparse: only media held for a moderator carries ``review_queue``."""

    class Meta:
        index_name = "ReviewQueue"
        projection = AllProjection()

    review_queue = UnicodeAttribute(hash_key=True)
    created_at = NumberAttribute(range_key=True)


class Unfinished(GlobalSecondaryIndex["Media"]):
    """Sparse: media still ``pending`` or ``processing``, oldest change first, for the sweeper."""

    class Meta:
        index_name = "Unfinished"
        projection = AllProjection()

    unfinished = UnicodeAttribute(hash_key=True)
    updated_at = NumberAttribute(range_key=True)


class ByOwner(GlobalSecondaryIndex["Media"]):
    class Meta:
        index_name = "ByOwner"
        projection = AllProjection()

    owner_id = UnicodeAttribute(hash_key=True)
    created_at = NumberAttribute(range_key=True)


class Media(TableModel):
    """pending -> processing -> ready | failed, or pending -> expired (see ``records``); the maps
    are free-form."""

    class Meta:
        table_env = "MEDIA_TABLE"

    media_id = UnicodeAttribute(hash_key=True)
    owner_id = UnicodeAttribute()
    state = UnicodeAttribute()
    created_at = NumberAttribute()
    updated_at = NumberAttribute(null=True)
    # the upload intent
    declared_type = UnicodeAttribute(null=True)
    declared_size = NumberAttribute(null=True)
    filter = UnicodeAttribute(null=True)
    upload_key = UnicodeAttribute(null=True)
    # what processing found and made
    kind = UnicodeAttribute(null=True)
    content_type = UnicodeAttribute(null=True)
    size = NumberAttribute(null=True)
    priority = BooleanAttribute(null=True)
    width = NumberAttribute(null=True)
    height = NumberAttribute(null=True)
    has_alpha = BooleanAttribute(null=True)
    duration = NumberAttribute(null=True)
    thumbhash = UnicodeAttribute(null=True)
    renditions = ListAttribute(null=True)  # type: ignore[var-annotated]
    playback = MapAttribute(null=True)  # type: ignore[var-annotated]
    ladder = MapAttribute(null=True)  # type: ignore[var-annotated]
    failure = UnicodeAttribute(null=True)
    unfinished = UnicodeAttribute(null=True)  # the state, while pending or processing
    requeued_at = NumberAttribute(null=True)  # when the sweeper sent a stuck job again (once)
    # moderation, and where the media is shown
    moderation = MapAttribute(null=True)  # type: ignore[var-annotated]
    review_queue = UnicodeAttribute(null=True)
    post_ids = UnicodeSetAttribute(null=True)
    story_ids = UnicodeSetAttribute(null=True)
    review = ReviewQueue()
    unfinished_index = Unfinished()
    by_owner = ByOwner()
