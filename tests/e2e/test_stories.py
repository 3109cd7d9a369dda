"""Stories on the local stack with a frozen clock: exactly 24 hours, and expired exactly once."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import pytest

from aperture.core.aws import client
from aperture.core.clock import ManualClock
from aperture.core.ids import new_id
from aperture.core.messages import TrayRemoval
from aperture.feed.home import clear_caches
from aperture.stories import expiry
from aperture.stories import story as story_domain
from aperture_local.items import to_item
from aperture_local.runtime import FunctionError
from aperture_local.stack import LocalStack
from tests.conftest import eventually, load_event
from tests.e2e.conftest import ApiStack, serving

pytestmark = pytest.mark.slow(seconds=30)

DAY = 86_400
APPROVED = {"verdict": "approved"}  # as the moderation function leaves media it passed


@pytest.fixture(scope="module")
def api() -> Iterator[ApiStack]:
    """The stack with the CDN invalidator gathering paths for 10 s, not production's 60."""
    with LocalStack(parameters={"CdnInvalidationWindowSeconds": "10"}) as stack, serving(stack) as served:
        yield served


@pytest.fixture
def ttl_paused(api: ApiStack) -> Iterator[None]:
    """Given DynamoDB's TTL deleting nothing, as it may for days in AWS."""
    with api.stack.paused("ttl-emulator"):
        yield


@pytest.fixture
def expiry_by_hand(api: ApiStack) -> Iterator[None]:
    """Given only the test expiring Stories: TTL deletions and the expiry schedules are held back."""
    with api.stack.paused("ttl-emulator", "scheduler", "schedule:story_scheduler:"):
        yield


def _ready_media(api: ApiStack, owner: str) -> str:
    media_id = new_id("m")
    item = {
        "media_id": media_id,
        "owner_id": owner,
        "state": "ready",
        "created_at": 0,
        "moderation": APPROVED,
    }
    client("dynamodb").put_item(TableName=api.stack.environment["MEDIA_TABLE"], Item=to_item(item))
    return media_id


def _post_story(api: ApiStack, author: str, token: str, media_id: str | None = None) -> dict[str, Any]:
    """Post a Story and wait until fan-out has put it in every follower's tray."""
    reply = api.client.call(
        "POST", "/stories", {"media_id": media_id or _ready_media(api, author)}, token=token
    )
    assert reply.status == 201, reply
    story: dict[str, Any] = reply.body
    followers = api.client.call("GET", f"/users/{author}", token=token).body["follower_count"]
    eventually(lambda: _trays_with(api, author, story["created_at"]) == followers)
    return story


def _trays_with(api: ApiStack, author: str, created_at: float) -> int:
    """How many trays show the author's ring for a Story created at ``created_at`` or later."""
    return int(
        client("dynamodb").scan(
            TableName=api.stack.environment["TRAYS_TABLE"],
            FilterExpression="author_id = :a AND latest_story_at >= :t",
            ExpressionAttributeValues={":a": {"S": author}, ":t": {"N": repr(created_at)}},
            Select="COUNT",
        )["Count"]
    )


def _deliver_expiry(api: ApiStack, author: str, story_id: str) -> Any:
    """Hand the expirer the message its schedule would send."""
    record = {
        **load_event("story_expirer/story_expiry.json")["Records"][0],
        "body": json.dumps({"author_id": author, "story_id": story_id}),
    }
    return api.stack.function("story_expirer").invoke({"Records": [record]})


def _author_with_follower(api: ApiStack, author: str, viewer: str) -> tuple[str, str]:
    author_token, viewer_token = api.signup(author), api.signup(viewer)
    follow = {"following": True, "client_timestamp": 1}
    assert (
        api.client.call("PUT", f"/users/{viewer}/following/{author}", follow, token=viewer_token).status
        == 200
    )
    return author_token, viewer_token


