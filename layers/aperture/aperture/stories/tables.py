"""The Stories tables' shapes. One table holds four kinds of item per author, told apart by the
sort key's prefix: ``s_...`` the Stories, ``expired#s_...`` the expiry claims, ``archive#s_...``
the archive and ``highlight#NAME`` the highlights pinned from it. Trays have a table of their own."""

from __future__ import annotations

from pynamodb.attributes import ListAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from aperture.core.tables import TableModel

CLAIM_PREFIX, ARCHIVE_PREFIX, HIGHLIGHT_PREFIX = "expired#", "archive#", "highlight#"


class ByExpiryMinute(GlobalSecondaryIndex["Story"]):
    """What the expiration service asks each minute: the Stories expiring in a given minute."""

    class Meta:
        index_name = "ByExpiryMinute"
        projection = AllProjection()

    expiry_minute = NumberAttribute(hash_key=True)
    expires_at = NumberAttribute(range_key=True)


class Story(TableModel):
    class Meta:
        table_env = "STORIES_TABLE"

    author_id = UnicodeAttribute(hash_key=True)
    story_id = UnicodeAttribute(range_key=True)
    media_id = UnicodeAttribute()
    created_at = NumberAttribute()
    expires_at = NumberAttribute()
    expiry_minute = NumberAttribute()
    tray_delivery = UnicodeAttribute()  # "fanout" or "merge"
    expires_at_epoch = TTLAttribute()  # DynamoDB's TTL deletes it late; reads filter on expires_at
    by_expiry_minute = ByExpiryMinute()


class ExpiryClaim(TableModel):
    """Written once per Story by whichever expiry trigger comes first."""

    class Meta:
        table_env = "STORIES_TABLE"

    author_id = UnicodeAttribute(hash_key=True)
    story_id = UnicodeAttribute(range_key=True)  # expired#<story id>
    claimed_at = NumberAttribute()
    expires_at_epoch = TTLAttribute()  # outlives any late TTL delete of its Story


class ArchivedStory(TableModel):
    class Meta:
        table_env = "STORIES_TABLE"

    author_id = UnicodeAttribute(hash_key=True)
    story_id = UnicodeAttribute(range_key=True)  # archive#<story id>
    media_id = UnicodeAttribute(null=True)
    created_at = NumberAttribute(null=True)
    expires_at = NumberAttribute(null=True)
    archived_at = NumberAttribute()


class PinnedHighlight(TableModel):
    class Meta:
        table_env = "STORIES_TABLE"

    author_id = UnicodeAttribute(hash_key=True)
    story_id = UnicodeAttribute(range_key=True)  # highlight#<name>
    story_ids = ListAttribute[str]()
    updated_at = NumberAttribute()


class TrayRing(TableModel):
    """An author's ring in a viewer's tray, written by fan-out (merged authors' are read live)."""

    class Meta:
        table_env = "TRAYS_TABLE"

    viewer_id = UnicodeAttribute(hash_key=True)
    author_id = UnicodeAttribute(range_key=True)
    latest_story_at = NumberAttribute(null=True)
    expires_at = NumberAttribute(null=True)
    seen_through = NumberAttribute(null=True)
