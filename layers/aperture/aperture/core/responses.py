"""What each API route answers: the 2xx bodies the OpenAPI document describes.

Every route names its model (``Api.route(..., response=...)``); the end-to-end tests validate each
real answer against the served document, so an answer that gains, loses or retypes a field fails
there before a client meets it. Models forbid fields they do not name for that reason.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from aperture.core import examples

Cursor = str | None


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _example(answer: dict[str, Any]) -> ConfigDict:
    """A model's config with a real answer as its example in the document."""
    return ConfigDict(extra="forbid", json_schema_extra={"examples": [answer]})


class Health(_Body):
    """The service is up; its clock, which Story expiry is measured by."""

    status: Literal["ok"]
    server_time: float


class OpenApiDocument(_Body):
    """This document: OpenAPI 3.1."""

    openapi: str
    info: dict[str, str]
    paths: dict[str, Any]
    components: dict[str, Any]


class SrBank(_Body):
    shape: list[int]
    dtype: str
    data: str = Field(description="base64 of the filters, little-endian")


class SrBuckets(_Body):
    angles: int
    strengths: int
    coherences: int


class SrModel(_Body):
    """The super-resolution filters, for upscaling low tiers on the device."""

    version: str
    scale: int
    radius: int
    buckets: SrBuckets
    strength_edges: list[float]
    coherence_edges: list[float]
    banks: dict[str, SrBank]
    reference_implementation: str


class DevToken(_Body):
    """A development ID token (the local stack only)."""

    id_token: str
    token_type: Literal["Bearer"]
    expires_in: int


class Profile(_Body):
    """A user's profile and counts."""

    model_config = _example(examples.PROFILE)

    user_id: str
    username: str
    display_name: str
    bio: str
    archive_stories: bool
    follower_count: int
    following_count: int
    created_at: float
    updated_at: float


class AccountDeletionScheduled(_Body):
    """The account will be deleted at ``deletes_at`` unless its owner signs in before."""

    user_id: str
    deletes_at: float
    state: Literal["scheduled"]


class AccountExport(_Body):
    """An export of the caller's data: pending, failed, or ready with a link to its zip."""

    user_id: str
    export_id: str
    state: Literal["pending", "ready", "failed"]
    url: str | None = Field(default=None, description="a presigned GET of the zip, once ready")
    url_expires_at: float | None = None


class FollowState(_Body):
    """The follow edge after this request; ``applied`` is false when a later tap already won."""

    model_config = _example(examples.FOLLOW_STATE)

    follower_id: str
    followee_id: str
    following: bool
    updated_at: int = Field(description="the client timestamp of the tap that holds")
    applied: bool


class Follower(_Body):
    user_id: str
    since: int


class UserPage(_Body):
    """A page of users, with the cursor of the next page (null on the last)."""

    users: list[Follower]
    next_cursor: Cursor


class Rendition(_Body):
    key: str
    url: str = Field(description="where clients fetch it: the CDN in AWS, the local stack's /cdn locally")
    format: str
    width: int
    height: int | None = None
    name: str | None = None
    bytes: int | None = None
    quality: int | None = None
    ssimulacra2: float | None = None
    target: float | None = None


class GridMedia(_Body):
    media_id: str
    kind: str
    state: str
    content_type: str | None = None
    width: int
    height: int
    renditions: list[Rendition]
    thumbhash: str
    playback: Playback | None = None


class PostMedia(_Body):
    media_id: str
    alt_text: str = Field(description="what a screen reader says of it; empty when none was given")


class Post(_Body):
    """A post and its like count."""

    model_config = _example(examples.POST)

    post_id: str
    author_id: str
    caption: str
    state: Literal["pending", "published"]
    like_count: int
    comment_count: int = 0
    created_at: float
    published_at: float | None = None
    media_id: str | None = Field(default=None, description="the first media item: the cover")
    media_items: list[PostMedia] = Field(default=[], description="every media item, in order (0 to 10)")
    delivery: Literal["fanout", "merge"] | None = Field(
        default=None, description="how followers' feeds got it: rows written, or merged on read"
    )


class GridPost(Post):
    model_config = ConfigDict(extra="forbid", json_schema_extra={})  # not Post's example

    media: GridMedia | None


class GridPage(_Body):
    """A user's posts, newest first, each with its media for the grid."""

    items: list[GridPost]
    next_cursor: Cursor


class PostDeleted(_Body):
    """The post is gone; its likes and media follow asynchronously."""

    post_id: str
    deleted: bool


class FeedPost(Post):
    model_config = _example(examples.FEED_PAGE["items"][0])

    source: Literal["fanout", "merged"]


class FeedPage(_Body):
    """The home feed, newest first."""

    model_config = _example(examples.FEED_PAGE)

    items: list[FeedPost]
    next_cursor: Cursor


class Reason(_Body):
    source: str
    score: float


class ExploreItem(_Body):
    post_id: str
    author_id: str
    kind: str
    media_items: list[PostMedia] = Field(default=[], description="the post's media, in order")
    media: GridMedia | None = Field(default=None, description="the first item as shown, with renditions")
    reason: Reason


class ExplorePage(_Body):
    """Posts from outside the caller's network, each with why it was chosen."""

    model_config = _example(examples.EXPLORE_PAGE)

    items: list[ExploreItem]
    fallbacks: list[str] = Field(description="what the page fell back on, if anything")
    model_version: str | None


class Interaction(_Body):
    """The recorded interaction; ``duplicate`` when its event_id was seen before."""

    user_id: str
    event_id: str
    post_id: str
    action: str
    watch_seconds: float
    network: str | None = None
    at: float
    duplicate: bool


