"""The moderation tables' shapes: known-bad pictures by PDQ hash (with their likely crops), and the
terms comments are held for."""

from __future__ import annotations

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute

from aperture.core.tables import TableModel


class BlocklistItem(TableModel):
    class Meta:
        table_env = "MODERATION_BLOCKLIST_TABLE"

    entry_id = UnicodeAttribute(hash_key=True)  # the first hash
    pdq = UnicodeAttribute()
    variants = ListAttribute[str](null=True)  # hashes of the picture and its likely crops
    reason = UnicodeAttribute(null=True)
    added_by = UnicodeAttribute(null=True)
    added_at = NumberAttribute(null=True)


class Term(TableModel):
    class Meta:
        table_env = "MODERATION_TERMS_TABLE"

    term = UnicodeAttribute(hash_key=True)  # its words, folded, joined by one space
    reason = UnicodeAttribute()
    added_by = UnicodeAttribute()
    added_at = NumberAttribute()
