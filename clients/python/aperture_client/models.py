# Generated from the API's OpenAPI document by `pipenv run client-models`: do not edit.

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field


class Error1(BaseModel):
    code: str
    message: str


class Error(BaseModel):
    error: Error1


class Health(BaseModel):
    """
    The service is up; its clock, which Story expiry is measured by.
    """

    status: Literal["ok"]
    server_time: float


class OpenApiDocument(BaseModel):
    """
    This document: OpenAPI 3.1.
    """

    openapi: str
    info: dict[str, str]
    paths: dict[str, Any]
    components: dict[str, Any]


class SrBank(BaseModel):
    shape: list[int]
    dtype: str
    data: str
    """
    base64 of the filters, little-endian
    """


class SrBuckets(BaseModel):
    angles: int
    strengths: int
    coherences: int


class SrModel(BaseModel):
    """
    The super-resolution filters, for upscaling low tiers on the device.
    """

    version: str
    scale: int
    radius: int
    buckets: SrBuckets
    strength_edges: list[float]
    coherence_edges: list[float]
    banks: dict[str, SrBank]
    reference_implementation: str


class DevToken(BaseModel):
    """
    A development ID token (the local stack only).
    """

    id_token: str
    token_type: Literal["Bearer"]
    expires_in: int


class DevLogin(BaseModel):
    user_id: Annotated[str, Field(pattern="^[A-Za-z0-9_-]{1,64}$")]
    lifetime_seconds: Annotated[int | None, Field(ge=60, le=86400)] = 3600
    groups: list[Literal["moderators"]] | None = []
    """
    Cognito groups to claim
    """


class Profile(BaseModel):
    """
    A user's profile and counts.
    """

    user_id: str
    username: str
    display_name: str
    bio: str
    archive_stories: bool
    follower_count: int
    following_count: int
    created_at: float
    updated_at: float


class NewProfile(BaseModel):
    username: Annotated[str, Field(pattern="^[a-z0-9._]{3,30}$")]
    display_name: Annotated[str | None, Field(max_length=64)] = ""
    bio: Annotated[str | None, Field(max_length=300)] = ""
    archive_stories: bool | None = True
    """
    keep expired Stories for highlights
    """


class ProfileChanges(BaseModel):
    username: Annotated[str | None, Field(pattern="^[a-z0-9._]{3,30}$")] = None
    display_name: Annotated[str | None, Field(max_length=64)] = None
    bio: Annotated[str | None, Field(max_length=300)] = None
    archive_stories: bool | None = None


class AccountDeletionScheduled(BaseModel):
    """
    The account will be deleted at ``deletes_at`` unless its owner signs in before.
    """

    user_id: str
    deletes_at: float
    state: Literal["scheduled"]


class AccountExport(BaseModel):
    """
    An export of the caller's data: pending, failed, or ready with a link to its zip.
    """

    user_id: str
    export_id: str
    state: Literal["pending", "ready", "failed"]
    url: str | None = None
    """
    a presigned GET of the zip, once ready
    """
    url_expires_at: float | None = None


class FollowState(BaseModel):
    """
    The follow edge after this request; ``applied`` is false when a later tap already won.
    """

    follower_id: str
    followee_id: str
    following: bool
    updated_at: int
    """
    the client timestamp of the tap that holds
    """
    applied: bool


class FollowRequest(BaseModel):
    following: bool
    client_timestamp: Annotated[int, Field(ge=0, le=1000000000000000)]
    """
    the client's clock, in epoch milliseconds
    """


class Follower(BaseModel):
    user_id: str
    since: int


class UserPage(BaseModel):
    """
    A page of users, with the cursor of the next page (null on the last).
    """

    users: list[Follower]
    next_cursor: str | None


class Playback(BaseModel):
    mp4: str
    """
    the fast-start MP4's key
    """
    mp4_url: str
    hls: str | None = None
    """
    the HLS master playlist's key, once laddered
    """
    hls_url: str | None = None


