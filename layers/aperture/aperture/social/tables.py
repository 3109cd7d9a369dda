"""The social tables' shapes: users with their username claims, the follow graph, posts, likes,
comments, blocks and notifications. Keys, indexes and attribute types match ``template.yaml``."""

from __future__ import annotations

import zlib
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection

from aperture.core.tables import TableModel


class MergedAuthors(GlobalSecondaryIndex["User"]):
    """Sparse: only authors whose posts feeds merge on read carry ``merge_group``."""

    class Meta:
        index_name = "MergedAuthors"
        projection = IncludeProjection(["merge_until"])

    merge_group = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute(range_key=True)


class User(TableModel):
    class Meta:
        table_env = "USERS_TABLE"

    user_id = UnicodeAttribute(hash_key=True)
    username = UnicodeAttribute(null=True)
    display_name = UnicodeAttribute(null=True)
    bio = UnicodeAttribute(null=True)
    archive_stories = BooleanAttribute(null=True)
    created_at = NumberAttribute(null=True)
    updated_at = NumberAttribute(null=True)
    follower_count = NumberAttribute(null=True)
    following_count = NumberAttribute(null=True)
    merge_group = UnicodeAttribute(null=True)
    merge_until = NumberAttribute(null=True)
    # A merged author's newest merged posts, as feed keys (see feed.home.add_to_head)
    merged_head = UnicodeSetAttribute(null=True)
    last_active_at = NumberAttribute(null=True)
    dormant_since = NumberAttribute(null=True)
    # A deletion the user asked for: it runs at deletes_at unless they sign in before (accounts)
    deletes_at = NumberAttribute(null=True)
    sign_in_name = UnicodeAttribute(null=True)  # the Cognito user to delete with the account
    merged_authors = MergedAuthors()


class UsernameClaim(TableModel):
    """One per username, in the users table, so a username is unique (``username#NAME``)."""

    class Meta:
        table_env = "USERS_TABLE"

    user_id = UnicodeAttribute(hash_key=True)
    owner_id = UnicodeAttribute()

    @staticmethod
    def key(username: str) -> str:
        return f"username#{username}"


class Followers(GlobalSecondaryIndex["Edge"]):
    """Sparse: an edge carries ``active_followee_id`` only while the follow is on."""

    class Meta:
        index_name = "Followers"
        projection = AllProjection()

    active_followee_id = UnicodeAttribute(hash_key=True)
    follower_id = UnicodeAttribute(range_key=True)


class Audience(GlobalSecondaryIndex["Edge"]):
    """Sparse: live edges of followers who are not dormant, the ones fan-out writes to."""

    class Meta:
        index_name = "Audience"
        projection = KeysOnlyProjection()

    audience_of = UnicodeAttribute(hash_key=True)
    follower_id = UnicodeAttribute(range_key=True)


class ByFollowee(GlobalSecondaryIndex["Edge"]):
    """Every edge to a user, tombstones included: what deleting the account must find."""

    class Meta:
        index_name = "ByFollowee"
        projection = KeysOnlyProjection()

    followee_id = UnicodeAttribute(hash_key=True)
    follower_id = UnicodeAttribute(range_key=True)


class Edge(TableModel):
    """A follow edge; it stays as a tombstone after an unfollow, for last-write-wins."""

    class Meta:
        table_env = "GRAPH_TABLE"

    follower_id = UnicodeAttribute(hash_key=True)
    followee_id = UnicodeAttribute(range_key=True)
    following = BooleanAttribute()
    updated_at = NumberAttribute()  # the client's timestamp of the change that set it
    active_followee_id = UnicodeAttribute(null=True)
    audience_of = UnicodeAttribute(null=True)
    interactions = NumberAttribute(null=True)
    last_interaction_at = NumberAttribute(null=True)
    followers = Followers()
    audience = Audience()
    by_followee = ByFollowee()


class ByAuthor(GlobalSecondaryIndex["Post"]):
    class Meta:
        index_name = "ByAuthor"
        projection = AllProjection()

    author_id = UnicodeAttribute(hash_key=True)
    created_at = NumberAttribute(range_key=True)


DAY_SHARDS = 16  # a day's posts spread over this many partitions of ByDay (1,000 writes/s each)
CATALOGUE_ATTRIBUTES = ["author_id", "state", "media_id", "media_items"]  # what Explore's batches read


def day_partition(post_id: str, created_at: float) -> str:
    """The ByDay partition of a post: its UTC day and a shard fixed by its id."""
    shard = zlib.crc32(post_id.encode()) % DAY_SHARDS
    return _partition(datetime.fromtimestamp(created_at, UTC).date(), shard)


def day_partitions(since: float, until: float) -> list[str]:
    """Every ByDay partition that holds posts made from ``since`` to ``until``."""
    first, last = (datetime.fromtimestamp(moment, UTC).date() for moment in (since, max(since, until)))
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return [_partition(day, shard) for day in days for shard in range(DAY_SHARDS)]


def _partition(day: date, shard: int) -> str:
    return f"{day.isoformat()}#{shard:02d}"


class ByDay(GlobalSecondaryIndex["Post"]):
    """Posts by the day they were made, so Explore's batches read the last days, never the table."""

    class Meta:
        index_name = "ByDay"
        projection = IncludeProjection(CATALOGUE_ATTRIBUTES)

    created_day = UnicodeAttribute(hash_key=True)
    created_at = NumberAttribute(range_key=True)


