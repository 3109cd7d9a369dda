"""The router's decision for one upload: what it really is, whether it is allowed, which queue."""

from __future__ import annotations

import re
from typing import Any

from aperture.core.aws import client
from aperture.core.config import resource_name
from aperture.core.jobs import PermanentError
from aperture.core.messages import MediaJob
from aperture.media import records
from aperture.media.sniff import SNIFF_BYTES, Kind, sniff
from aperture.media.uploads import UploadedObject
from aperture.social.users import get_profile, is_large_account

_KEY = re.compile(r"^uploads/(?P<owner>[A-Za-z0-9_-]{1,64})/(?P<media>[A-Za-z0-9_-]{1,64})/original$")
QUEUES = {
    (Kind.IMAGE, False): "IMAGE_QUEUE_URL",
    (Kind.IMAGE, True): "IMAGE_PRIORITY_QUEUE_URL",
    (Kind.VIDEO, False): "VIDEO_QUEUE_URL",
    (Kind.VIDEO, True): "VIDEO_PRIORITY_QUEUE_URL",
}


def _is_large_account(owner_id: str) -> bool:
    try:
        return is_large_account(get_profile(owner_id))
    except Exception:  # no profile (yet): an ordinary account
        return False


def _owner_and_media(upload: UploadedObject) -> tuple[str, str]:
    match = _KEY.fullmatch(upload.key)
    if not match:
        raise PermanentError(f"{upload.key} is not an upload key this service issued")
    return match["owner"], match["media"]


def fail(upload: UploadedObject, reason: str) -> None:
    """Give up on an upload: its media ends failed, and its owner is told why."""
    owner_id, media_id = _owner_and_media(upload)
    records.mark_failed(media_id, owner_id, reason)


def route(upload: UploadedObject) -> dict[str, Any]:
    """Send the upload to its pipeline's queue, or fail its media with the reason."""
    owner_id, media_id = _owner_and_media(upload)
    record = records.find_media(media_id)
    if record is None:
        raise PermanentError(f"{upload.key} has no media record: it was not uploaded through an intent")
    if record["owner_id"] != owner_id:
        raise PermanentError(f"{upload.key} does not belong to the owner of {media_id}")
    if record["state"] in records.FINISHED_STATES:
        if record["state"] == "expired":  # the file came after its form expired: keep nothing
            client("s3").delete_object(Bucket=upload.bucket, Key=upload.key)
        return {"media_id": media_id, "outcome": f"already {record['state']}"}
    if upload.size == 0:
        records.mark_failed(media_id, owner_id, "the file is empty")
        return {"media_id": media_id, "outcome": "failed"}
    if upload.size > min(int(record["declared_size"]), records.MAX_UPLOAD_BYTES):
        records.mark_failed(media_id, owner_id, f"the file is {upload.size} bytes, over what was declared")
        return {"media_id": media_id, "outcome": "failed"}
    head = client("s3").get_object(Bucket=upload.bucket, Key=upload.key, Range=f"bytes=0-{SNIFF_BYTES - 1}")
    found = sniff(head["Body"].read())
    if found is None:
        records.mark_failed(media_id, owner_id, "the file is not an image or video we accept")
        return {"media_id": media_id, "outcome": "failed"}
    kind, content_type = found
    priority = _is_large_account(owner_id)
    # Marked before it is queued, so no worker meets the record still pending. If the send fails,
    # this delivery is retried and sends again; if nothing ever does, the sweeper ends the record.
    if not records.mark_processing(media_id, kind.value, content_type, upload.size, priority):
        return {"media_id": media_id, "outcome": "already finished"}
    send_job(
        MediaJob(media_id=media_id, owner_id=owner_id, bucket=upload.bucket, key=upload.key), kind, priority
    )
    return {"media_id": media_id, "outcome": "routed", "kind": kind.value, "priority": priority}


def send_job(job: MediaJob, kind: Kind, priority: bool) -> None:
    client("sqs").send_message(
        QueueUrl=resource_name(QUEUES[kind, priority]), MessageBody=job.model_dump_json()
    )