def _visible(api: ApiStack, author: str, as_user: str) -> dict[str, Any]:
    token = api.token(as_user)  # issued on the current clock: the test moves it by days
    stories = api.client.call("GET", f"/users/{author}/stories", token=token)
    tray = api.client.call("GET", "/stories/tray", token=token)
    return {
        "stories": [s["story_id"] for s in stories.body["items"]],
        "tray": [entry["author_id"] for entry in tray.body["items"]],
        "cache": stories.headers["Cache-Control"],
        "server_time": stories.body["server_time"],
    }


@pytest.mark.parametrize("ttl_running", [False, True], ids=["ttl paused", "ttl running"])
def test_a_story_is_visible_until_the_millisecond_before_it_expires_and_never_after(
    api: ApiStack, manual_clock: ManualClock, ttl_running: bool, request: pytest.FixtureRequest
) -> None:
    # Given an author followed by a viewer, who posts a Story now
    suffix = "run" if ttl_running else "paused"
    author, viewer = f"u_story_{suffix}", f"u_viewer_{suffix}"
    author_token, _ = _author_with_follower(api, author, viewer)
    if not ttl_running:
        request.getfixturevalue("ttl_paused")
    story = _post_story(api, author, author_token)
    assert story["expires_at"] == pytest.approx(manual_clock.now() + DAY)  # the server's clock decides

    # When the clock is one millisecond short of the expiry, then every read path shows it
    manual_clock.set(story["expires_at"] - 0.001)
    for user in (author, viewer):
        seen = _visible(api, author, user)
        assert seen["stories"] == [story["story_id"]]
        assert seen["cache"] == "no-store"  # under a second left: nothing may cache it
        assert seen["server_time"] == manual_clock.now()
    assert _visible(api, author, viewer)["tray"] == [author]

    # When the clock reaches the expiry, then no read path shows it, whatever TTL has done
    manual_clock.set(story["expires_at"])
    for user in (author, viewer):
        assert _visible(api, author, user)["stories"] == []
    assert author not in _visible(api, author, viewer)["tray"]


def test_cache_control_never_outlives_the_story(api: ApiStack, manual_clock: ManualClock) -> None:
    author_token, _ = _author_with_follower(api, "u_cache_author", "u_cache_viewer")
    story = _post_story(api, "u_cache_author", author_token)
    manual_clock.set(story["expires_at"] - 90.5)
    assert _visible(api, "u_cache_author", "u_cache_author")["cache"] == "private, max-age=90"


def _story_items(api: ApiStack, author: str) -> list[str]:
    items = client("dynamodb").query(
        TableName=api.stack.environment["STORIES_TABLE"],
        KeyConditionExpression="author_id = :a",
        ExpressionAttributeValues={":a": {"S": author}},
    )["Items"]
    return sorted(
        item["story_id"]["S"].split("#")[0] if "#" in item["story_id"]["S"] else "story" for item in items
    )


def _outcomes(api: ApiStack, function: str, story_id: str) -> list[str]:
    found = []
    for invocation in api.stack.log.of(function):
        if story_id in json.dumps(invocation.event) and invocation.error is None:
            found.append(invocation.function)
    return found


def test_expiry_runs_exactly_once_though_the_schedule_and_the_ttl_stream_both_fire(
    api: ApiStack, manual_clock: ManualClock
) -> None:
    # Given a Story expiring within the next minute, and the viewer's tray showing its author
    author_token, _ = _author_with_follower(api, "u_once_author", "u_once_viewer")
    story = _post_story(api, "u_once_author", author_token)
    manual_clock.set(story["expires_at"] - 30)

    # When the minute's scheduler tick runs, then it schedules the exact expiry
    done = api.stack.function("story_scheduler").invoke(load_event("story_scheduler/every_minute.json"))
    assert done["scheduled"] >= 1

    # When the clock passes the expiry: the schedule fires and the TTL emulator deletes the item
    manual_clock.set(math.ceil(story["expires_at"]) + 1)
    eventually(lambda: _outcomes(api, "story_expirer", story["story_id"]), timeout=20)
    eventually(lambda: _outcomes(api, "story_ttl_stream", story["story_id"]), timeout=20)

    # Then it was expired once: one claim, one archived copy, the Story item gone, the tray empty
    eventually(lambda: _story_items(api, "u_once_author") == ["archive", "expired"], timeout=10)
    assert _visible(api, "u_once_author", "u_once_viewer")["tray"] == []


