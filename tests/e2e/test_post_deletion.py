"""Deleting a post deletes what it left in storage: likes, and its media's bytes unless still shown."""

from __future__ import annotations

import json
from typing import Any

from aperture.core.aws import client
from tests.conftest import eventually
from tests.e2e.conftest import ApiStack, upload_media
from tests.pictures import jpeg, scene


def _published_post(api: ApiStack, token: str, seed: int) -> tuple[str, str]:
    """Given a photo through the real pipeline, posted and published once moderation passed it."""
    media_id = upload_media(api, token, jpeg(scene(seed, size=(320, 240))))
    post_id = api.client.call(
        "POST", "/posts", {"caption": f"photo {seed}", "media_id": media_id}, token=token
    )
    post_id = post_id.body["post_id"]
    eventually(
        lambda: api.client.call("GET", f"/posts/{post_id}", token=token).body["state"] == "published", 60
    )
    return media_id, post_id


def _keys(bucket: str, prefix: str) -> list[str]:
    pages = client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def _likes(api: ApiStack, post_id: str) -> int:
    return int(
        client("dynamodb").query(
            TableName=api.stack.environment["LIKES_TABLE"],
            KeyConditionExpression="post_id = :p",
            ExpressionAttributeValues={":p": {"S": post_id}},
            Select="COUNT",
        )["Count"]
    )


def _invalidation_requests(api: ApiStack) -> list[str]:
    """The paths queued for the CDN (its consumer is held back, so they are all still here)."""
    sqs, url = client("sqs"), api.stack.environment["CDN_INVALIDATION_QUEUE_URL"]
    paths: list[str] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            paths += json.loads(message["Body"])["paths"]
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return sorted(paths)


def test_deleting_a_post_removes_its_likes_original_renditions_and_media_record(api: ApiStack) -> None:
    # Given a published photo post with three likes, its renditions and its original in the buckets
    env, token = api.stack.environment, api.signup("u_purge_author")
    media_id, post_id = _published_post(api, token, seed=61)
    for fan in ("u_purge_f1", "u_purge_f2", "u_purge_f3"):
        assert api.client.call("PUT", f"/posts/{post_id}/like", token=api.token(fan)).status == 200
    renditions = _keys(env["MEDIA_BUCKET"], f"media/{media_id}/")
    original = f"uploads/u_purge_author/{media_id}/original"
    assert renditions
    assert _keys(env["UPLOADS_BUCKET"], original) == [original]

    with api.stack.paused("sqs:cdn_invalidator"):
        # When its author deletes it
        assert api.client.call("DELETE", f"/posts/{post_id}", token=token).status == 200

        # Then the likes, every rendition, the original and (last) the media record go
        eventually(lambda: api.client.call("GET", f"/media/{media_id}", token=token).status == 404, 30)
        assert _likes(api, post_id) == 0
        assert _keys(env["MEDIA_BUCKET"], f"media/{media_id}/") == []
        assert _keys(env["UPLOADS_BUCKET"], original) == []
        # And the CDN is asked to forget every rendition, by its path
        assert _invalidation_requests(api) == [f"/{key}" for key in renditions]


def test_a_deleted_posts_media_still_in_a_story_keeps_its_bytes(api: ApiStack) -> None:
    # Given a photo both posted (with a like) and shared as a Story
    env, token = api.stack.environment, api.signup("u_purge_storyteller")
    media_id, post_id = _published_post(api, token, seed=62)
    assert api.client.call("PUT", f"/posts/{post_id}/like", token=api.token("u_purge_fan")).status == 200
    assert api.client.call("POST", "/stories", {"media_id": media_id}, token=token).status == 201
    renditions = _keys(env["MEDIA_BUCKET"], f"media/{media_id}/")

    # When the post is deleted
    assert api.client.call("DELETE", f"/posts/{post_id}", token=token).status == 200

    # Then its like goes, while the Story's media keeps its bytes and record, no longer naming the post
    eventually(lambda: _likes(api, post_id) == 0, timeout=30)
    media = eventually(lambda: _media_without(api, media_id, post_id), timeout=30)
    assert media["state"] == "ready"
    assert _keys(env["MEDIA_BUCKET"], f"media/{media_id}/") == renditions


def _media_without(api: ApiStack, media_id: str, post_id: str) -> dict[str, Any] | None:
    item = client("dynamodb").get_item(
        TableName=api.stack.environment["MEDIA_TABLE"], Key={"media_id": {"S": media_id}}, ConsistentRead=True
    )["Item"]
    if post_id in item.get("post_ids", {}).get("SS", []):
        return None
    return {"state": item["state"]["S"]}