class PostMedia(BaseModel):
    media_id: str
    alt_text: str
    """
    what a screen reader says of it; empty when none was given
    """


class Rendition(BaseModel):
    key: str
    url: str
    """
    where clients fetch it: the CDN in AWS, the local stack's /cdn locally
    """
    format: str
    width: int
    height: int | None = None
    name: str | None = None
    bytes: int | None = None
    quality: int | None = None
    ssimulacra2: float | None = None
    target: float | None = None


class Post(BaseModel):
    """
    A post and its like count.
    """

    post_id: str
    author_id: str
    caption: str
    state: Literal["pending", "published"]
    like_count: int
    comment_count: int | None = 0
    created_at: float
    published_at: float | None = None
    media_id: str | None = None
    """
    the first media item: the cover
    """
    media_items: Annotated[list[PostMedia] | None, Field(validate_default=True)] = []
    """
    every media item, in order (0 to 10)
    """
    delivery: Literal["fanout", "merge"] | None = None
    """
    how followers' feeds got it: rows written, or merged on read
    """


class MediaItem(BaseModel):
    media_id: Annotated[str, Field(pattern="^[A-Za-z0-9_-]{1,64}$")]
    alt_text: Annotated[str | None, Field(max_length=1000)] = ""
    """
    what a screen reader says of it
    """


class NewPost(BaseModel):
    caption: Annotated[str | None, Field(max_length=2200)] = ""
    media_id: Annotated[str | None, Field(pattern="^[A-Za-z0-9_-]{1,64}$")] = None
    """
    one item, no alt text
    """
    media: Annotated[list[MediaItem] | None, Field(max_length=10, min_length=1)] = None
    """
    1 to 10 items, photos and videos, in order
    """


class PostDeleted(BaseModel):
    """
    The post is gone; its likes and media follow asynchronously.
    """

    post_id: str
    deleted: bool


class Comment(BaseModel):
    """
    A comment, or a reply when it has a ``parent_id``; a held one is shown to no one yet.
    """

    post_id: str
    comment_id: str
    author_id: str
    text: str
    created_at: float
    state: Literal["shown", "held"]
    parent_id: str | None = None
    reply_count: int


class NewComment(BaseModel):
    text: Annotated[str, Field(max_length=2200, min_length=1)]
    reply_to: Annotated[str | None, Field(pattern="^[A-Za-z0-9_-]{1,64}$")] = None
    """
    the comment this one answers; replies take no replies
    """


class CommentPage(BaseModel):
    """
    Comments, oldest first.
    """

    items: list[Comment]
    next_cursor: str | None


class CommentRemoved(BaseModel):
    """
    The comment and its replies are gone; the post's count after it.
    """

    post_id: str
    comment_id: str
    deleted: bool
    comment_count: int


class FeedPost(BaseModel):
    post_id: str
    author_id: str
    caption: str
    state: Literal["pending", "published"]
    like_count: int
    comment_count: int | None = 0
    created_at: float
    published_at: float | None = None
    media_id: str | None = None
    """
    the first media item: the cover
    """
    media_items: Annotated[list[PostMedia] | None, Field(validate_default=True)] = []
    """
    every media item, in order (0 to 10)
    """
    delivery: Literal["fanout", "merge"] | None = None
    """
    how followers' feeds got it: rows written, or merged on read
    """
    source: Literal["fanout", "merged"]


class FeedPage(BaseModel):
    """
    The home feed, newest first.
    """

    items: list[FeedPost]
    next_cursor: str | None


class Reason(BaseModel):
    source: str
    score: float


class Interaction(BaseModel):
    """
    The recorded interaction; ``duplicate`` when its event_id was seen before.
    """

    user_id: str
    event_id: str
    post_id: str
    action: str
    watch_seconds: float
    network: str | None = None
    at: float
    duplicate: bool