@pytest.mark.usefixtures("expiry_by_hand")
def test_an_expired_story_can_be_pinned_to_a_highlight_which_never_expires(
    api: ApiStack, manual_clock: ManualClock
) -> None:
    # Given a Story that has expired and been archived
    author_token, _ = _author_with_follower(api, "u_hl_author", "u_hl_viewer")
    story = _post_story(api, "u_hl_author", author_token)
    manual_clock.set(story["expires_at"] + 5)
    assert _deliver_expiry(api, "u_hl_author", story["story_id"]) == {"batchItemFailures": []}

    # When the author pins it, then the highlight shows it to anyone, a day later still
    token = api.token("u_hl_author")
    pinned = api.client.call(
        "PUT", "/users/u_hl_author/highlights/summer", {"story_ids": [story["story_id"]]}, token=token
    )
    assert (pinned.status, [s["story_id"] for s in pinned.body["stories"]]) == (200, [story["story_id"]])
    manual_clock.advance(DAY)
    shown = api.client.call("GET", "/users/u_hl_author/highlights", token=api.token("u_hl_viewer")).body[
        "items"
    ]
    assert shown == [{"name": "summer", "stories": [pinned.body["stories"][0]]}]
    # And nobody else can change it, nor pin what is not archived
    other = api.client.call(
        "PUT", "/users/u_hl_author/highlights/x", {"story_ids": ["s_1"]}, token=api.token("u_hl_viewer")
    )
    unknown = api.client.call(
        "PUT", "/users/u_hl_author/highlights/x", {"story_ids": ["s_nope"]}, token=api.token("u_hl_author")
    )
    assert (other.status, unknown.status) == (403, 404)


@pytest.mark.usefixtures("expiry_by_hand")
def test_without_an_archive_the_storys_media_is_tagged_for_deletion_a_day_later(
    api: ApiStack, manual_clock: ManualClock
) -> None:
    # Given an author who keeps no archive, and a Story whose media has a rendition in the bucket
    author_token, _ = _author_with_follower(api, "u_noarch", "u_noarch_fan")
    assert (
        api.client.call("PATCH", "/users/u_noarch", {"archive_stories": False}, token=author_token).status
        == 200
    )
    media_id, key = new_id("m"), "media/m_noarch/abc/display.jpg"
    client("s3").put_object(Bucket=api.stack.environment["MEDIA_BUCKET"], Key=key, Body=b"jpeg")
    item: dict[str, Any] = {
        "media_id": media_id,
        "owner_id": "u_noarch",
        "state": "ready",
        "moderation": APPROVED,
    }
    item["renditions"] = [{"key": key}]
    client("dynamodb").put_item(TableName=api.stack.environment["MEDIA_TABLE"], Item=to_item(item))
    story = _post_story(api, "u_noarch", author_token, media_id)

    # When it expires
    manual_clock.set(story["expires_at"] + 1)
    assert _deliver_expiry(api, "u_noarch", story["story_id"]) == {"batchItemFailures": []}

    # Then nothing is archived and the rendition carries the tag the lifecycle rule deletes by
    assert _story_items(api, "u_noarch") == ["expired", "story"]
    tags = client("s3").get_object_tagging(Bucket=api.stack.environment["MEDIA_BUCKET"], Key=key)["TagSet"]
    assert tags == [{"Key": "aperture-expired-story", "Value": "true"}]