class PostMedia(MapAttribute[str, str]):
    """One media item of a post, with the text a screen reader says of it."""

    media_id = UnicodeAttribute()
    alt_text = UnicodeAttribute()  # "" when there is none


class Post(TableModel):
    class Meta:
        table_env = "POSTS_TABLE"

    post_id = UnicodeAttribute(hash_key=True)
    author_id = UnicodeAttribute()
    caption = UnicodeAttribute(null=True)
    media_id = UnicodeAttribute(null=True)  # the first media item: the cover
    media_items = ListAttribute(of=PostMedia, null=True)  # every item, in order, 1 to 10
    created_at = NumberAttribute()
    like_count = NumberAttribute(null=True)
    comment_count = NumberAttribute(null=True)
    state = UnicodeAttribute()
    published_at = NumberAttribute(null=True)
    delivery = UnicodeAttribute(null=True)  # "fanout" or "merge"
    created_day = UnicodeAttribute(null=True)  # see day_partition
    by_author = ByAuthor()
    by_day = ByDay()

    def to_dict(self) -> dict[str, Any]:
        """As stored, with ``media_items`` for a post from before carousels too (its one item), and
        without ``created_day``, the index's key, which is not the post's."""
        item = super().to_dict()
        item.pop("created_day", None)
        if self.media_id and not self.media_items:
            item["media_items"] = [{"media_id": self.media_id, "alt_text": ""}]
        return item


class ByLiker(GlobalSecondaryIndex["Like"]):
    """A user's likes, wherever they are."""

    class Meta:
        index_name = "ByLiker"
        projection = KeysOnlyProjection()

    user_id = UnicodeAttribute(hash_key=True)
    post_id = UnicodeAttribute(range_key=True)


class Like(TableModel):
    class Meta:
        table_env = "LIKES_TABLE"

    post_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute(range_key=True)
    liked_at = NumberAttribute()
    by_liker = ByLiker()


class Threads(GlobalSecondaryIndex["Comment"]):
    """Sparse: a shown comment carries ``thread_id`` (its post's id, or its parent comment's for a
    reply), so one query lists a post's comments or a comment's replies, oldest first."""

    class Meta:
        index_name = "Threads"
        projection = AllProjection()

    thread_id = UnicodeAttribute(hash_key=True)
    created_at = NumberAttribute(range_key=True)


class HeldComments(GlobalSecondaryIndex["Comment"]):
    """Sparse: only comments held for a moderator carry ``review_queue``."""

    class Meta:
        index_name = "HeldComments"
        projection = AllProjection()

    review_queue = UnicodeAttribute(hash_key=True)
    created_at = NumberAttribute(range_key=True)


class ByCommenter(GlobalSecondaryIndex["Comment"]):
    """A user's comments, wherever they are: what deleting the account must find."""

    class Meta:
        index_name = "ByCommenter"
        projection = KeysOnlyProjection()

    author_id = UnicodeAttribute(hash_key=True)
    created_at = NumberAttribute(range_key=True)


class Comment(TableModel):
    class Meta:
        table_env = "COMMENTS_TABLE"

    post_id = UnicodeAttribute(hash_key=True)
    comment_id = UnicodeAttribute(range_key=True)
    author_id = UnicodeAttribute()
    text = UnicodeAttribute()
    created_at = NumberAttribute()
    state = UnicodeAttribute()  # "shown" or "held"
    parent_id = UnicodeAttribute(null=True)  # the comment this one replies to
    reply_count = NumberAttribute(null=True)
    thread_id = UnicodeAttribute(null=True)
    review_queue = UnicodeAttribute(null=True)
    held_for = UnicodeAttribute(null=True)  # the term it matched
    threads = Threads()
    held = HeldComments()
    by_commenter = ByCommenter()


class ByBlocked(GlobalSecondaryIndex["Block"]):
    class Meta:
        index_name = "ByBlocked"
        projection = KeysOnlyProjection()

    blocked_id = UnicodeAttribute(hash_key=True)
    blocker_id = UnicodeAttribute(range_key=True)


class Block(TableModel):
    class Meta:
        table_env = "BLOCKS_TABLE"

    blocker_id = UnicodeAttribute(hash_key=True)
    blocked_id = UnicodeAttribute(range_key=True)
    created_at = NumberAttribute()
    by_blocked = ByBlocked()


class ByActor(GlobalSecondaryIndex["Notification"]):
    """Sparse: notifications about what someone did (a comment) carry ``actor_id``."""

    class Meta:
        index_name = "ByActor"
        projection = KeysOnlyProjection()

    actor_id = UnicodeAttribute(hash_key=True)
    notification_id = UnicodeAttribute(range_key=True)


class Notification(TableModel):
    class Meta:
        table_env = "NOTIFICATIONS_TABLE"

    user_id = UnicodeAttribute(hash_key=True)
    notification_id = UnicodeAttribute(range_key=True)  # time-ordered: newest sorts last
    kind = UnicodeAttribute()
    message = UnicodeAttribute()
    created_at = NumberAttribute()
    media_id = UnicodeAttribute(null=True)  # what it is about
    post_id = UnicodeAttribute(null=True)
    comment_id = UnicodeAttribute(null=True)
    actor_id = UnicodeAttribute(null=True)  # who did it
    by_actor = ByActor()
