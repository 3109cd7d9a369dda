"""Media records: pending -> processing -> ready | failed, and the upload intent that starts them.

A transition is a conditional write on the state it leaves, so duplicate deliveries and racing
workers cannot move a record backwards or finish it twice. A failure records its reason on the
record and a notification for the owner. An intent whose file never came ends ``expired``. While a
record is unfinished it carries ``unfinished`` (its state), which the sweeper's index lists.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import BaseModel, ConfigDict, Field
from pynamodb.exceptions import UpdateError

from aperture.core import clock
from aperture.core.aws import client
from aperture.core.config import resource_name
from aperture.core.errors import Conflict, NotFound
from aperture.core.identity import Caller
from aperture.core.ids import new_id
from aperture.core.jobs import MAX_ATTEMPTS, PermanentError, attempt
from aperture.core.tables import condition_failed
from aperture.media.filters import LOOKS
from aperture.media.tables import Media
from aperture.social.notifications import notify

UPLOADS_BUCKET = "UPLOADS_BUCKET"
MEDIA_BUCKET = "MEDIA_BUCKET"
MAX_UPLOAD_BYTES = 100 * 1024 * 1024
UPLOAD_URL_SECONDS = 600
OPEN_STATES = ("pending", "processing")
FINISHED_STATES = ("ready", "failed", "expired")
ContentType = Literal[
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


class UploadIntent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content_type: ContentType
    size: int = Field(ge=1, le=MAX_UPLOAD_BYTES, description="bytes the client will upload")
    filter: Literal[tuple(LOOKS)] | None = None  # type: ignore[valid-type]


def upload_key(owner_id: str, media_id: str) -> str:
    return f"uploads/{owner_id}/{media_id}/original"


def create_upload(caller: Caller, intent: UploadIntent) -> dict[str, Any]:
    """A pending media record and a presigned POST for its bytes, straight to S3."""
    media_id = new_id("m")
    key = upload_key(caller.user_id, media_id)
    now = clock.now()
    record = Media(
        media_id,
        owner_id=caller.user_id,
        state="pending",
        unfinished="pending",
        created_at=now,
        updated_at=now,
        declared_type=intent.content_type,
        declared_size=intent.size,
        filter=intent.filter,
        upload_key=key,
    )
    record.save(condition=Media.media_id.does_not_exist())
    post = client("s3").generate_presigned_post(
        Bucket=resource_name(UPLOADS_BUCKET),
        Key=key,
        Fields={"Content-Type": intent.content_type},
        Conditions=[
            {"Content-Type": intent.content_type},
            ["content-length-range", 1, intent.size],
            {"key": key},
        ],
        ExpiresIn=UPLOAD_URL_SECONDS,
    )
    return {
        "media_id": media_id,
        "state": "pending",
        "upload": post,
        "expires_in": UPLOAD_URL_SECONDS,
        "expires_at": now + UPLOAD_URL_SECONDS,
    }


def still_open(intent: dict[str, Any]) -> dict[str, Any]:
    """An upload intent, replayed or not, whose form can still be used; a replay of one whose form
    expired is a 409, never a dead form. An intent stored before responses carried ``expires_at``
    cannot show its form is alive, so it counts as expired."""
    if clock.now() >= intent.get("expires_at", 0):
        raise Conflict(
            f"the upload form for {intent['media_id']} expired; start a new upload with a new Idempotency-Key"
        )
    return intent


def find_media(media_id: str) -> dict[str, Any] | None:
    try:
        return Media.get(media_id, consistent_read=True).to_dict()
    except Media.DoesNotExist:
        return None


def get_media(media_id: str) -> dict[str, Any]:
    record = find_media(media_id)
    if record is None:
        raise NotFound(f"there is no media {media_id}")
    return record


# What anyone may see of media that is shown (approved, ready, in a post or a Story).
_PUBLIC = (
    "media_id",
    "kind",
    "state",
    "content_type",
    "width",
    "height",
    "renditions",
    "thumbhash",
    "playback",
)


def with_urls(media: dict[str, Any]) -> dict[str, Any]:
    """``media`` with the URL of each stored object beside its key: on the CDN in AWS (the
    template passes the distribution's domain as MEDIA_BASE_URL), on the local stack's own server
    on a laptop. Clients fetch these; keys stay for tools that read the bucket."""
    base = resource_name("MEDIA_BASE_URL").rstrip("/")
    linked = dict(media)
    if media.get("renditions"):
        linked["renditions"] = [
            rendition | {"url": f"{base}/{rendition['key']}"} for rendition in media["renditions"]
        ]
    if media.get("playback"):
        urls = {f"{name}_url": f"{base}/{key}" for name, key in media["playback"].items()}
        linked["playback"] = media["playback"] | urls
    return linked


def view_media(caller: Caller, media_id: str) -> dict[str, Any]:
    """What ``caller`` may see of a media record (README, "Who sees what").

    Moderators see it all; the owner sees their record with the verdict but not how it was reached
    (no blocklist entry, distance or moderator's text); anyone else sees only media that is shown,
    and only what a viewer needs. Anything else is a 404, as if it did not exist."""
    record = get_media(media_id)
    if caller.is_moderator:
        return with_urls(record)
    if record["owner_id"] == caller.user_id:
        moderation = record.get("moderation", {})
        verdict = {key: moderation[key] for key in ("verdict", "decided_at") if key in moderation}
        own = {key: value for key, value in record.items() if key != "moderation"}
        return with_urls(own | ({"moderation": verdict} if verdict else {}))
    if is_shown(record):
        return _public(record)
    raise NotFound(f"there is no media {media_id}")


def shown_media(media_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """What anyone may see of each media item among ``media_ids`` that is shown, by id."""
    found = (media.to_dict() for media in Media.batch_get(sorted(set(media_ids))))
    return {m["media_id"]: _public(m) for m in found if is_shown(m)}


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return with_urls({key: record[key] for key in _PUBLIC if key in record})


def is_cleared(media: dict[str, Any]) -> bool:
    """Ready, and approved by moderation: it may be shown."""
    return media.get("state") == "ready" and media.get("moderation", {}).get("verdict") == "approved"


def is_shown(media: dict[str, Any]) -> bool:
    return is_cleared(media) and bool(media.get("post_ids") or media.get("story_ids"))


def attach(media_id: str, field: Literal["post_ids", "story_ids"], item_id: str) -> dict[str, Any]:
    """Record a post or a Story on its media; returns the media as it is after that."""
    media = Media(media_id)
    media.update([getattr(Media, field).add({item_id})])
    return media.to_dict()


def _transition(media_id: str, allowed_from: tuple[str, ...], values: dict[str, Any]) -> bool:
    """Set ``values`` if the record is in one of ``allowed_from``; False when it was not. A new
    state keeps ``unfinished`` in step: set while open, removed once finished."""
    actions = [getattr(Media, name).set(value) for name, value in values.items()]
    if "state" in values:
        state = values["state"]
        actions.append(Media.unfinished.set(state) if state in OPEN_STATES else Media.unfinished.remove())
    try:
        Media(media_id).update(actions, condition=Media.state.is_in(*allowed_from))
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True


def mark_processing(media_id: str, kind: str, content_type: str, size: int, priority: bool = False) -> bool:
    return _transition(
        media_id,
        ("pending", "processing"),
        {
            "state": "processing",
            "kind": kind,
            "content_type": content_type,
            "size": size,
            "priority": priority,  # a large account's: its moderation goes through the priority queue
            "updated_at": clock.now(),
        },
    )


def mark_ready(media_id: str, result: dict[str, Any]) -> bool:
    return _transition(media_id, ("processing",), {**result, "state": "ready", "updated_at": clock.now()})


def attach_ladder(media_id: str, ladder: dict[str, Any], playback: dict[str, Any]) -> bool:
    """Swap a ready video's playback to its HLS ladder; False when it is not ready (or gone)."""
    return _transition(
        media_id, ("ready",), {"ladder": ladder, "playback": playback, "updated_at": clock.now()}
    )


def unfinished(media_id: str) -> dict[str, Any] | None:
    """The record a processing job works on; None once it is finished (a repeated job)."""
    record = find_media(media_id)
    if record is None:
        raise PermanentError(f"there is no media {media_id}")
    return None if record["state"] in FINISHED_STATES else record


@contextmanager
def failing_on_last_attempt(record: SQSRecord, media_id: str, owner_id: str) -> Iterator[None]:
    """If the job's last try fails too, the media is failed now and its owner told (the DLQ keeps it)."""
    try:
        yield
    except Exception:
        if attempt(record) >= MAX_ATTEMPTS:
            mark_failed(media_id, owner_id, f"processing failed {MAX_ATTEMPTS} times")
        raise


def mark_failed(media_id: str, owner_id: str, reason: str) -> bool:
    """Fail the media (unless it already finished) and tell its owner why."""
    failed = _transition(
        media_id, OPEN_STATES, {"state": "failed", "failure": reason, "updated_at": clock.now()}
    )
    if failed:
        notify(owner_id, "upload_failed", f"Your upload could not be processed: {reason}", media_id=media_id)
    return failed


def mark_expired(media_id: str) -> bool:
    """An intent whose file never came: it ends here, without a notification, since its owner
    walked away from it."""
    reason = "no file arrived before the upload form expired"
    return _transition(
        media_id, ("pending",), {"state": "expired", "failure": reason, "updated_at": clock.now()}
    )


def requeue_stuck(media_id: str) -> bool:
    """Mark a stuck processing record as sent again, once: False if it was already, or finished."""
    now = clock.now()
    try:
        Media(media_id).update(
            [Media.requeued_at.set(now), Media.updated_at.set(now)],
            condition=(Media.state == "processing") & Media.requeued_at.does_not_exist(),
        )
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True