class Comment(_Body):
    """A comment, or a reply when it has a ``parent_id``; a held one is shown to no one yet."""

    model_config = _example(examples.COMMENT)

    post_id: str
    comment_id: str
    author_id: str
    text: str
    created_at: float
    state: Literal["shown", "held"]
    parent_id: str | None = None
    reply_count: int


class CommentPage(_Body):
    """Comments, oldest first."""

    items: list[Comment]
    next_cursor: Cursor


class CommentRemoved(_Body):
    """The comment and its replies are gone; the post's count after it."""

    post_id: str
    comment_id: str
    deleted: bool
    comment_count: int


class HeldComment(Comment):
    model_config = ConfigDict(extra="forbid", json_schema_extra={})

    held_for: str = Field(description="the moderators' term it matched")


class HeldCommentPage(_Body):
    """Comments held for review, oldest first."""

    items: list[HeldComment]
    next_cursor: Cursor


class CommentVerdict(_Body):
    """A moderator's decision on a held comment."""

    post_id: str
    comment_id: str
    verdict: Literal["approved", "removed"]


class ModerationTerm(_Body):
    """A term on the moderators' list: comments containing it are held for review."""

    term: str = Field(description="its words as matched: case-folded, accents removed")
    reason: str
    added_by: str
    added_at: float


class BlockState(_Body):
    """Whether the caller now blocks the user."""

    blocker_id: str
    blocked_id: str
    blocked: bool


class Notification(_Body):
    notification_id: str
    user_id: str
    kind: str
    message: str
    created_at: float
    media_id: str | None = None
    post_id: str | None = None
    comment_id: str | None = None
    actor_id: str | None = Field(default=None, description="who did what this is about")


class NotificationPage(_Body):
    """The caller's notifications, newest first."""

    items: list[Notification]
    next_cursor: Cursor


class BlocklistAddition(_Body):
    """The blocklist entry, with how many perceptual hashes it added."""

    entry_id: str
    added_by: str
    added_at: float
    reason: str
    hashes: int


class Moderation(_Body):
    """The verdict; moderators also see how it was reached."""

    verdict: str
    decided_at: float
    reason: str | None = None
    pdq: str | None = None
    pdq_quality: float | None = None
    decided_by: str | None = None


class HeldMedia(_Body):
    media_id: str
    owner_id: str
    moderation: Moderation
    renditions: list[Rendition]


class ReviewPage(_Body):
    """Media held for review, oldest first."""

    items: list[HeldMedia]
    next_cursor: Cursor


class ReviewOutcome(_Body):
    """The moderator's verdict, and how many posts it published."""

    media_id: str
    verdict: str
    reason: str
    published: int


class PresignedPost(_Body):
    url: str
    fields: dict[str, str] = Field(description="form fields to send before the file, in this order")


class UploadStarted(_Body):
    """Where to POST the file (fields first, then the file part), and the pending media's id."""

    model_config = _example(examples.UPLOAD_STARTED)

    media_id: str
    state: Literal["pending"]
    upload: PresignedPost
    expires_in: int
    expires_at: float


class Playback(_Body):
    mp4: str = Field(description="the fast-start MP4's key")
    mp4_url: str
    hls: str | None = Field(default=None, description="the HLS master playlist's key, once laddered")
    hls_url: str | None = None


class Variant(_Body):
    name: str
    codecs: str
    width: int
    height: int
    bps: int
    enhanced_by: str | None = Field(default=None, description="the super-resolution model's version")


class Ladder(_Body):
    master: str
    variants: list[Variant]
    av1_failure: str | None = None


class Media(_Body):
    """A media item's state and, once processed, its renditions, ThumbHash and playback. Anyone
    but its owner and moderators sees the public fields only (no owner, times or moderation)."""

    model_config = _example(examples.MEDIA)

    media_id: str
    owner_id: str | None = None
    state: Literal["pending", "processing", "ready", "failed", "expired"]
    created_at: float | None = None
    updated_at: float | None = None
    declared_size: int | None = None
    declared_type: str | None = None
    upload_key: str | None = None
    unfinished: str | None = None
    content_type: str | None = None
    kind: str | None = None
    priority: bool | None = None
    size: int | None = None
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    thumbhash: str | None = None
    has_alpha: bool | None = None
    filter: str | None = None
    renditions: list[Rendition] | None = None
    playback: Playback | None = None
    ladder: Ladder | None = None
    moderation: Moderation | None = None
    post_ids: list[str] | None = None
    story_ids: list[str] | None = None
    review_queue: str | None = None
    requeued_at: float | None = None
    failure: str | None = None


class LikeState(_Body):
    """Whether the caller likes the post; ``changed`` when this request changed it."""

    model_config = _example(examples.LIKE_STATE)

    post_id: str
    liked: bool
    changed: bool
    like_count: int


class Story(_Body):
    """A Story, live until ``expires_at``."""

    model_config = _example(examples.STORY)

    author_id: str
    story_id: str
    media_id: str
    created_at: float
    expires_at: float


class StoryList(_Body):
    """Live Stories with the server's time: show none whose expires_at has passed it."""

    items: list[Story]
    server_time: float


class TrayEntry(_Body):
    author_id: str
    latest_story_at: float
    expires_at: float
    unseen: bool
    score: float


class Tray(_Body):
    """Followed authors with live Stories, with the server's time."""

    model_config = _example(examples.TRAY)

    items: list[TrayEntry]
    server_time: float


class StoryRemoved(_Body):
    """The Story is taken down."""

    author_id: str
    story_id: str
    deleted: bool


class StorySeen(_Body):
    """The Story is marked seen by the caller."""

    author_id: str
    story_id: str
    seen: bool


class PinnedHighlight(_Body):
    """A named highlight and its Stories."""

    name: str
    stories: list[Story]


class Highlights(_Body):
    """A user's highlights."""

    items: list[PinnedHighlight]
