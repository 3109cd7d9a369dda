"""One image job, end to end: fetch, process, store the renditions, finish the record, moderate next.

Idempotent: a record already ready or failed is left alone, and rendition keys are derived from
the source's digest, so a job delivered twice writes the same objects once more at most and
finishes the record once.
"""

from __future__ import annotations

import base64
from typing import Any

from aperture.core.aws import client
from aperture.core.config import resource_name
from aperture.core.jobs import PermanentError
from aperture.core.messages import MediaJob, ModerationJob
from aperture.media import records
from aperture.media.images import ImageRejected, ProcessedImage, process
from aperture.media.records import MEDIA_BUCKET

MODERATION_QUEUES = {False: "MODERATION_QUEUE_URL", True: "MODERATION_PRIORITY_QUEUE_URL"}
CACHE_CONTROL = "public, max-age=31536000, immutable"  # keys change whenever content does


def rendition_key(media_id: str, digest: str, name: str, extension: str) -> str:
    return f"media/{media_id}/{digest}/{name}.{extension}"


def _store(media_id: str, processed: ProcessedImage) -> list[dict[str, Any]]:
    stored = []
    for rendition in processed.renditions:
        key = rendition_key(media_id, processed.digest, rendition.name, rendition.extension)
        client("s3").put_object(
            Bucket=resource_name(MEDIA_BUCKET),
            Key=key,
            Body=rendition.data,
            ContentType=rendition.content_type,
            CacheControl=CACHE_CONTROL,
        )
        stored.append(
            {
                "name": rendition.name,
                "format": rendition.format,
                "width": rendition.width,
                "height": rendition.height,
                "key": key,
                "bytes": len(rendition.data),
                "quality": rendition.quality,
                "ssimulacra2": round(rendition.score, 2),
                "target": round(rendition.target, 2),
            }
        )
    return stored


def process_image_job(job: MediaJob) -> dict[str, Any]:
    record = records.unfinished(job.media_id)
    if record is None:
        return {"media_id": job.media_id, "outcome": "already finished"}
    s3 = client("s3")
    try:
        data = s3.get_object(Bucket=job.bucket, Key=job.key)["Body"].read()
    except s3.exceptions.NoSuchKey as error:
        raise PermanentError(f"the upload {job.key} is gone") from error
    try:
        processed = process(data, record.get("filter"))
    except ImageRejected as rejected:
        records.mark_failed(job.media_id, job.owner_id, rejected.args[0])
        return {"media_id": job.media_id, "outcome": "failed", "reason": rejected.args[0]}
    stored = _store(job.media_id, processed)
    result = {
        "width": processed.width,
        "height": processed.height,
        "has_alpha": processed.has_alpha,
        "thumbhash": base64.b64encode(processed.thumbhash).decode(),
        "renditions": stored,
    }
    if records.mark_ready(job.media_id, result):
        client("sqs").send_message(
            QueueUrl=resource_name(MODERATION_QUEUES[bool(record.get("priority"))]),
            MessageBody=ModerationJob(media_id=job.media_id).model_dump_json(),
        )
        return {
            "media_id": job.media_id,
            "outcome": "ready",
            "renditions": len(stored),
            "encodes": sum(rendition.encodes for rendition in processed.renditions),
            "quality_model": "used" if processed.predicted else "unavailable",
        }
    return {"media_id": job.media_id, "outcome": "already finished"}
