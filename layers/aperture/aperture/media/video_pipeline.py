"""Video jobs, end to end: the fast path makes the media playable, the ladder replaces it later.

Both work in a private temporary folder holding only the job's own file, and both are idempotent:
keys derive from the source's digest, the fast path leaves finished records alone, and the ladder
swaps in only once.
"""

from __future__ import annotations

import base64
import hashlib
import io
import tempfile
from pathlib import Path
from typing import Any

from PIL import Image

from aperture.core.aws import client
from aperture.core.config import resource_name
from aperture.core.jobs import PermanentError
from aperture.core.messages import MediaJob, ModerationJob
from aperture.media import records
from aperture.media.ladder import Variant, master_playlist, package, rungs
from aperture.media.pipeline import CACHE_CONTROL, MODERATION_QUEUES, rendition_key
from aperture.media.records import MEDIA_BUCKET
from aperture.media.superres import SrModel, SrModelError, shipped_model
from aperture.media.thumbhash import thumbhash_of
from aperture.media.video import Rung, VideoRejected, encode, fit, poster, probe

FAST_LONG_SIDE = 1280
FAST_CRF = 23
LADDER_QUEUE = "VIDEO_LADDER_QUEUE_URL"
_CONTENT_TYPES = {".mp4": "video/mp4", ".m4s": "video/iso.segment", ".m3u8": "application/vnd.apple.mpegurl"}


def _fetch(job: MediaJob, folder: Path) -> tuple[Path, str]:
    s3 = client("s3")
    try:
        body = s3.get_object(Bucket=job.bucket, Key=job.key)["Body"].read()
    except s3.exceptions.NoSuchKey as error:
        raise PermanentError(f"the upload {job.key} is gone") from error
    source = folder / "source"
    source.write_bytes(body)
    return source, hashlib.sha256(body).hexdigest()[:16]


def _put(key: str, body: bytes, content_type: str) -> None:
    client("s3").put_object(
        Bucket=resource_name(MEDIA_BUCKET),
        Key=key,
        Body=body,
        ContentType=content_type,
        CacheControl=CACHE_CONTROL,
    )


def _rendition(name: str, fmt: str, size: tuple[int, int], key: str, length: int) -> dict[str, Any]:
    return {"name": name, "format": fmt, "width": size[0], "height": size[1], "key": key, "bytes": length}


def process_video_fastpath(job: MediaJob) -> dict[str, Any]:
    record = records.unfinished(job.media_id)
    if record is None:
        return {"media_id": job.media_id, "outcome": "already finished"}
    mime = str(record.get("content_type", ""))
    with tempfile.TemporaryDirectory(prefix="video-") as work:
        folder = Path(work)
        source, digest = _fetch(job, folder)
        try:
            info = probe(source, mime)
            width, height = fit(info, FAST_LONG_SIDE)
            target = folder / "fast.mp4"
            encode(
                source,
                mime,
                probe=info,
                rung=Rung("fast", "libx264", width, height, FAST_CRF),
                target=target,
                container_format="mp4",
                movflags="+faststart",
            )
            still = Image.fromarray(poster(source, mime, info))
        except VideoRejected as rejected:
            records.mark_failed(job.media_id, job.owner_id, rejected.args[0])
            return {"media_id": job.media_id, "outcome": "failed", "reason": rejected.args[0]}
        jpeg = io.BytesIO()
        still.save(jpeg, "JPEG", quality=85, optimize=True, progressive=True)
        fast_key = rendition_key(job.media_id, digest, "fast", "mp4")
        poster_key = rendition_key(job.media_id, digest, "poster", "jpg")
        fast = target.read_bytes()
        _put(fast_key, fast, "video/mp4")
        _put(poster_key, jpeg.getvalue(), "image/jpeg")
    result = {
        "width": info.width,
        "height": info.height,
        "duration": round(info.seconds, 3),
        "thumbhash": base64.b64encode(thumbhash_of(still)).decode(),
        "renditions": [
            _rendition("fast", "mp4", (width, height), fast_key, len(fast)),
            _rendition("poster", "jpeg", still.size, poster_key, len(jpeg.getvalue())),
        ],
        "playback": {"mp4": fast_key},
    }
    if not records.mark_ready(job.media_id, result):
        return {"media_id": job.media_id, "outcome": "already finished"}
    sqs = client("sqs")
    sqs.send_message(QueueUrl=resource_name(LADDER_QUEUE), MessageBody=job.model_dump_json())
    sqs.send_message(
        QueueUrl=resource_name(MODERATION_QUEUES[bool(record.get("priority"))]),
        MessageBody=ModerationJob(media_id=job.media_id).model_dump_json(),
    )
    return {"media_id": job.media_id, "outcome": "ready", "seconds": info.seconds}


def process_video_ladder(job: MediaJob) -> dict[str, Any]:
    """AV1 and H.264 ladders as HLS; the master playlist becomes the media's playback once, atomically."""
    record = records.find_media(job.media_id)
    if record is None or record["state"] != "ready":
        raise PermanentError(f"media {job.media_id} is not ready for a ladder")
    if record.get("playback", {}).get("hls"):
        return {"media_id": job.media_id, "outcome": "already laddered"}
    mime = str(record.get("content_type", ""))
    with tempfile.TemporaryDirectory(prefix="ladder-") as work:
        folder = Path(work)
        source, digest = _fetch(job, folder)
        info = probe(source, mime)
        hls = folder / "hls"
        hls.mkdir()
        upscaler, model_error = _upscaler()

        def ladder_of(codec: str) -> list[Variant]:
            return [package(source, mime, info, rung, hls, upscaler=upscaler) for rung in rungs(info, codec)]

        variants, av1_failure = [], None
        try:
            variants += ladder_of("libsvtav1")
        except Exception as error:  # the H.264 ladder serves alone: playable beats perfect
            av1_failure = repr(error)
            variants = []
            for leftover in hls.glob("av1_*"):
                leftover.unlink()
        variants += ladder_of("libx264")
        (hls / "master.m3u8").write_text(master_playlist(variants, info.fps))
        prefix = rendition_key(job.media_id, digest, "hls", "")[:-1]
        for path in sorted(hls.iterdir()):
            _put(f"{prefix}/{path.name}", path.read_bytes(), _CONTENT_TYPES.get(path.suffix, "video/mp4"))
    ladder = {
        "master": f"{prefix}/master.m3u8",
        "variants": [
            {
                "name": v.rung.name,
                "codecs": v.codecs,
                "width": v.rung.width,
                "height": v.rung.height,
                "bps": v.bits_per_second,
                **({"enhanced_by": upscaler.version if upscaler else "lanczos"} if v.rung.enhanced else {}),
            }
            for v in variants
        ],
        **({"av1_failure": av1_failure} if av1_failure else {}),
    }
    swapped = records.attach_ladder(
        job.media_id, ladder, {**record.get("playback", {}), "hls": ladder["master"]}
    )
    outcome = {"media_id": job.media_id, "outcome": "laddered" if swapped else "already laddered"}
    enhanced = sum(v.rung.enhanced for v in variants)
    return {
        **outcome,
        "variants": len(variants),
        "enhanced_variants": enhanced,
        **({"av1_failure": av1_failure} if av1_failure else {}),
        **({"sr_model_error": model_error} if model_error and enhanced else {}),
    }


def _upscaler() -> tuple[SrModel | None, str | None]:
    """The shipped super-resolution model, or none (Lanczos stands in) and why."""
    try:
        return shipped_model(), None
    except SrModelError as error:
        return None, str(error)
