"""Moderation on the local stack: the PDQ blocklist, verdicts, the classifier down, moderators."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from aperture.core.aws import client
from aperture.media import records
from aperture.moderation import checks as moderation
from aperture.social.notifications import notify
from aperture_local.items import to_item
from aperture_local.runtime import FunctionError
from tests.conftest import eventually
from tests.e2e.conftest import ApiStack, finished_media, run_moderation
from tests.pictures import CROPS_OF_5_PERCENT, disguised, scene


def _post(api: ApiStack, author: str, media_id: str) -> dict[str, Any]:
    reply = api.client.call("POST", "/posts", {"media_id": media_id}, token=api.token(author))
    assert reply.status == 201, reply
    post: dict[str, Any] = reply.body
    return post


def _feed(api: ApiStack, viewer: str) -> list[str]:
    return [p["post_id"] for p in api.client.call("GET", "/feed", token=api.token(viewer)).body["items"]]


def _verdict(media_id: str) -> dict[str, Any]:
    verdict: dict[str, Any] = records.get_media(media_id).get("moderation", {})
    return verdict


def _moderator_token(api: ApiStack, user_id: str = "u_moderator") -> str:
    reply = api.client.call("POST", "/auth/token", {"user_id": user_id, "groups": ["moderators"]})
    token: str = reply.body["id_token"]
    return token


def _author_and_follower(api: ApiStack, author: str, viewer: str) -> None:
    api.signup(author)
    api.signup(viewer)
    follow = {"following": True, "client_timestamp": 1}
    assert (
        api.client.call("PUT", f"/users/{viewer}/following/{author}", follow, token=api.token(viewer)).status
        == 200
    )


@pytest.fixture
def blocklisted(api: ApiStack) -> Image.Image:
    """Given a picture a moderator put on the blocklist."""
    picture = scene(7)
    media_id = finished_media(api, "u_known_bad", picture)
    body = {"media_id": media_id, "reason": "known abuse material (test stand-in)"}
    reply = api.client.call("POST", "/moderation/blocklist", body, token=_moderator_token(api))
    assert (reply.status, reply.body["hashes"]) == (201, 11), reply
    return picture


def test_an_unrelated_picture_is_approved_and_its_waiting_post_published(api: ApiStack) -> None:
    # Given a follower, and a post made while its media was still processing
    _author_and_follower(api, "u_ok_author", "u_ok_viewer")
    media_id = finished_media(api, "u_ok_author", scene(1234))
    records_table = api.stack.environment["MEDIA_TABLE"]
    client("dynamodb").update_item(
        TableName=records_table,
        Key={"media_id": {"S": media_id}},
        UpdateExpression="SET #s = :p",
        ExpressionAttributeNames={"#s": "state"},
        ExpressionAttributeValues={":p": {"S": "processing"}},
    )
    post = _post(api, "u_ok_author", media_id)
    assert post["state"] == "pending"
    assert records.mark_ready(media_id, {"width": 800})
    # When moderation runs (the local classifier stands aside: only the blocklist decides)
    assert run_moderation(api, media_id) == {"batchItemFailures": []}
    # Then the media is approved, and the post reaches the follower
    assert _verdict(media_id)["verdict"] == "approved"
    eventually(lambda: _feed(api, "u_ok_viewer") == [post["post_id"]])


@pytest.mark.parametrize("crop", ["centred", "left edge", "bottom-right corner"])
def test_a_disguised_copy_of_a_blocklisted_picture_is_blocked_and_shown_nowhere(
    api: ApiStack, blocklisted: Image.Image, crop: str
) -> None:
    # Given a follower, and the blocklisted picture cropped by 5%, halved and saved at quality 50
    slug = crop.rsplit(maxsplit=1)[-1]  # a username: 30 characters at most
    author, viewer = f"u_evader_{slug}", f"u_evader_fan_{slug}"
    _author_and_follower(api, author, viewer)
    media_id = finished_media(api, author, disguised(blocklisted, CROPS_OF_5_PERCENT[crop]))
    post = _post(api, author, media_id)
    # When moderation runs (the CDN invalidator held back, to read what was queued for it)
    with api.stack.paused("sqs:cdn_invalidator"):
        assert run_moderation(api, media_id) == {"batchItemFailures": []}
        queued = client("sqs").receive_message(
            QueueUrl=api.stack.environment["CDN_INVALIDATION_QUEUE_URL"], MaxNumberOfMessages=10
        )["Messages"]
    # Then it is blocked by the blocklist, the post stays pending and appears in no feed
    verdict = _verdict(media_id)
    assert verdict["verdict"] == "blocked"
    assert "matches blocklisted media" in verdict["reason"]
    # and the post is not there for anyone but its author, who sees it pending
    assert api.client.call("GET", f"/posts/{post['post_id']}", token=api.token(viewer)).status == 404
    assert api.client.call("PUT", f"/posts/{post['post_id']}/like", token=api.token(viewer)).status == 404
    own = api.client.call("GET", f"/posts/{post['post_id']}", token=api.token(author))
    assert (own.status, own.body["state"]) == (200, "pending")
    # And the media is not there for others; its owner sees the verdict, not how it was reached
    assert api.client.call("GET", f"/media/{media_id}", token=api.token(viewer)).status == 404
    owned = api.client.call("GET", f"/media/{media_id}", token=api.token(author)).body
    assert set(owned["moderation"]) == {"verdict", "decided_at"}
    assert owned["moderation"]["verdict"] == "blocked"
    assert "pdq" not in json.dumps(owned)
    full = api.client.call("GET", f"/media/{media_id}", token=_moderator_token(api)).body
    assert "matches blocklisted media" in full["moderation"]["reason"]
    # And its renditions left the CDN-served bucket and the CDN's caches
    bucket = api.stack.environment["MEDIA_BUCKET"]
    assert client("s3").list_objects_v2(Bucket=bucket, Prefix=f"media/{media_id}/")["KeyCount"] == 0
    assert _status(owned["renditions"][0]["url"]) == 404
    assert [json.loads(m["Body"])["paths"] for m in queued] == [[f"/media/{media_id}/digest/display.jpg"]]
    assert _feed(api, viewer) == []
    assert _feed(api, author) == []
    # And it cannot become a Story (so no tray shows it), and the author was told why
    story = api.client.call("POST", "/stories", {"media_id": media_id}, token=api.token(author))
    assert (story.status, story.body["error"]["message"]) == (409, "the media has not passed moderation")
    assert api.client.call("GET", "/stories/tray", token=api.token(viewer)).body["items"] == []
    notes = api.client.call("GET", "/notifications", token=api.token(author)).body
    assert [(n["kind"], n["media_id"]) for n in notes["items"]] == [("media_blocked", media_id)]
    assert notes["items"][0]["message"].startswith("Your upload breaks our community guidelines")


def test_notifications_page_newest_first_and_refuse_another_users_cursor(api: ApiStack) -> None:
    # Given a user with three notifications
    api.signup("u_noted")
    for index in range(3):
        notify("u_noted", "upload_failed", f"number {index}")
    # When they page through two at a time, then they see all three, newest first
    first = api.client.call("GET", "/notifications?limit=2", token=api.token("u_noted")).body
    second = api.client.call(
        "GET", f"/notifications?limit=2&cursor={first['next_cursor']}", token=api.token("u_noted")
    ).body
    assert [n["message"] for n in first["items"] + second["items"]] == ["number 2", "number 1", "number 0"]
    # When someone else replays that cursor, then 400: it points into another user's list
    api.signup("u_snoop")
    snoop = api.client.call(
        "GET", f"/notifications?cursor={first['next_cursor']}", token=api.token("u_snoop")
    )
    assert snoop.status == 400


class _Down:
    calls = 0

    def labels(self, image: bytes) -> list[dict[str, Any]]:
        _Down.calls += 1
        raise TimeoutError("Rekognition did not answer within 5 s")


@pytest.fixture
def classifier_down(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_Down]]:
    """Given the classifier service timing out on every call."""
    _Down.calls = 0
    monkeypatch.setattr(moderation, "classifier", _Down)
    yield _Down
    moderation._breaker.close()


def test_with_the_classifier_down_media_waits_in_review_unpublished_and_is_retried(
    api: ApiStack, classifier_down: type[_Down], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a follower and a post whose media is being moderated while the classifier is down
    _author_and_follower(api, "u_outage_author", "u_outage_viewer")
    media_id = finished_media(api, "u_outage_author", scene(4321))
    post = _post(api, "u_outage_author", media_id)
    # When moderation runs, then the invocation fails so SQS retries it, and the media waits in review
    with pytest.raises(FunctionError, match="All records failed"):
        run_moderation(api, media_id)
    verdict = _verdict(media_id)
    assert (verdict["verdict"], verdict["reason"]) == (
        "review",
        "classifier unavailable (TimeoutError): retrying",
    )
    assert _feed(api, "u_outage_viewer") == []
    queue = api.client.call("GET", "/moderation/review", token=_moderator_token(api)).body["items"]
    assert media_id in [item["media_id"] for item in queue]
    # When the outage goes on, then after 5 failures the circuit opens and stops calling the service
    for _ in range(6):
        with pytest.raises(FunctionError):
            run_moderation(api, media_id)
    assert classifier_down.calls == 5
    # When the service is back and the circuit closes, then the retry approves and publishes the post
    monkeypatch.undo()
    moderation._breaker.close()
    assert run_moderation(api, media_id) == {"batchItemFailures": []}
    assert _verdict(media_id)["verdict"] == "approved"
    eventually(lambda: _feed(api, "u_outage_viewer") == [post["post_id"]])
    queue = api.client.call("GET", "/moderation/review", token=_moderator_token(api)).body["items"]
    assert media_id not in [item["media_id"] for item in queue]


def test_a_moderator_decides_held_media_once_and_nobody_else_may(
    api: ApiStack, classifier_down: type[_Down]
) -> None:
    # Given media held for review with a post waiting on it
    _author_and_follower(api, "u_held_author", "u_held_viewer")
    media_id = finished_media(api, "u_held_author", scene(999))
    post = _post(api, "u_held_author", media_id)
    with pytest.raises(FunctionError):
        run_moderation(api, media_id)
    decision = f"/moderation/review/{media_id}"
    # When a user who is not a moderator tries to decide or to extend the blocklist, then 403
    user = api.signup("u_not_moderator")
    assert api.client.call("PUT", decision, {"verdict": "approved"}, token=user).status == 403
    assert api.client.call("GET", "/moderation/review", token=user).status == 403
    entry = {"pdq": "0" * 64, "reason": "x"}
    assert api.client.call("POST", "/moderation/blocklist", entry, token=user).status == 403
    # When a moderator sends a malformed decision, then 422
    moderator = _moderator_token(api)
    assert api.client.call("PUT", decision, {"verdict": "maybe"}, token=moderator).status == 422
    bad_entry = {"pdq": "0" * 64, "media_id": media_id, "reason": "both"}
    assert api.client.call("POST", "/moderation/blocklist", bad_entry, token=moderator).status == 422
    no_jpeg = {"media_id": "m_no_jpeg", "owner_id": "u_held_author", "state": "ready", "renditions": []}
    client("dynamodb").put_item(TableName=api.stack.environment["MEDIA_TABLE"], Item=to_item(no_jpeg))
    unusable = api.client.call(
        "POST", "/moderation/blocklist", {"media_id": "m_no_jpeg", "reason": "x"}, token=moderator
    )
    assert (unusable.status, unusable.body["error"]["message"]) == (
        422,
        "media m_no_jpeg has no JPEG rendition to check",
    )
    # When the moderator pages through the held media one at a time, then each page holds one, in order
    other = finished_media(api, "u_held_author", scene(998))
    with pytest.raises(FunctionError):
        run_moderation(api, other)
    pages, cursor = [], ""
    while True:
        page = api.client.call("GET", f"/moderation/review?limit=1{cursor}", token=moderator).body
        pages += [item["media_id"] for item in page["items"]]
        if not page["next_cursor"]:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert {media_id, other} <= set(pages)
    assert len(pages) == len(set(pages))
    assert api.client.call("GET", "/moderation/review?cursor=bm90LWEtY3Vyc29y", token=moderator).status == 400
    # When the moderator approves, then the post is published; a second decision is refused
    approved = api.client.call("PUT", decision, {"verdict": "approved", "note": "fine"}, token=moderator)
    assert (approved.status, approved.body["verdict"], approved.body["published"]) == (200, "approved", 1)
    again = api.client.call("PUT", decision, {"verdict": "blocked"}, token=moderator)
    assert again.status == 409
    eventually(lambda: _feed(api, "u_held_viewer") == [post["post_id"]])
    # And a later check never overrides the moderator
    assert _verdict(media_id)["decided_by"] == "u_moderator"


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