class NewInteraction(BaseModel):
    """
    One action on a post; ``event_id`` is the client's, so a retried request counts once.
    """

    event_id: Annotated[str, Field(pattern="^[A-Za-z0-9_-]{8,64}$")]
    action: Literal["view", "comment", "share", "save", "report"]
    watch_seconds: Annotated[float | None, Field(ge=0.0, le=21600.0)] = 0.0
    network: Literal["wifi", "4g", "3g", "2g", "slow-2g"] | None = None


class BlockState(BaseModel):
    """
    Whether the caller now blocks the user.
    """

    blocker_id: str
    blocked_id: str
    blocked: bool


class Notification(BaseModel):
    notification_id: str
    user_id: str
    kind: str
    message: str
    created_at: float
    media_id: str | None = None
    post_id: str | None = None
    comment_id: str | None = None
    actor_id: str | None = None
    """
    who did what this is about
    """


class NotificationPage(BaseModel):
    """
    The caller's notifications, newest first.
    """

    items: list[Notification]
    next_cursor: str | None


class BlocklistAddition(BaseModel):
    """
    The blocklist entry, with how many perceptual hashes it added.
    """

    entry_id: str
    added_by: str
    added_at: float
    reason: str
    hashes: int


class BlocklistEntry(BaseModel):
    media_id: Annotated[str | None, Field(pattern="^[A-Za-z0-9_-]{1,64}$")] = None
    pdq: Annotated[str | None, Field(pattern="^[0-9a-f]{64}$")] = None
    """
    a PDQ hash, 64 hex digits
    """
    reason: Annotated[str, Field(max_length=500, min_length=1)]


class Moderation(BaseModel):
    """
    The verdict; moderators also see how it was reached.
    """

    verdict: str
    decided_at: float
    reason: str | None = None
    pdq: str | None = None
    pdq_quality: float | None = None
    decided_by: str | None = None


class ReviewOutcome(BaseModel):
    """
    The moderator's verdict, and how many posts it published.
    """

    media_id: str
    verdict: str
    reason: str
    published: int


class ReviewDecision(BaseModel):
    verdict: Literal["approved", "blocked"]
    note: Annotated[str | None, Field(max_length=500)] = ""


class ModerationTerm(BaseModel):
    """
    A term on the moderators' list: comments containing it are held for review.
    """

    term: str
    """
    its words as matched: case-folded, accents removed
    """
    reason: str
    added_by: str
    added_at: float


class NewTerm(BaseModel):
    term: Annotated[str, Field(max_length=100, min_length=1)]
    """
    a word or phrase; case and accents ignored
    """
    reason: Annotated[str, Field(max_length=500, min_length=1)]


class HeldComment(BaseModel):
    post_id: str
    comment_id: str
    author_id: str
    text: str
    created_at: float
    state: Literal["shown", "held"]
    parent_id: str | None = None
    reply_count: int
    held_for: str
    """
    the moderators' term it matched
    """


class HeldCommentPage(BaseModel):
    """
    Comments held for review, oldest first.
    """

    items: list[HeldComment]
    next_cursor: str | None


class CommentVerdict(BaseModel):
    """
    A moderator's decision on a held comment.
    """

    post_id: str
    comment_id: str
    verdict: Literal["approved", "removed"]


class CommentDecision(BaseModel):
    verdict: Literal["approved", "removed"]


class PresignedPost(BaseModel):
    url: str
    fields: dict[str, str]
    """
    form fields to send before the file, in this order
    """


class UploadStarted(BaseModel):
    """
    Where to POST the file (fields first, then the file part), and the pending media's id.
    """

    media_id: str
    state: Literal["pending"]
    upload: PresignedPost
    expires_in: int
    expires_at: float


class UploadIntent(BaseModel):
    content_type: Literal[
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/avif",
        "image/heic",
        "image/heif",
        "image/gif",
        "video/mp4",
        "video/quicktime",
        "video/webm",
    ]
    size: Annotated[int, Field(ge=1, le=104857600)]
    """
    bytes the client will upload
    """
    filter: Literal["clarendon", "gingham", "juno", "lark", "moon", "reyes", "valencia"] | None = None


