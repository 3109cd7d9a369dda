"""An image upload, end to end on the local stack: intent, presigned POST, router, processor."""

from __future__ import annotations

import base64
import io
import json
import urllib.request
from typing import Any

import numpy as np
import pytest
from PIL import Image

from aperture.core.aws import client
from aperture.core.messages import MediaJob
from tests.conftest import eventually
from tests.e2e.conftest import ApiStack, upload_media

pytestmark = pytest.mark.slow(seconds=15)


def _jpeg(width: int = 1600, height: int = 1200) -> bytes:
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack(
        [120 + 80 * np.sin(x / 90), 100 + 60 * np.cos(y / 70), 140 + 50 * np.sin((x + y) / 130)], -1
    )
    buffer = io.BytesIO()
    Image.fromarray(rgb.astype(np.uint8)).save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def _settled(api: ApiStack, token: str, media_id: str) -> dict[str, Any] | None:
    media: dict[str, Any] = api.client.call("GET", f"/media/{media_id}", token=token).body
    return media if media["state"] in ("ready", "failed") else None


def test_the_presigned_post_limits_size_type_and_key(api: ApiStack) -> None:
    # moto does not enforce POST policies (S3 does), so the policy itself is what is checked
    reply = api.client.call(
        "POST", "/uploads", {"content_type": "image/png", "size": 1234}, token=api.signup("u_policy")
    )
    fields = reply.body["upload"]["fields"]
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert ["content-length-range", 1, 1234] in policy["conditions"]
    assert {"Content-Type": "image/png"} in policy["conditions"]
    assert {"key": fields["key"]} in policy["conditions"]
    assert fields["key"] == f"uploads/u_policy/{reply.body['media_id']}/original"
    too_big = api.client.call(
        "POST", "/uploads", {"content_type": "image/png", "size": 10**9}, token=api.token("u_policy")
    )
    not_media = api.client.call(
        "POST", "/uploads", {"content_type": "text/html", "size": 10}, token=api.token("u_policy")
    )
    assert (too_big.status, not_media.status) == (422, 422)


def test_an_uploaded_photo_becomes_ready_with_every_rendition_on_the_cdn_bucket(api: ApiStack) -> None:
    # Given a user who uploads a photo with a filter
    token = api.signup("u_photographer")
    media_id = upload_media(api, token, _jpeg(), filter="clarendon")

    # When the pipeline has run
    media = eventually(lambda: _settled(api, token, media_id), timeout=60)

    # Then the media is ready: 4 sizes x 3 formats, immutable, cacheable for a year, with a ThumbHash
    assert media["state"] == "ready", media
    assert (media["kind"], media["content_type"], media["width"], media["height"]) == (
        "image",
        "image/jpeg",
        1080,
        810,
    )
    assert len(media["renditions"]) == 12
    assert len(base64.b64decode(media["thumbhash"])) >= 20
    s3 = client("s3")
    for rendition in media["renditions"]:
        head = s3.head_object(Bucket=api.stack.environment["MEDIA_BUCKET"], Key=rendition["key"])
        assert head["CacheControl"] == "public, max-age=31536000, immutable"
        assert head["ContentLength"] == rendition["bytes"]
        assert rendition["ssimulacra2"] >= rendition["target"], rendition  # looks at least as good as q85
        # and opens at its URL as a client fetches it, with the headers the CDN passes on
        with urllib.request.urlopen(rendition["url"], timeout=30) as opened:
            assert opened.headers["Cache-Control"] == "public, max-age=31536000, immutable"
            assert opened.headers["Content-Type"] == head["ContentType"]
            assert len(opened.read()) == rendition["bytes"]

    # And it went on to moderation, whose verdict is the record's last change
    def judged() -> dict[str, Any] | None:
        record: dict[str, Any] = api.client.call("GET", f"/media/{media_id}", token=token).body
        return record if record.get("moderation", {}).get("verdict") else None

    media = eventually(judged)

    # When the same job is delivered again, then nothing is written twice
    objects_before = s3.list_objects_v2(
        Bucket=api.stack.environment["MEDIA_BUCKET"], Prefix=f"media/{media_id}/"
    )
    job = MediaJob(
        media_id=media_id,
        owner_id="u_photographer",
        bucket=api.stack.environment["UPLOADS_BUCKET"],
        key=f"uploads/u_photographer/{media_id}/original",
    )
    client("sqs").send_message(
        QueueUrl=api.stack.environment["IMAGE_QUEUE_URL"], MessageBody=job.model_dump_json()
    )
    eventually(
        lambda: sum(job.media_id in json.dumps(i.event) for i in api.stack.log.of("image_processor")) == 2
    )
    objects_after = s3.list_objects_v2(
        Bucket=api.stack.environment["MEDIA_BUCKET"], Prefix=f"media/{media_id}/"
    )
    assert [o["LastModified"] for o in objects_after["Contents"]] == [
        o["LastModified"] for o in objects_before["Contents"]
    ]
    assert api.client.call("GET", f"/media/{media_id}", token=token).body["updated_at"] == media["updated_at"]


