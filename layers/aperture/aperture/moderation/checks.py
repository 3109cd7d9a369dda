"""Moderation of finished media: PDQ hash matching against a blocklist, then a classifier.

Verdicts: ``approved`` (its posts are published), ``blocked`` (never shown anywhere; the owner is
told), ``review`` (held until a moderator decides). When the classifier fails, times out or its
circuit is open, the media is flagged for review and the job retried later: nothing is ever
approved by default, as the seed's rule for a moderation service that is down says.
"""

from __future__ import annotations

import io
import os
import threading
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import pdqhash
import pybreaker
from cachetools import TTLCache
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, model_validator

from aperture.core import clock
from aperture.core.aws import client
from aperture.core.config import resource_name
from aperture.core.errors import Conflict, NotFound, Unprocessable
from aperture.core.identity import Caller, require_moderator
from aperture.core.jobs import PermanentError
from aperture.core.pagination import decode_cursor, encode_cursor
from aperture.explore import safety
from aperture.media.records import MEDIA_BUCKET, find_media, with_urls
from aperture.media.removal import remove_renditions
from aperture.media.tables import Media
from aperture.moderation.tables import BlocklistItem
from aperture.social.notifications import notify
from aperture.social.posts import publish_posts_of

APPROVED, BLOCKED, REVIEW = "approved", "blocked", "review"
MATCH_DISTANCE = 31  # bits of 256: PDQ's recommended threshold for "the same picture"
BLOCK_CONFIDENCE, REVIEW_CONFIDENCE = 90.0, 60.0  # percent, on the classifier's top-level labels
BLOCK_LABELS = frozenset({"Explicit Nudity", "Explicit", "Violence", "Visually Disturbing", "Hate Symbols"})
_breaker = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=60, name="moderation-classifier")


class ClassifierUnavailable(Exception):
    """The classifier could not answer: the media waits in review and the job is retried."""


# ------------------------------------------------------------------------------ the classifier port
class Classifier(Protocol):
    def labels(self, image: bytes) -> list[dict[str, Any]]:
        """Moderation labels: dicts with Name, ParentName and Confidence (percent)."""
        ...


class Rekognition:
    """Amazon Rekognition's moderation labels (images; the poster frame stands in for a video)."""

    def labels(self, image: bytes) -> list[dict[str, Any]]:
        found = client("rekognition").detect_moderation_labels(
            Image={"Bytes": image}, MinConfidence=REVIEW_CONFIDENCE
        )
        return list(found["ModerationLabels"])


class HashMatchOnly:
    """The local stand-in: no classifier at all, so only the blocklist can block or hold media."""

    def labels(self, image: bytes) -> list[dict[str, Any]]:
        return []


CLASSIFIERS: dict[str, type[Classifier]] = {"rekognition": Rekognition, "hash-only": HashMatchOnly}


def classifier() -> Classifier:
    """The configured classifier (``MODERATION_CLASSIFIER``, the template's ModerationClassifier)."""
    name = os.environ.get("MODERATION_CLASSIFIER", "rekognition")
    if name not in CLASSIFIERS:
        raise RuntimeError(f"MODERATION_CLASSIFIER must be one of {sorted(CLASSIFIERS)}, not {name!r}")
    return CLASSIFIERS[name]()


# ------------------------------------------------------------------------------ PDQ and the blocklist
def pdq_hash(image: Image.Image) -> tuple[str, int]:
    """The picture's 256-bit PDQ hash as 64 hex digits, and PDQ's quality score (0 to 100)."""
    bits, quality = pdqhash.compute(np.asarray(image.convert("RGB")))
    return np.packbits(bits.astype(np.uint8)).tobytes().hex(), int(quality)


def crop_variants(image: Image.Image) -> list[str]:
    """PDQ hashes of the picture and of its likely crops (centre 95% and 90%, 95% from each corner
    and each side): PDQ alone misses copies cropped by a few percent, these catch them."""
    width, height = image.size
    keep_w, keep_h = round(width * 0.95), round(height * 0.95)
    boxes = [(0, 0, width, height)]
    for keep in (0.95, 0.90):
        dx, dy = round(width * (1 - keep) / 2), round(height * (1 - keep) / 2)
        boxes.append((dx, dy, width - dx, height - dy))
    for x, y in ((0, 0), (width - keep_w, 0), (0, height - keep_h), (width - keep_w, height - keep_h)):
        boxes.append((x, y, x + keep_w, y + keep_h))
    boxes += [(width - keep_w, 0, width, height), (0, 0, keep_w, height)]
    boxes += [(0, height - keep_h, width, height), (0, 0, width, keep_h)]
    return [pdq_hash(image.crop(box))[0] for box in boxes]


