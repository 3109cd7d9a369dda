"""Exporting an account's data: a zip of the profile, posts (captions and alt text), the original
media, comments, likes and follows, built by a job and fetched with a presigned GET.

The export's state lives in the exports bucket itself, under the user's prefix (the object, or a
marker of its failure), so there is no record to keep in step and an account's deletion removes
every export with one prefix. Objects expire after a week (the bucket's lifecycle rule).
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from collections import Counter
from typing import Any

from pydantic import BaseModel, Field

from aperture.core import clock
from aperture.core.aws import client
from aperture.core.config import resource_name
from aperture.core.errors import Forbidden, NotFound
from aperture.core.identity import USER_ID, Caller
from aperture.core.ids import item_id
from aperture.core.jobs import PermanentError
from aperture.core.ratelimit import RateLimit
from aperture.media.records import UPLOADS_BUCKET, upload_key
from aperture.social.tables import Comment, Edge, Like, Post
from aperture.social.users import get_profile

EXPORTS_BUCKET = "EXPORTS_BUCKET"
EXPORT_QUEUE = "ACCOUNT_EXPORT_QUEUE_URL"
LINK_SECONDS = 3600  # how long a presigned link works
# Each export reads every original the account uploaded: a few a day is what a person needs
EXPORTS_PER_DAY = RateLimit("exports", 3, 86_400)


class AccountExport(BaseModel):
    """The export job's message."""

    user_id: str = Field(pattern=USER_ID.pattern)
    export_id: str = Field(pattern=USER_ID.pattern)


def prefix(user_id: str) -> str:
    """Where a user's exports lie (and their failure markers)."""
    return f"exports/{user_id}/"


def _key(user_id: str, export_id: str, suffix: str = "zip") -> str:
    return f"{prefix(user_id)}{export_id}.{suffix}"


def request_export(caller: Caller, user_id: str, request_key: str | None = None) -> dict[str, Any]:
    if caller.user_id != user_id:
        raise Forbidden("you can only export your own account")
    get_profile(user_id)
    EXPORTS_PER_DAY.take(user_id)
    job = AccountExport(user_id=user_id, export_id=item_id("x", request_key))
    client("sqs").send_message(QueueUrl=resource_name(EXPORT_QUEUE), MessageBody=job.model_dump_json())
    return {"user_id": user_id, "export_id": job.export_id, "state": "pending"}


def export_state(caller: Caller, user_id: str, export_id: str) -> dict[str, Any]:
    """Pending, failed, or ready with a link that works for an hour."""
    if caller.user_id != user_id:
        raise Forbidden("you can only read your own exports")
    s3, bucket = client("s3"), resource_name(EXPORTS_BUCKET)
    state: dict[str, Any] = {"user_id": user_id, "export_id": export_id, "state": "pending"}
    if _exists(s3, bucket, _key(user_id, export_id)):
        url = s3.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": _key(user_id, export_id)}, ExpiresIn=LINK_SECONDS
        )
        return state | {"state": "ready", "url": url, "url_expires_at": clock.now() + LINK_SECONDS}
    if _exists(s3, bucket, _key(user_id, export_id, "failed")):
        return state | {"state": "failed"}
    return state


def _exists(s3: Any, bucket: str, key: str) -> bool:
    return bool(s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1).get("KeyCount"))


def build_export(job: AccountExport) -> dict[str, int]:
    """Write the zip (spooled to disk past 64 MB, uploaded in parts); building it again replaces it."""
    user_id, s3 = job.user_id, client("s3")
    try:
        profile = get_profile(user_id)
    except NotFound as error:
        raise PermanentError(f"there is no account {user_id} to export") from error
    posts = [p.to_dict() for p in Post.by_author.query(user_id)]
    written: Counter[str] = Counter()
    with tempfile.SpooledTemporaryFile(max_size=64 * 1024 * 1024) as spool:
        with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:

            def add(name: str, document: Any) -> None:
                archive.writestr(name, json.dumps(document, indent=2, sort_keys=True, default=str))
                written["files"] += 1

            add("profile.json", profile)
            add("posts.json", [_post(p) for p in posts])
            for media_id in sorted({i["media_id"] for p in posts for i in p.get("media_items", [])}):
                original = s3.get_object(
                    Bucket=resource_name(UPLOADS_BUCKET), Key=upload_key(user_id, media_id)
                )
                with archive.open(f"media/{media_id}", "w") as entry:
                    for chunk in original["Body"].iter_chunks(1024 * 1024):
                        entry.write(chunk)
                written["media"] += 1
            add("comments.json", [_comment(c) for c in _comments_by(user_id)])
            add("likes.json", [{"post_id": like.post_id} for like in Like.by_liker.query(user_id)])
            add("follows.json", _follows(user_id))
        spool.seek(0)
        s3.upload_fileobj(spool, resource_name(EXPORTS_BUCKET), _key(user_id, job.export_id))
    return dict(written)


def mark_failed(job: AccountExport, reason: str) -> None:
    """The job's last try failed: say so where the client looks."""
    client("s3").put_object(
        Bucket=resource_name(EXPORTS_BUCKET),
        Key=_key(job.user_id, job.export_id, "failed"),
        Body=reason.encode(),
    )


def _post(post: dict[str, Any]) -> dict[str, Any]:
    fields = ("post_id", "caption", "media_items", "created_at", "state", "like_count", "comment_count")
    return {name: post[name] for name in fields if name in post}


def _comments_by(user_id: str) -> list[dict[str, Any]]:
    keys = [(c.post_id, c.comment_id) for c in Comment.by_commenter.query(user_id)]
    return [c.to_dict() for c in Comment.batch_get(keys)]


def _comment(comment: dict[str, Any]) -> dict[str, Any]:
    fields = ("post_id", "comment_id", "text", "created_at", "state", "parent_id")
    return {name: comment[name] for name in fields if name in comment}


def _follows(user_id: str) -> dict[str, list[str]]:
    following = Edge.query(user_id, filter_condition=Edge.following == True)  # noqa: E712
    return {
        "following": sorted(edge.followee_id for edge in following),
        "followers": sorted(edge.follower_id for edge in Edge.followers.query(user_id)),
    }