def _wait_settled(api: ApiStack, token: str, media_id: str) -> dict[str, Any]:
    settled: dict[str, Any] = eventually(lambda: _settled(api, token, media_id), timeout=60)
    return settled


def _notifications(api: ApiStack, user_id: str) -> list[dict[str, Any]]:
    items = client("dynamodb").query(
        TableName=api.stack.environment["NOTIFICATIONS_TABLE"],
        KeyConditionExpression="user_id = :u",
        ExpressionAttributeValues={":u": {"S": user_id}},
    )["Items"]
    return [{key: value.get("S") for key, value in item.items()} for item in items]


TRUNCATED = "the image is truncated or corrupt: the JPEG holds less data than its size needs"


def test_bad_uploads_end_failed_with_a_reason_and_a_notification(api: ApiStack) -> None:
    token = api.signup("u_unlucky")
    svg = upload_media(api, token, b'<svg xmlns="http://www.w3.org/2000/svg"/>')
    truncated = upload_media(api, token, _jpeg()[:4000])
    empty = upload_media(api, token, b"")
    reasons = {media_id: _wait_settled(api, token, media_id) for media_id in (svg, truncated, empty)}
    assert {m: (r["state"], r["failure"]) for m, r in reasons.items()} == {
        svg: ("failed", "the file is not an image or video we accept"),
        truncated: ("failed", TRUNCATED),
        empty: ("failed", "the file is empty"),
    }
    told = {n["media_id"]: n["message"] for n in _notifications(api, "u_unlucky")}
    assert told[truncated] == f"Your upload could not be processed: {TRUNCATED}"
    assert set(told) == {svg, truncated, empty}


def test_a_large_accounts_upload_takes_the_priority_queue(api: ApiStack) -> None:
    # Given an account at the celebrity threshold, and an ordinary one
    star, regular = api.signup("u_celebrity"), api.signup("u_regular")
    client("dynamodb").update_item(
        TableName=api.stack.environment["USERS_TABLE"],
        Key={"user_id": {"S": "u_celebrity"}},
        UpdateExpression="SET follower_count = :n",
        ExpressionAttributeValues={":n": {"N": api.stack.environment["CELEBRITY_FOLLOWER_THRESHOLD"]}},
    )

    # When both upload a photo
    starred, ordinary = upload_media(api, star, _jpeg(400, 300)), upload_media(api, regular, _jpeg(300, 400))
    for media_id, token in ((starred, star), (ordinary, regular)):
        assert _wait_settled(api, token, media_id)["state"] == "ready"

    # Then each job arrived on its own queue (an invocation is logged when it returns, which can be
    # a moment after the record it wrote shows "ready")
    def queue_of(media_id: str) -> str:
        def logged() -> str | None:
            return next(
                (
                    str(record["eventSourceARN"]).rsplit(":", 1)[-1]
                    for invocation in api.stack.log.of("image_processor")
                    for record in invocation.event["Records"]
                    if media_id in record["body"]
                ),
                None,
            )

        return str(eventually(logged))

    assert "ImagePriorityQueue" in queue_of(starred)
    assert "ImagePriorityQueue" not in queue_of(ordinary)
    assert "ImageQueue" in queue_of(ordinary)
