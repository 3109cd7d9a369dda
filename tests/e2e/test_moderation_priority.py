"""A large account's upload is moderated ahead of a backlog, through the priority queue."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aperture.core.aws import client
from aperture_local.items import to_item
from tests.conftest import eventually
from tests.e2e.conftest import ApiStack, upload_media
from tests.pictures import jpeg, scene

pytestmark = pytest.mark.slow(seconds=10)

BACKLOG = 120
THRESHOLD = 100_000  # the stack's CelebrityFollowerThreshold


def _backlog(api: ApiStack) -> list[str]:
    """Given 120 ready pictures by ordinary users, queued for moderation on the normal queue."""
    env = api.stack.environment
    picture = jpeg(scene(42, size=(640, 480)))
    media_ids = [f"m_backlog_{index:04d}" for index in range(BACKLOG)]
    dynamodb, s3, sqs = client("dynamodb"), client("s3"), client("sqs")
    for start in range(0, BACKLOG, 25):
        items = []
        for media_id in media_ids[start : start + 25]:
            key = f"media/{media_id}/d/display.jpg"
            s3.put_object(Bucket=env["MEDIA_BUCKET"], Key=key, Body=picture)
            rendition = {"key": key, "format": "jpeg", "width": 640, "height": 480}
            item = {
                "media_id": media_id,
                "owner_id": "u_someone",
                "state": "ready",
                "renditions": [rendition],
            }
            items.append({"PutRequest": {"Item": to_item(item | {"created_at": 0})}})
        dynamodb.batch_write_item(RequestItems={env["MEDIA_TABLE"]: items})
    for start in range(0, BACKLOG, 10):
        entries = [
            {"Id": str(i), "MessageBody": json.dumps({"media_id": media_id})}
            for i, media_id in enumerate(media_ids[start : start + 10])
        ]
        sqs.send_message_batch(QueueUrl=env["MODERATION_QUEUE_URL"], Entries=entries)
    return media_ids


def _moderated(api: ApiStack) -> list[tuple[float, str]]:
    """(finish time, media id) of every media the moderation function has checked."""
    done = []
    for invocation in api.stack.log.of("moderation"):
        if invocation.error is None:
            for record in invocation.event["Records"]:
                done.append((invocation.finished_at, json.loads(record["body"])["media_id"]))
    return sorted(done)


def test_a_celebrity_upload_is_moderated_before_a_backlog_of_120_drains(api: ApiStack) -> None:
    # Given a celebrity, and 120 ordinary checks waiting on the normal moderation queue
    token = api.signup("u_celebrity")
    client("dynamodb").update_item(
        TableName=api.stack.environment["USERS_TABLE"],
        Key={"user_id": {"S": "u_celebrity"}},
        UpdateExpression="SET follower_count = :n",
        ExpressionAttributeValues={":n": {"N": str(THRESHOLD)}},
    )
    backlog = set(_backlog(api))
    # When the celebrity uploads a photo (router -> image processor -> moderation, all by priority)
    media_id = upload_media(api, token, jpeg(scene(43, size=(640, 480))))

    # Then their photo is checked while the backlog still waits
    def checked() -> Any:
        return next((at for at, done in _moderated(api) if done == media_id), None)

    celebrity_at = eventually(checked, timeout=120)
    ahead = sum(1 for at, done in _moderated(api) if done in backlog and at < celebrity_at)
    assert ahead < BACKLOG, f"the whole backlog ({ahead}) went first"
    media = api.client.call("GET", f"/media/{media_id}", token=token).body
    assert media["moderation"]["verdict"] == "approved"
    # And the backlog is moderated completely afterwards, each job once
    eventually(lambda: len([d for _, d in _moderated(api) if d in backlog]) >= BACKLOG, timeout=300)
    assert sorted(d for _, d in _moderated(api) if d in backlog) == sorted(backlog)
    print(f"backlog jobs checked before the celebrity's: {ahead} of {BACKLOG}")