def test_the_tray_ranks_the_author_one_engages_with_above_a_more_recent_one(
    api: ApiStack, manual_clock: ManualClock
) -> None:
    # Given a viewer following two authors, and having liked three posts of the first
    close, recent, viewer = "u_close_author", "u_recent_author", "u_close_viewer"
    close_token, viewer_token = _author_with_follower(api, close, viewer)
    recent_token = api.signup(recent)
    follow = {"following": True, "client_timestamp": 1}
    api.client.call("PUT", f"/users/{viewer}/following/{recent}", follow, token=viewer_token)
    for caption in ("a", "b", "c"):
        post = api.client.call("POST", "/posts", {"caption": caption}, token=close_token).body
        assert api.client.call("PUT", f"/posts/{post['post_id']}/like", token=viewer_token).status == 200
    # When both post a Story, the other author a minute later
    _post_story(api, close, close_token)
    manual_clock.advance(60)
    _post_story(api, recent, recent_token)
    # Then the tray puts the author the viewer engages with first, both rings unseen
    tray = api.client.call("GET", "/stories/tray", token=api.token(viewer)).body["items"]
    assert [(entry["author_id"], entry["unseen"]) for entry in tray] == [(close, True), (recent, True)]
    assert tray[0]["score"] > tray[1]["score"]


@pytest.mark.usefixtures("expiry_by_hand")
def test_stories_expiring_within_a_minute_share_one_cdn_invalidation_of_their_media(
    api: ApiStack, manual_clock: ManualClock
) -> None:
    # Given three Stories whose media has two renditions each
    author_token, _ = _author_with_follower(api, "u_cdn_author", "u_cdn_fan")
    stories, paths = [], set()
    for index in range(3):
        media_id = new_id("m")
        keys = [f"media/{media_id}/d{index}/display.jpg", f"media/{media_id}/d{index}/thumb_150.webp"]
        item: dict[str, Any] = {"media_id": media_id, "owner_id": "u_cdn_author", "state": "ready"}
        item["moderation"] = APPROVED
        item["renditions"] = [{"key": key} for key in keys]
        client("dynamodb").put_item(TableName=api.stack.environment["MEDIA_TABLE"], Item=to_item(item))
        stories.append(_post_story(api, "u_cdn_author", author_token, media_id))
        paths |= {f"/{key}" for key in keys}
    # When they expire, a second apart
    for story in stories:
        manual_clock.set(story["expires_at"] + 1)
        assert _deliver_expiry(api, "u_cdn_author", story["story_id"]) == {"batchItemFailures": []}

    # Then, once the batching window closes (a minute in production), one invalidation covers all six paths
    cloudfront = client("cloudfront")
    distribution = api.stack.environment["MEDIA_DISTRIBUTION_ID"]

    def covering() -> list[set[str]]:
        listed = cloudfront.list_invalidations(DistributionId=distribution)["InvalidationList"]
        found = []
        for summary in listed.get("Items", []):
            batch = cloudfront.get_invalidation(DistributionId=distribution, Id=summary["Id"])
            invalidated = set(batch["Invalidation"]["InvalidationBatch"]["Paths"]["Items"])
            if invalidated & paths:
                found.append(invalidated)
        return found

    eventually(covering, timeout=90)
    assert len(covering()) == 1
    assert paths <= covering()[0]


@pytest.mark.usefixtures("expiry_by_hand")
def test_a_celebritys_story_is_merged_into_trays_on_read_without_tray_rows(
    api: ApiStack, manual_clock: ManualClock
) -> None:
    # Given a celebrity (at the follower threshold) followed by a viewer
    star_token, viewer_token = _author_with_follower(api, "u_tray_star", "u_tray_fan")
    client("dynamodb").update_item(
        TableName=api.stack.environment["USERS_TABLE"],
        Key={"user_id": {"S": "u_tray_star"}},
        UpdateExpression="SET follower_count = :n",
        ExpressionAttributeValues={":n": {"N": "100000"}},
    )
    # When the celebrity posts a Story
    reply = api.client.call(
        "POST", "/stories", {"media_id": _ready_media(api, "u_tray_star")}, token=star_token
    )
    story = reply.body
    clear_caches()  # as if the minute each instance caches merged authors had passed
    # Then no tray row is written, yet the viewer's tray shows the ring, unseen
    assert _trays_with(api, "u_tray_star", story["created_at"]) == 0
    tray = api.client.call("GET", "/stories/tray", token=viewer_token).body["items"]
    assert [(entry["author_id"], entry["unseen"]) for entry in tray] == [("u_tray_star", True)]
    # When the viewer watches it, then the ring is seen
    seen = api.client.call("PUT", f"/stories/u_tray_star/{story['story_id']}/seen", token=viewer_token)
    assert seen.status == 200
    tray = api.client.call("GET", "/stories/tray", token=viewer_token).body["items"]
    assert [(entry["author_id"], entry["unseen"]) for entry in tray] == [("u_tray_star", False)]
    # When it expires, then the ring is gone at once, and expiry touches no follower's tray
    manual_clock.set(story["expires_at"])
    assert api.client.call("GET", "/stories/tray", token=api.token("u_tray_fan")).body["items"] == []
    outcome = _deliver_expiry(api, "u_tray_star", story["story_id"])
    assert outcome == {"batchItemFailures": []}