class Variant(BaseModel):
    name: str
    codecs: str
    width: int
    height: int
    bps: int
    enhanced_by: str | None = None
    """
    the super-resolution model's version
    """


class LikeState(BaseModel):
    """
    Whether the caller likes the post; ``changed`` when this request changed it.
    """

    post_id: str
    liked: bool
    changed: bool
    like_count: int


class Story(BaseModel):
    """
    A Story, live until ``expires_at``.
    """

    author_id: str
    story_id: str
    media_id: str
    created_at: float
    expires_at: float


class NewStory(BaseModel):
    media_id: Annotated[str, Field(pattern="^[A-Za-z0-9_-]{1,64}$")]


class StoryList(BaseModel):
    """
    Live Stories with the server's time: show none whose expires_at has passed it.
    """

    items: list[Story]
    server_time: float


class TrayEntry(BaseModel):
    author_id: str
    latest_story_at: float
    expires_at: float
    unseen: bool
    score: float


class Tray(BaseModel):
    """
    Followed authors with live Stories, with the server's time.
    """

    items: list[TrayEntry]
    server_time: float


class StoryRemoved(BaseModel):
    """
    The Story is taken down.
    """

    author_id: str
    story_id: str
    deleted: bool


class StorySeen(BaseModel):
    """
    The Story is marked seen by the caller.
    """

    author_id: str
    story_id: str
    seen: bool


class PinnedHighlight(BaseModel):
    """
    A named highlight and its Stories.
    """

    name: str
    stories: list[Story]


class Highlight(BaseModel):
    story_ids: Annotated[list[str], Field(max_length=100, min_length=1)]


class Highlights(BaseModel):
    """
    A user's highlights.
    """

    items: list[PinnedHighlight]


class GridMedia(BaseModel):
    media_id: str
    kind: str
    state: str
    content_type: str | None = None
    width: int
    height: int
    renditions: list[Rendition]
    thumbhash: str
    playback: Playback | None = None


class GridPost(BaseModel):
    post_id: str
    author_id: str
    caption: str
    state: Literal["pending", "published"]
    like_count: int
    comment_count: int | None = 0
    created_at: float
    published_at: float | None = None
    media_id: str | None = None
    """
    the first media item: the cover
    """
    media_items: Annotated[list[PostMedia] | None, Field(validate_default=True)] = []
    """
    every media item, in order (0 to 10)
    """
    delivery: Literal["fanout", "merge"] | None = None
    """
    how followers' feeds got it: rows written, or merged on read
    """
    media: GridMedia | None


class GridPage(BaseModel):
    """
    A user's posts, newest first, each with its media for the grid.
    """

    items: list[GridPost]
    next_cursor: str | None


class ExploreItem(BaseModel):
    post_id: str
    author_id: str
    kind: str
    media_items: Annotated[list[PostMedia] | None, Field(validate_default=True)] = []
    """
    the post's media, in order
    """
    media: GridMedia | None = None
    """
    the first item as shown, with renditions
    """
    reason: Reason


class ExplorePage(BaseModel):
    """
    Posts from outside the caller's network, each with why it was chosen.
    """

    items: list[ExploreItem]
    fallbacks: list[str]
    """
    what the page fell back on, if anything
    """
    model_version: str | None


class HeldMedia(BaseModel):
    media_id: str
    owner_id: str
    moderation: Moderation
    renditions: list[Rendition]


class ReviewPage(BaseModel):
    """
    Media held for review, oldest first.
    """

    items: list[HeldMedia]
    next_cursor: str | None


class Ladder(BaseModel):
    master: str
    variants: list[Variant]
    av1_failure: str | None = None


class Media(BaseModel):
    """
    A media item's state and, once processed, its renditions, ThumbHash and playback. Anyone
    but its owner and moderators sees the public fields only (no owner, times or moderation).
    """

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
