"""The media sweeper: no upload stays unfinished, whatever killed its job.

Lambda stops a job that outlives its timeout or its memory without a Python exception, so the
pipeline's own last-attempt handling never runs; SQS dead-letters the message and nothing else
happens. The sweeper reads the unfinished records (a sparse index) on a schedule:

- ``pending`` past its upload form's expiry plus a margin: if no file came, the intent was
  abandoned and ends ``expired``; if one came, its routing died, and the media ends ``failed``
  (its owner told) with the file removed.
- ``processing`` past the longest run its pipeline can legitimately take (every receive SQS allows,
  each running to its queue's visibility timeout): the job is sent once more, and if that one dies
  too, the media ends ``failed`` and its owner is told.
"""

from __future__ import annotations

from aperture.core import clock
from aperture.core.aws import client
from aperture.core.config import resource_name
from aperture.core.jobs import MAX_ATTEMPTS
from aperture.core.messages import MediaJob
from aperture.media import records
from aperture.media.routing import send_job
from aperture.media.sniff import Kind
from aperture.media.tables import Media

PENDING_WINDOW = records.UPLOAD_URL_SECONDS + 300  # the form's life, then five minutes' grace
# Each pipeline queue's visibility timeout (template.yaml), times the receives SQS allows.
VISIBILITY_TIMEOUTS = {Kind.IMAGE: 720, Kind.VIDEO: 1800}
PROCESSING_WINDOWS = {kind: MAX_ATTEMPTS * seconds for kind, seconds in VISIBILITY_TIMEOUTS.items()}
STUCK_REASON = "processing did not finish: it timed out or ran out of memory"
UNROUTED_REASON = "the file arrived but was never routed to processing"


def sweep(now: float | None = None) -> dict[str, int]:
    """End what is stuck; returns how many records it expired, sent again and failed."""
    now = clock.now() if now is None else now
    report = {"expired": 0, "requeued": 0, "failed": 0}
    for media in Media.unfinished_index.query("pending", Media.updated_at < now - PENDING_WINDOW):
        outcome = _end_pending(media)
        if outcome:
            report[outcome] += 1
    oldest = now - min(PROCESSING_WINDOWS.values())
    for media in Media.unfinished_index.query("processing", Media.updated_at < oldest):
        kind = Kind(media.kind or Kind.IMAGE.value)
        if media.updated_at >= now - PROCESSING_WINDOWS[kind]:
            continue  # a video, still within its longer window
        outcome = _unstick(media, kind)
        if outcome:
            report[outcome] += 1
    return report


def _end_pending(media: Media) -> str | None:
    s3, bucket, key = client("s3"), resource_name(records.UPLOADS_BUCKET), str(media.upload_key)
    arrived = s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1).get("KeyCount", 0) > 0
    if arrived:
        ended = records.mark_failed(media.media_id, media.owner_id, UNROUTED_REASON)
    else:
        ended = records.mark_expired(media.media_id)
    s3.delete_object(Bucket=bucket, Key=key)  # after the state: a late notification finds it finished
    if not ended:
        return None
    return "failed" if arrived else "expired"


def _unstick(media: Media, kind: Kind) -> str | None:
    if media.requeued_at is None:
        if not records.requeue_stuck(media.media_id):
            return None  # it finished meanwhile
        job = MediaJob(
            media_id=media.media_id,
            owner_id=media.owner_id,
            bucket=resource_name(records.UPLOADS_BUCKET),
            key=str(media.upload_key),
        )
        send_job(job, kind, bool(media.priority))
        return "requeued"
    return "failed" if records.mark_failed(media.media_id, media.owner_id, STUCK_REASON) else None