@pytest.mark.usefixtures("expiry_by_hand")
def test_an_expiry_that_fails_half_way_is_redone_in_full_on_retry(
    api: ApiStack, manual_clock: ManualClock
) -> None:
    # Given an expired Story whose tray and archive steps will succeed but whose CDN step fails once
    author_token, _ = _author_with_follower(api, "u_retry_author", "u_retry_fan")
    media_id = new_id("m")
    item: dict[str, Any] = {
        "media_id": media_id,
        "owner_id": "u_retry_author",
        "state": "ready",
        "moderation": APPROVED,
    }
    item["renditions"] = [{"key": f"media/{media_id}/d/display.jpg"}]
    client("dynamodb").put_item(TableName=api.stack.environment["MEDIA_TABLE"], Item=to_item(item))
    story = _post_story(api, "u_retry_author", author_token, media_id)
    manual_clock.set(story["expires_at"] + 1)
    sqs = client("sqs")

    def queue_down(**kwargs: Any) -> None:
        raise ConnectionError("SQS is unreachable")

    # When the expirer runs into the failure
    sqs.meta.events.register("before-call.sqs.SendMessage", queue_down)
    try:
        with pytest.raises(FunctionError):
            _deliver_expiry(api, "u_retry_author", story["story_id"])
    finally:
        sqs.meta.events.unregister("before-call.sqs.SendMessage", queue_down)
    # Then nothing is claimed, so the retry is not mistaken for a finished expiry
    assert "expired" not in _story_items(api, "u_retry_author")
    # When SQS delivers it again, then it completes: one claim, one archived copy, the tray empty
    assert _deliver_expiry(api, "u_retry_author", story["story_id"]) == {"batchItemFailures": []}
    assert _story_items(api, "u_retry_author") == ["archive", "expired", "story"]
    assert _visible(api, "u_retry_author", "u_retry_fan")["tray"] == []


@pytest.mark.usefixtures("expiry_by_hand")
def test_an_author_deletes_a_story_at_once_and_trays_keep_only_what_is_still_live(
    api: ApiStack, manual_clock: ManualClock
) -> None:
    # Given an author's two Stories in a follower's tray, a minute apart, the later one with a rendition
    env, s3 = api.stack.environment, client("s3")
    author_token, viewer_token = _author_with_follower(api, "u_del_author", "u_del_fan")
    earlier = _post_story(api, "u_del_author", author_token)
    manual_clock.advance(60)
    media_id, key = new_id("m"), "media/del/d/display.jpg"
    s3.put_object(Bucket=env["MEDIA_BUCKET"], Key=key, Body=b"jpeg")
    item = {"media_id": media_id, "owner_id": "u_del_author", "state": "ready", "moderation": APPROVED}
    client("dynamodb").put_item(
        TableName=env["MEDIA_TABLE"], Item=to_item(item | {"renditions": [{"key": key}]})
    )
    later = _post_story(api, "u_del_author", api.token("u_del_author"), media_id)

    # When the follower tries to delete it, or the author names a Story that is not there
    path = f"/stories/u_del_author/{later['story_id']}"
    refused = api.client.call("DELETE", path, token=viewer_token)
    assert (refused.status, refused.body["error"]["message"]) == (403, "you can only delete your own Stories")
    assert api.client.call("DELETE", "/stories/u_del_author/s_nothing", token=author_token).status == 404
    # When the author deletes the later one
    reply = api.client.call("DELETE", path, token=api.token("u_del_author"))

    # Then it is gone at once: not listed, the ring kept only for the earlier Story, never archived,
    # its rendition tagged for the bucket's lifecycle rule, and a second delete finds nothing
    assert (reply.status, reply.body) == (
        200,
        {"author_id": "u_del_author", "story_id": later["story_id"], "deleted": True},
    )
    assert _visible(api, "u_del_author", "u_del_fan")["stories"] == [earlier["story_id"]]
    assert float(_ring(api, "u_del_fan", "u_del_author")["expires_at"]["N"]) == pytest.approx(
        earlier["expires_at"]
    )
    assert "Item" not in client("dynamodb").get_item(
        TableName=env["STORIES_TABLE"],
        Key={"author_id": {"S": "u_del_author"}, "story_id": {"S": f"archive#{later['story_id']}"}},
    )
    tags = s3.get_object_tagging(Bucket=env["MEDIA_BUCKET"], Key=key)["TagSet"]
    assert tags == [{"Key": "aperture-expired-story", "Value": "true"}]
    assert api.client.call("DELETE", path, token=api.token("u_del_author")).status == 404
    # And deleting the last live Story takes the author out of the tray
    last = api.client.call(
        "DELETE", f"/stories/u_del_author/{earlier['story_id']}", token=api.token("u_del_author")
    )
    assert last.status == 200
    assert _ring(api, "u_del_fan", "u_del_author") == {}


