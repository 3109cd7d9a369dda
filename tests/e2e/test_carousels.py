"""Carousels on the local stack: 1 to 10 photos and videos in one post, each with alt text; the
post publishes when its last item is approved; feed, grid and purge handle every item."""

from __future__ import annotations

from typing import Any

from aperture.core.aws import client
from aperture.core.ids import new_id
from aperture.media import records
from aperture.moderation import checks as moderation
from tests.clips import clip
from tests.conftest import eventually
from tests.e2e.conftest import ApiStack, finished_media, run_moderation, upload_media
from tests.pictures import jpeg, scene

ALT = "A harbour at dusk: fishing boats, their lights on the water"


def _media(api: ApiStack, owner: str) -> str:
    return finished_media(api, owner, scene(sum(map(ord, new_id("s"))) % 10_000, size=(240, 180)))


def _approve(api: ApiStack, media_id: str) -> None:
    assert run_moderation(api, media_id) == {"batchItemFailures": []}


def _state(api: ApiStack, post_id: str, token: str) -> str:
    return str(api.client.call("GET", f"/posts/{post_id}", token=token).body["state"])


def test_a_photo_and_a_video_with_alt_text_publish_together_and_reach_feed_and_grid(api: ApiStack) -> None:
    # Given a follower, and a photo and a video uploaded through the real pipelines
    author, fan = api.signup("u_car_author"), api.signup("u_car_fan")
    follow = {"following": True, "client_timestamp": 1}
    assert api.client.call("PUT", "/users/u_car_fan/following/u_car_author", follow, token=fan).status == 200
    photo = upload_media(api, author, jpeg(scene(71, size=(320, 240))))
    video = upload_media(api, author, clip(320, 240, 1.0), "video/mp4")

    # When the author posts them as one carousel, the photo described for screen readers
    body = {"caption": "Harbour", "media": [{"media_id": photo, "alt_text": ALT}, {"media_id": video}]}
    post = api.client.call("POST", "/posts", body, token=author).body
    eventually(lambda: _state(api, post["post_id"], author) == "published", 90)

    # Then the post, the follower's feed and the grid carry both items in order, the alt text with its photo
    items = [{"media_id": photo, "alt_text": ALT}, {"media_id": video, "alt_text": ""}]
    assert api.client.call("GET", f"/posts/{post['post_id']}", token=fan).body["media_items"] == items
    feed = eventually(lambda: api.client.call("GET", "/feed", token=fan).body["items"])
    assert [(p["post_id"], p["media_items"]) for p in feed] == [(post["post_id"], items)]
    grid = api.client.call("GET", "/users/u_car_author/posts", token=fan).body["items"]
    assert (grid[0]["media_id"], grid[0]["media"]["kind"], grid[0]["media_items"]) == (photo, "image", items)
    # And the alt text is stored with the post, never in the media's bytes
    bucket = api.stack.environment["MEDIA_BUCKET"]
    for rendition in api.client.call("GET", f"/media/{photo}", token=fan).body["renditions"]:
        data = client("s3").get_object(Bucket=bucket, Key=rendition["key"])["Body"].read()
        assert b"harbour" not in data.lower()


def test_a_carousel_waits_for_its_last_item_and_stays_hidden_while_one_is_blocked(api: ApiStack) -> None:
    # Given an author with three finished items, not yet moderated
    author, fan = api.signup("u_car_wait"), api.signup("u_car_wait_fan")
    first, second, third = (_media(api, "u_car_wait") for _ in range(3))
    post = api.client.call(
        "POST", "/posts", {"media": [{"media_id": m} for m in (first, second, third)]}, token=author
    ).body
    assert post["state"] == "pending"

    # When two are approved, the post still waits, shown to no one but its author
    _approve(api, first)
    _approve(api, third)
    assert _state(api, post["post_id"], author) == "pending"
    assert api.client.call("GET", f"/posts/{post['post_id']}", token=fan).status == 404
    assert api.client.call("GET", "/users/u_car_wait/posts", token=fan).body["items"] == []

    # And a blocked last item keeps it pending; an approved one publishes it
    moderation.record_verdict(records.get_media(second), moderation.BLOCKED, "test: blocked")
    assert _state(api, post["post_id"], author) == "pending"
    other = api.client.call("POST", "/posts", {"media": [{"media_id": first}]}, token=author).body
    assert other["state"] == "published"  # its one item is approved: published at once


def test_the_last_approval_publishes_a_carousel(api: ApiStack) -> None:
    author = api.signup("u_car_last")
    items = [_media(api, "u_car_last") for _ in range(2)]
    post = api.client.call("POST", "/posts", {"media": [{"media_id": m} for m in items]}, token=author).body

    for media_id in items:
        _approve(api, media_id)

    assert _state(api, post["post_id"], author) == "published"


def test_malformed_carousels_are_refused_precisely(api: ApiStack) -> None:
    author, stranger = api.signup("u_car_bad"), api.signup("u_car_stranger")
    own = [_media(api, "u_car_bad") for _ in range(11)]
    theirs = _media(api, "u_car_stranger")

    def create(body: dict[str, Any]) -> int:
        return api.client.call("POST", "/posts", body, token=author).status

    statuses = {
        "eleven items": create({"media": [{"media_id": m} for m in own]}),
        "no items": create({"media": []}),
        "an item twice": create({"media": [{"media_id": own[0]}, {"media_id": own[0]}]}),
        "media_id and media": create({"media_id": own[0], "media": [{"media_id": own[1]}]}),
        "alt text too long": create({"media": [{"media_id": own[0], "alt_text": "x" * 1001}]}),
        "someone else's item": create({"media": [{"media_id": own[0]}, {"media_id": theirs}]}),
        "an unknown item": create({"media": [{"media_id": own[0]}, {"media_id": "m_nope"}]}),
    }

    assert statuses == {
        "eleven items": 422,
        "no items": 422,
        "an item twice": 422,
        "media_id and media": 422,
        "alt text too long": 422,
        "someone else's item": 403,
        "an unknown item": 404,
    }
    assert api.client.call("GET", "/users/u_car_bad/posts", token=author).body["items"] == []
    assert api.client.call("GET", "/users/u_car_stranger/posts", token=stranger).body["items"] == []


def test_deleting_a_carousel_releases_every_item(api: ApiStack) -> None:
    author = api.signup("u_car_gone")
    items = [_media(api, "u_car_gone") for _ in range(3)]
    for media_id in items:
        _approve(api, media_id)
    post = api.client.call("POST", "/posts", {"media": [{"media_id": m} for m in items]}, token=author).body
    assert post["state"] == "published"

    assert api.client.call("DELETE", f"/posts/{post['post_id']}", token=author).status == 200

    table = api.stack.environment["MEDIA_TABLE"]
    eventually(
        lambda: all(
            "Item" not in client("dynamodb").get_item(TableName=table, Key={"media_id": {"S": m}})
            for m in items
        ),
        60,
    )