def hamming(a: str, b: str) -> int:
    """Bits that differ between two PDQ hashes."""
    return int.bit_count(int(a, 16) ^ int(b, 16))


def _decoded(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as opened:
        return opened.convert("RGB")


@dataclass(frozen=True)
class Match:
    entry_id: str
    reason: str
    distance: int


_blocklist_lock = threading.Lock()
_blocklist: TTLCache[str, tuple[list[dict[str, Any]], np.ndarray, np.ndarray]] = TTLCache(maxsize=4, ttl=60)


def _entries() -> tuple[list[dict[str, Any]], np.ndarray, np.ndarray]:
    """Blocklist entries, every hash of theirs as a row of bits, and each row's entry (cached)."""
    name = BlocklistItem.physical_name()
    with _blocklist_lock:
        found = _blocklist.get(name)
    if found is None:
        entries = [entry.to_dict() for entry in BlocklistItem.scan()]
        hashes = [(index, pdq) for index, e in enumerate(entries) for pdq in e.get("variants") or [e["pdq"]]]
        rows = np.array([np.frombuffer(bytes.fromhex(pdq), np.uint8) for _, pdq in hashes], np.uint8)
        bits = np.unpackbits(rows.reshape(-1, 32), axis=1)
        found = (entries, bits, np.array([index for index, _ in hashes], np.int64))
        with _blocklist_lock:
            _blocklist[name] = found
    return found


def forget_blocklist() -> None:
    """Reload the blocklist on next use (after an operator adds to it, in this instance)."""
    with _blocklist_lock:
        _blocklist.clear()


def match_blocklist(pdq: str) -> Match | None:
    """The closest blocklisted picture within MATCH_DISTANCE bits, if any."""
    entries, bits, owners = _entries()
    if not entries:
        return None
    query = np.unpackbits(np.frombuffer(bytes.fromhex(pdq), dtype=np.uint8))
    distances = np.count_nonzero(bits != query, axis=1)
    best = int(np.argmin(distances))
    if distances[best] > MATCH_DISTANCE:
        return None
    entry = entries[int(owners[best])]
    return Match(entry["entry_id"], entry.get("reason", ""), int(distances[best]))


def add_to_blocklist(caller: Caller, entry: BlocklistEntry) -> dict[str, Any]:
    """Operators extend the blocklist with a known-bad media item or a PDQ hash from elsewhere."""
    require_moderator(caller)
    if entry.media_id is not None:
        media = find_media(entry.media_id)
        if media is None or media.get("state") != "ready":
            raise NotFound(f"there is no ready media {entry.media_id}")
        try:
            variants = crop_variants(_decoded(_checked_image(media)))
        except PermanentError as error:  # a problem with this media, not with the service
            raise Unprocessable(str(error)) from error
    else:
        variants = [str(entry.pdq)]
    added = BlocklistItem(
        variants[0],
        pdq=variants[0],
        variants=variants,
        reason=entry.reason,
        added_by=caller.user_id,
        added_at=clock.now(),
    )
    added.save()
    forget_blocklist()
    shown = {
        key: value
        for key, value in added.to_dict().items()
        if key in ("entry_id", "reason", "added_by", "added_at")
    }
    return shown | {"hashes": len(variants)}


class BlocklistEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    media_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    pdq: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$", description="a PDQ hash, 64 hex digits")
    reason: str = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _one_source(self) -> BlocklistEntry:
        if (self.media_id is None) == (self.pdq is None):
            raise ValueError("give exactly one of media_id and pdq")
        return self


class ReviewDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verdict: Literal["approved", "blocked"]
    note: str = Field(default="", max_length=500)


# ------------------------------------------------------------------------------ checking media
def _checked_image(media: dict[str, Any]) -> bytes:
    """The rendition moderation looks at: the largest JPEG (the display image, or a video's poster)."""
    jpegs = [r for r in media.get("renditions", []) if r.get("format") == "jpeg" or r["key"].endswith(".jpg")]
    if not jpegs:
        raise PermanentError(f"media {media['media_id']} has no JPEG rendition to check")
    largest = max(jpegs, key=lambda r: int(r.get("width", 0)))
    body = client("s3").get_object(Bucket=resource_name(MEDIA_BUCKET), Key=largest["key"])["Body"]
    data: bytes = body.read()
    return data


def decide(labels: list[dict[str, Any]]) -> tuple[str, str]:
    """Block confident matches of the worst categories; hold anything else the classifier flags."""
    for label in sorted(labels, key=lambda label: -float(label.get("Confidence", 0))):
        category = label.get("ParentName") or label.get("Name", "")
        confidence = float(label.get("Confidence", 0))
        if category in BLOCK_LABELS and confidence >= BLOCK_CONFIDENCE:
            return BLOCKED, f"classifier: {label.get('Name')} ({confidence:.0f}%)"
        if confidence >= REVIEW_CONFIDENCE:
            return REVIEW, f"classifier: {label.get('Name')} ({confidence:.0f}%)"
    return APPROVED, "no blocklist match; the classifier found nothing"


def moderate(media_id: str) -> dict[str, Any]:
    """Check ready media once; a final verdict (approved, blocked, or a moderator's) is never redone."""
    media = find_media(media_id)
    if media is None or media.get("state") != "ready":
        raise PermanentError(f"media {media_id} is missing or not ready")
    current = media.get("moderation", {})
    if current.get("verdict") in (APPROVED, BLOCKED) or current.get("decided_by"):
        return {"media_id": media_id, "verdict": current["verdict"], "outcome": "already decided"}
    image = _checked_image(media)
    pdq, quality = pdq_hash(_decoded(image))
    found = match_blocklist(pdq)
    if found:
        reason = (
            f"matches blocklisted media {found.entry_id[:12]} ({found.distance} bits apart): {found.reason}"
        )
        return record_verdict(media, BLOCKED, reason, pdq=pdq)
    try:
        labels = _breaker.call(classifier().labels, image)
    except Exception as error:  # down, slow, throttled, or the circuit is open: hold, retry later
        record_verdict(media, REVIEW, f"classifier unavailable ({type(error).__name__}): retrying", pdq=pdq)
        raise ClassifierUnavailable(str(error) or type(error).__name__) from error
    verdict, reason = decide(labels)
    return record_verdict(media, verdict, reason, pdq=pdq, pdq_quality=quality)


def hold_for_review(media_id: str, reason: str) -> None:
    """Put ready media without a final verdict in front of a moderator."""
    media = find_media(media_id)
    current = (media or {}).get("moderation", {})
    if media and media.get("state") == "ready" and current.get("verdict") not in (APPROVED, BLOCKED):
        record_verdict(media, REVIEW, reason)


def record_verdict(media: dict[str, Any], verdict: str, reason: str, **details: Any) -> dict[str, Any]:
    """Store the verdict; publish the media's posts when approved, tell the owner when blocked."""
    moderation = {"verdict": verdict, "reason": reason, "decided_at": clock.now(), **details}
    queue = Media.review_queue.set("pending") if verdict == REVIEW else Media.review_queue.remove()
    record = Media(media["media_id"])
    record.update([Media.moderation.set(moderation), queue], condition=Media.state == "ready")
    media = record.to_dict()
    published = publish_posts_of(media) if verdict == APPROVED else 0
    safety.mark(media.get("post_ids", []), unsafe=verdict != APPROVED)  # Explore drops them at once
    if verdict == BLOCKED:
        remove_renditions(media["media_id"])  # out of the bucket, then the CDN's caches
        _notify_blocked(media, reason)
    return {"media_id": media["media_id"], "verdict": verdict, "reason": reason, "published": published}


def _notify_blocked(media: dict[str, Any], reason: str) -> None:
    message = f"Your upload breaks our community guidelines and will not be shown: {reason}"
    notify(media["owner_id"], "media_blocked", message, media_id=media["media_id"])


# ------------------------------------------------------------------------------ moderators
def review_queue(caller: Caller, limit: int, cursor: str | None) -> dict[str, Any]:
    """Media held for review, oldest first, a page at a time."""
    require_moderator(caller)
    start = decode_cursor(
        cursor,
        {"review_queue", "created_at", "media_id"},
        frozenset({"created_at"}),
        partition={"review_queue": "pending"},
    )
    page = Media.review.query("pending", limit=limit, last_evaluated_key=start)
    fields = ("media_id", "owner_id", "moderation", "renditions")
    return {
        "items": [
            with_urls({k: item.get(k) for k in fields}) for item in (media.to_dict() for media in page)
        ],
        "next_cursor": encode_cursor(page.last_evaluated_key),
    }


def decide_review(caller: Caller, media_id: str, decision: ReviewDecision) -> dict[str, Any]:
    """A moderator's decision on media held for review; it is final."""
    require_moderator(caller)
    media = find_media(media_id)
    if media is None:
        raise NotFound(f"there is no media {media_id}")
    if media.get("moderation", {}).get("verdict") != REVIEW:
        raise Conflict(f"media {media_id} is not waiting for review")
    reason = f"moderator {caller.user_id}" + (f": {decision.note}" if decision.note else "")
    return record_verdict(media, decision.verdict, reason, decided_by=caller.user_id)