def _ring(api: ApiStack, viewer: str, author: str) -> dict[str, Any]:
    item: dict[str, Any] = (
        client("dynamodb")
        .get_item(
            TableName=api.stack.environment["TRAYS_TABLE"],
            Key={"viewer_id": {"S": viewer}, "author_id": {"S": author}},
            ConsistentRead=True,
        )
        .get("Item", {})
    )
    return item


def _schedules_due(api: ApiStack, seconds: set[int]) -> dict[str, list[str]]:
    """The expiry schedules firing at any of ``seconds``, by name, with the Stories each carries."""
    scheduler = client("scheduler")
    found = {}
    for page in scheduler.get_paginator("list_schedules").paginate(NamePrefix="expire-"):
        for listed in page["Schedules"]:
            if int(listed["Name"].split("-")[1]) in seconds:
                target = scheduler.get_schedule(Name=listed["Name"])["Target"]
                found[listed["Name"]] = [s["story_id"] for s in json.loads(target["Input"])["stories"]]
    return found


@pytest.mark.usefixtures("expiry_by_hand")
def test_stories_expiring_in_one_second_share_schedules_and_a_repeated_tick_adds_none(
    api: ApiStack, manual_clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given five Stories posted in one second and one a second later (at a time no other test uses),
    # and groups of at most two Stories a schedule
    monkeypatch.setattr(expiry, "EXPIRY_GROUP", 2)
    manual_clock.set(1_750_000_000.25)
    stories = []
    for index in range(6):
        if index == 5:
            manual_clock.advance(1)
        author = f"u_group_{index}"
        stories.append(_post_story(api, author, api.signup(author)))
    seconds = {math.ceil(story["expires_at"]) for story in stories}

    # When the scheduler's tick runs half a minute before they expire, and then runs again
    manual_clock.set(stories[0]["expires_at"] - 30)
    first = expiry.schedule_expiries(manual_clock.now())
    again = expiry.schedule_expiries(manual_clock.now())

    # Then three schedules carry the first second's five Stories and one the last, each Story once
    assert (first["scheduled"], first["schedules"], first["schedules_created"]) == (6, 4, 4)
    grouped = _schedules_due(api, seconds)
    assert sorted(len(members) for members in grouped.values()) == [1, 1, 2, 2]
    carried = [story_id for members in grouped.values() for story_id in members]
    assert sorted(carried) == sorted(story["story_id"] for story in stories)
    # And the repeated tick met its own schedules
    assert (again["schedules"], again["schedules_created"]) == (4, 0)
    assert len(_schedules_due(api, seconds)) == 4


@pytest.mark.usefixtures("expiry_by_hand")
def test_a_large_audience_leaves_trays_in_slices_through_the_fanout_queue(
    api: ApiStack, manual_clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an author with five followers, whose Story is in each tray, and slices of two followers
    # for any audience over two
    monkeypatch.setattr(story_domain, "TRAYS_INLINE", 2)
    monkeypatch.setattr(story_domain, "FANOUT_SLICE", 2)
    author = "u_slices_author"
    fans = [f"u_slices_fan_{i}" for i in range(5)]
    token = api.signup(author)
    for fan in fans:
        follow = {"following": True, "client_timestamp": 1}
        reply = api.client.call("PUT", f"/users/{fan}/following/{author}", follow, token=api.signup(fan))
        assert reply.status == 200
    story = _post_story(api, author, token)

    # When the Story expires
    manual_clock.set(story["expires_at"])
    assert _deliver_expiry(api, author, story["story_id"]) == {"batchItemFailures": []}

    # Then three slices leave the trays through the fan-out function, and no tray keeps the author
    def removals() -> list[dict[str, Any]]:
        return [
            json.loads(record["body"])
            for invocation in api.stack.log.of("fanout")
            for record in invocation.event["Records"]
            if "removed_until" in record["body"] and author in record["body"]
        ]

    eventually(lambda: len(removals()) == 3)
    assert all(_ring(api, fan, author) == {} for fan in fans)
    assert sorted(len(removal["followers"]) for removal in removals()) == [1, 2, 2]
    assert sorted(fan for removal in removals() for fan in removal["followers"]) == fans


@pytest.mark.usefixtures("expiry_by_hand")
def test_a_group_with_a_story_not_yet_due_expires_the_rest_and_comes_back_for_it(
    api: ApiStack, manual_clock: ManualClock
) -> None:
    # Given a schedule's group of two Stories, one of them due and one a second later
    due = _post_story(api, "u_grp_due", api.signup("u_grp_due"))
    manual_clock.advance(1)
    later = _post_story(api, "u_grp_later", api.signup("u_grp_later"))
    event = load_event("story_expirer/story_expiry_group.json")
    group = {"stories": [{"author_id": s["author_id"], "story_id": s["story_id"]} for s in (due, later)]}
    event["Records"][0]["body"] = json.dumps(group)
    expirer = api.stack.function("story_expirer")

    # When the group arrives at the first one's time, then the invocation fails (the message comes back)
    manual_clock.set(due["expires_at"])
    with pytest.raises(FunctionError, match="All records failed"):
        expirer.invoke(event)

    # And the due Story is expired meanwhile, the other not
    assert _story_items(api, "u_grp_due") == ["archive", "expired", "story"]
    assert "expired" not in _story_items(api, "u_grp_later")
    # And when it comes back a second later, the other is expired and the first is not redone
    manual_clock.set(later["expires_at"])
    assert expirer.invoke(event) == {"batchItemFailures": []}
    assert _story_items(api, "u_grp_later") == ["archive", "expired", "story"]
    assert _story_items(api, "u_grp_due") == ["archive", "expired", "story"]


@pytest.mark.usefixtures("expiry_by_hand")
def test_a_story_posted_while_a_slice_leaves_trays_keeps_its_rings(
    api: ApiStack, manual_clock: ManualClock
) -> None:
    # Given a follower's tray showing an author's Story, and a slice planned when no Story was left
    # (the author posted this one after the expiry read their live Stories)
    _author_with_follower(api, "u_race_author", "u_race_fan")
    story = _post_story(api, "u_race_author", api.token("u_race_author"))
    removal = TrayRemoval(
        author_id="u_race_author", removed_until=story["created_at"], followers=["u_race_fan"]
    )

    # When the slice runs
    changed = story_domain.remove_from_trays(removal)

    # Then the ring is deleted and put back for the live Story
    assert changed == 1
    ring = _ring(api, "u_race_fan", "u_race_author")
    assert float(ring["expires_at"]["N"]) == pytest.approx(story["expires_at"])
    assert _visible(api, "u_race_author", "u_race_fan")["tray"] == ["u_race_author"]
