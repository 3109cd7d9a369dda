"""Removing media's bytes: the CDN-served renditions (then the CDN's caches, by explicit paths)
and the original upload, once nothing shows the media any more."""

from __future__ import annotations

from pynamodb.exceptions import UpdateError

from aperture.core.aws import client
from aperture.core.cdn import request_invalidation
from aperture.core.config import resource_name
from aperture.core.tables import condition_failed
from aperture.media.records import MEDIA_BUCKET, UPLOADS_BUCKET
from aperture.media.tables import Media


def delete_prefix(bucket_env: str, prefix: str) -> list[str]:
    """Delete every object under ``prefix`` in the bucket ``bucket_env`` names, a thousand to a
    request; returns their keys."""
    s3, bucket = client("s3"), resource_name(bucket_env)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    keys = sorted(item["Key"] for page in pages for item in page.get("Contents", []))
    for start in range(0, len(keys), 1000):
        objects = [{"Key": key} for key in keys[start : start + 1000]]
        s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
    return keys


def remove_renditions(media_id: str, *, invalidate: bool = True) -> list[str]:
    """Delete every rendition of the media from the media bucket and (unless the caller gathers
    the paths of many media into fewer messages) queue their CDN invalidation; returns the keys."""
    keys = delete_prefix(MEDIA_BUCKET, f"media/{media_id}/")
    if invalidate:
        request_invalidation([f"/{key}" for key in keys])
    return keys


def release(media_id: str, post_id: str) -> str:
    """A deleted post lets go of its media. Once no post and no Story (live, archived or pinned to a
    highlight) holds it, its renditions, its original and its record go: "deleted"; else "kept"."""
    media = Media(media_id)
    try:
        media.update([Media.post_ids.delete({post_id})], condition=Media.media_id.exists())
    except UpdateError as error:
        if condition_failed(error):
            return "gone"  # removed by an earlier try
        raise
    if media.post_ids or media.story_ids:
        return "kept"
    remove_renditions(media_id)
    if media.upload_key:
        client("s3").delete_object(Bucket=resource_name(UPLOADS_BUCKET), Key=media.upload_key)
    media.delete()
    return "deleted"
