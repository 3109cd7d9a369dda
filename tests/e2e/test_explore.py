"""Explore on the local stack: the daily batch trains on the log; the stream personalises in a second."""

from __future__ import annotations

import base64
import io
import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from PIL import Image

from aperture.core.aws import client
from aperture.core.clock import ManualClock, get_clock, set_clock
from aperture.core.ids import new_id
from aperture.explore.catalogue import NETWORK_SLOW, InteractionLog
from aperture.explore.features import AppOpen, Viewer
from aperture.explore.offline import DAY, REFRESHED, append_log, read_catalogue, read_log
from aperture.explore.store import OnlineFeatures
from aperture.media.thumbhash import thumbhash_of
from aperture.moderation.checks import record_verdict
from aperture.social.tables import DAY_SHARDS, day_partition
from aperture_local.items import to_item
from aperture_local.stack import LocalStack
from aperture_local.webapp import AppServer
from benchmarks.natural import natural
from simulator.world import World, WorldSpec, generate, log_rows
from tests.browser import chromium, screenshot, signed_in
from tests.conftest import eventually, load_event
from tests.e2e.conftest import UNHURRIED_EXPLORE, ApiStack, serving
from tests.pictures import jpeg
from tools import backfill

pytestmark = pytest.mark.slow(seconds=25)

WORLD = WorldSpec(users=300, posts=1_500, communities=6, days=10.0, sessions_per_user=8.0, seed=5)


def _publish_world(api: ApiStack, world: World) -> None:
    """The world's posts in the Posts table (published, no media) and its log in the offline store."""
    dynamodb, table = client("dynamodb"), api.stack.environment["POSTS_TABLE"]
    catalogue = world.catalogue
    items = [
        {
            "PutRequest": {
                "Item": {
                    "post_id": {"S": str(catalogue.post_id[n])},
                    "author_id": {"S": str(catalogue.author_id[n])},
                    "created_at": {"N": repr(float(catalogue.created_at[n]))},
                    "created_day": {
                        "S": day_partition(str(catalogue.post_id[n]), float(catalogue.created_at[n]))
                    },
                    "state": {"S": "published" if catalogue.verdict[n] == "approved" else "pending"},
                    "caption": {"S": ""},
                }
            }
        }
        for n in range(len(catalogue))
    ]
    for start in range(0, len(items), 25):
        dynamodb.batch_write_item(RequestItems={table: items[start : start + 25]})
    append_log(list(log_rows(world.interactions)), world.now)


@pytest.fixture(scope="module")
def app() -> AppServer:
    return AppServer(port=0)


@pytest.fixture(scope="module")
def api(app: AppServer) -> Iterator[ApiStack]:
    """The stack with Explore's budgets a loaded test machine meets (the stale path is tested below
    with a deadline no read can meet), and the web client on its own origin."""
    parameters = UNHURRIED_EXPLORE | {"AppOrigin": app.origin}
    with LocalStack(parameters=parameters) as stack, serving(stack, cors=True) as served:
        app.start(served.client.base_url)
        yield served
        app.stop()


@pytest.fixture(scope="module")
def world(api: ApiStack) -> Iterator[World]:
    """Given a simulated world loaded into the stack, and the daily batch run over it."""
    world = generate(WORLD)
    previous = set_clock(ManualClock(start=world.now))
    _publish_world(api, world)
    report = api.stack.function("feature_batch").invoke(load_event("feature_batch/daily.json"))
    assert report["published"] is True, report
    yield world
    set_clock(previous)


def _explore(api: ApiStack, user_id: str) -> Any:
    reply = api.client.call("GET", "/explore", token=api.token(user_id))
    assert reply.status == 200, reply
    return reply.body


def test_the_batch_publishes_a_model_that_serves_known_users_with_reasons(
    api: ApiStack, world: World
) -> None:
    # When a user the batch learned opens Explore
    user = str(world.user_ids[0])
    page = _explore(api, user)
    # Then the page is full, from personal sources, each post with its reason, none by someone they wrote
    assert page["model_version"] == "20261124T100000Z"
    assert page["fallbacks"] == []
    assert len(page["items"]) == 60
    assert {"interest", "community"} & {item["reason"]["source"] for item in page["items"]}
    assert all(item["reason"]["score"] > 0 and item["author_id"] != user for item in page["items"])
    # And the offline store holds the day's aggregates and training set beside the model
    listed = client("s3").list_objects_v2(Bucket=api.stack.environment["FEATURE_STORE_BUCKET"])["Contents"]
    day = datetime.fromtimestamp(world.now, UTC).strftime("%Y-%m-%d")  # the clock is the world's
    assert sorted(o["Key"] for o in listed if not o["Key"].startswith("interactions/")) == [
        "explore/models/20261124T100000Z.npz",
        "explore/models/latest.json",
        f"offline/post_aggregates/dt={day}/post_aggregates.npz",
        f"offline/training_set/dt={day}/training_set.npz",
    ]


def _set_state(api: ApiStack, post_id: str, state: str) -> None:
    client("dynamodb").update_item(
        TableName=api.stack.environment["POSTS_TABLE"],
        Key={"post_id": {"S": post_id}},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "state"},
        ExpressionAttributeValues={":s": {"S": state}},
    )


def test_the_batches_read_the_days_they_need_by_query_never_scanning_the_posts(
    api: ApiStack, world: World
) -> None:
    # Given the world's ten days of posts, one of the last two days deleted since
    since = world.now - 2 * DAY
    shown = world.catalogue.verdict == "approved"
    made = world.catalogue.created_at
    recent = sorted(str(p) for p in world.catalogue.post_id[shown & (made >= since)])
    gone = recent[0]  # published: it goes back so once the test is done
    _set_state(api, gone, "deleted")
    operations: list[str] = []

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        if params.get("TableName") == api.stack.environment["POSTS_TABLE"]:  # not the stack's sweepers'
            operations.append(model.name)

    dynamodb = client("dynamodb")
    dynamodb.meta.events.register("before-parameter-build.dynamodb.*", record)
    try:
        # When the catalogue of the last two days is read
        catalogue = read_catalogue(since)
    finally:
        dynamodb.meta.events.unregister("before-parameter-build.dynamodb.*", record)
        _set_state(api, gone, "published")
    # Then it holds exactly the posts made since (pending ones too), less the deleted one
    pending = {str(p) for p in world.catalogue.post_id[~shown & (made >= since)]}
    assert sorted(str(p) for p in catalogue.post_id) == sorted({*recent, *pending} - {gone})
    # from one query per day and shard (three UTC days, 16 shards each) and no scan
    assert Counter(operations) == {"Query": 3 * DAY_SHARDS}


def test_posts_from_before_the_day_index_are_backfilled_into_it(
    api: ApiStack, world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a post of the last hour written before posts carried their day partition
    old: dict[str, Any] = {"post_id": f"p_old{uuid.uuid4().hex[:8]}", "author_id": str(world.user_ids[3])}
    old |= {"created_at": world.now - 3600, "state": "published", "caption": ""}
    client("dynamodb").put_item(TableName=api.stack.environment["POSTS_TABLE"], Item=to_item(old))
    assert old["post_id"] not in set(read_catalogue(world.now - DAY).post_id)
    # When the operator runs the backfill against the stack, twice
    argv = ["backfill", "--stack-name", api.stack.stack_name, "--endpoint", api.stack.endpoint]
    monkeypatch.setattr("sys.argv", argv)
    backfill.main()
    backfill.main()
    # Then the first run gave that one post its partition, the second found nothing left to do
    reports = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [report["posts_given_a_day"] for report in reports] == [1, 0]
    # and the batches now read it
    assert old["post_id"] in set(read_catalogue(world.now - DAY).post_id)
    client("dynamodb").delete_item(  # not a new post for the refresh test below
        TableName=api.stack.environment["POSTS_TABLE"], Key={"post_id": {"S": old["post_id"]}}
    )


def test_a_feature_read_past_its_deadline_answers_with_the_last_copy(
    api: ApiStack, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a known user's features read once in time
    user = str(world.user_ids[1])
    store = OnlineFeatures(deadline=5.0)
    fresh, stale = store.viewer(user, frozenset())
    assert stale is False
    assert fresh.vector is not None
    # When the next reads take a second against a 10 ms deadline (a loaded machine can finish a
    # read before a deadline of a microsecond is even checked, so the read itself is made slow)
    read = store._read

    def slow_read(user_id: str, following: frozenset[str]) -> Viewer:
        time.sleep(1.0)
        return read(user_id, following)

    monkeypatch.setattr(store, "_read", slow_read)
    store.deadline = 0.01
    copy, stale = store.viewer(user, frozenset())
    # Then the last copy answers, marked stale; a user never read in time gets empty features
    assert stale is True
    assert copy is fresh
    unknown, stale = store.viewer("u_never_read", frozenset())
    assert stale is True
    assert unknown.vector is None


def test_a_newcomer_gets_trending_then_personal_picks_within_a_second_of_engaging(
    api: ApiStack, world: World
) -> None:
    # Given a user nobody has seen
    newcomer = f"u_new{uuid.uuid4().hex[:8]}"
    assert _explore(api, newcomer)["fallbacks"] == ["global_trending"]
    # When they save a few posts of one community
    liked = [str(p) for p in world.catalogue.post_id[world.catalogue.verdict == "approved"][-400:-380]]
    for post_id in liked:
        body = {"event_id": uuid.uuid4().hex, "action": "save"}
        reply = api.client.call("POST", f"/posts/{post_id}/interactions", body, token=api.token(newcomer))
        assert reply.status == 202, reply
    # Then within a second the stream has turned them into features, and Explore is personal
    started = time.monotonic()
    page = eventually(lambda: (p := _explore(api, newcomer))["fallbacks"] == [] and p, timeout=10)
    assert time.monotonic() - started < 5
    shown = {item["post_id"] for item in page["items"]}
    assert not shown & set(liked)  # what they just saw is never shown again


def test_a_post_blocked_after_the_batch_leaves_explore_within_seconds(api: ApiStack, world: World) -> None:
    # Given a post at the top of a user's Explore, whose media moderation now blocks
    user = str(world.user_ids[1])
    top = _explore(api, user)["items"][0]["post_id"]
    media = {"media_id": new_id("m"), "owner_id": "u_sim_owner", "state": "ready", "post_ids": {top}}
    client("dynamodb").put_item(TableName=api.stack.environment["MEDIA_TABLE"], Item=to_item(media))
    record_verdict(media, "blocked", "matched the blocklist")
    # Then Explore stops showing it without waiting for the next batch
    eventually(lambda: top not in [item["post_id"] for item in _explore(api, user)["items"]], timeout=10)


def test_a_post_made_after_the_batch_reaches_explore_with_the_next_refresh(
    api: ApiStack, world: World
) -> None:
    # Given a creator whose posts the two-tower model brings to a user's Explore
    user = str(world.user_ids[2])
    creator = next(
        i["author_id"] for i in _explore(api, user)["items"] if i["reason"]["source"] == "interest"
    )
    # When the creator posts after the batch, five people like it, and the refresh runs ten minutes later
    made_at, post_id = get_clock().now(), f"p_new{uuid.uuid4().hex[:8]}"
    post = {
        "post_id": post_id,
        "author_id": creator,
        "created_at": made_at,
        "created_day": day_partition(post_id, made_at),
        "state": "published",
        "caption": "",
    }
    client("dynamodb").put_item(TableName=api.stack.environment["POSTS_TABLE"], Item=to_item(post))
    fans = [str(u) for u in world.user_ids[-5:]]
    append_log(
        [
            {"event_id": f"e_{fan}", "user_id": fan, "post_id": post_id, "action": "like", "at": made_at + 60}
            for fan in fans
        ],
        made_at + 60,
    )
    clock = get_clock()
    assert isinstance(clock, ManualClock)
    clock.advance(600)
    report = api.stack.function("explore_refresh").invoke(load_event("explore_refresh/tick.json"))
    # Then the refresh adds the post, and the user's next page is served from it and shows the post
    assert report["published"] is True, report
    assert report["new_posts"] == 1
    assert report["interactions"] == len(
        read_log(world.now, made_at + 600)
    )  # all since the batch, the likes too
    page = _explore(api, user)
    assert page["model_version"] == f"20261124T100000Z+{int(made_at + 600)}"
    assert post_id in {item["post_id"] for item in page["items"]}
    # And the same tick delivered again publishes nothing
    again = api.stack.function("explore_refresh").invoke(load_event("explore_refresh/tick.json"))
    assert again == {
        "published": False,
        "reason": f"refresh 20261124T100000Z+{int(made_at + 600)} is as new or newer",
    }


def test_a_refresh_that_cannot_be_read_leaves_the_days_model_serving(api: ApiStack, world: World) -> None:
    # Given a refresh pointer to an object that is not a refresh (a truncated upload)
    bucket, key = api.stack.environment["FEATURE_STORE_BUCKET"], "explore/refresh/20261124T100000Z/bad.npz"
    client("s3").put_object(Bucket=bucket, Key=key, Body=b"PK\x03\x04 truncated")
    pointer = {"base": "20261124T100000Z", "version": "20261124T100000Z+1", "built_at": 1, "key": key}
    client("s3").put_object(Bucket=bucket, Key=REFRESHED, Body=json.dumps(pointer).encode())
    # When serving re-checks, five minutes on
    clock = get_clock()
    assert isinstance(clock, ManualClock)
    clock.advance(300)
    page = _explore(api, str(world.user_ids[4]))
    # Then the page is served from the day's model, whole
    assert page["model_version"] == "20261124T100000Z"
    assert len(page["items"]) == 60


def test_explore_takes_the_moment_of_the_request_and_refuses_a_malformed_one(
    api: ApiStack, world: World
) -> None:
    user = str(world.user_ids[3])
    token, now = api.token(user), get_clock().now()
    # Given malformed contexts, each is refused with what is wrong with it
    for query, message in (
        ("network=5g", "network: Input should be 'wifi', '4g', '3g', '2g' or 'slow-2g'"),
        ("session_id=x", "session_id: String should match pattern '^[A-Za-z0-9_-]{8,64}$'"),
        ("opened_at=nan", "opened_at: Input should be a finite number"),
        (f"opened_at={now + 3600}", "opened_at: the epoch seconds the app was opened, within the last day"),
        ("colour=blue", "colour: Extra inputs are not permitted"),
    ):
        reply = api.client.call("GET", f"/explore?{query}", token=token)
        assert (reply.status, reply.body["error"]["message"]) == (400, message), query
    # When the user opens the app twice, an hour apart, and asks for Explore in each open
    for session, opened_at, network in (("open_one_x", now - 3600, "4g"), ("open_two_x", now, "3g")):
        query = f"session_id={session}&opened_at={opened_at}&network={network}"
        reply = api.client.call("GET", f"/explore?{query}", token=token)
        assert reply.status == 200, reply
        assert len(reply.body["items"]) == 60

    # Then the store holds the second open, and when the one before it began
    def last_open() -> AppOpen | None:
        return OnlineFeatures(deadline=5.0).viewer(user, frozenset())[0].last_open

    assert last_open() == AppOpen("open_two_x", now, now - 3600)
    # And a late request from the first open changes nothing
    reply = api.client.call("GET", f"/explore?session_id=open_one_x&opened_at={now - 3600}", token=token)
    assert reply.status == 200, reply
    assert last_open() == AppOpen("open_two_x", now, now - 3600)
    # And an open known only by its session id began when its first page was asked
    clock = get_clock()
    assert isinstance(clock, ManualClock)
    clock.advance(60)
    assert api.client.call("GET", "/explore?session_id=open_three", token=token).status == 200
    assert last_open() == AppOpen("open_three", now + 60, now)


def test_a_repeated_event_counts_once(api: ApiStack, world: World) -> None:
    # Given one interaction sent twice (a client retry)
    user, post_id = (
        f"u_retry{uuid.uuid4().hex[:6]}",
        str(world.catalogue.post_id[world.catalogue.verdict == "approved"][-1]),
    )
    body = {"event_id": "ev_retry_0001", "action": "share"}
    first = api.client.call("POST", f"/posts/{post_id}/interactions", body, token=api.token(user))
    second = api.client.call("POST", f"/posts/{post_id}/interactions", body, token=api.token(user))
    # Then the second is recognised as a duplicate and one action reaches the online store
    assert (first.status, first.body["duplicate"], second.status, second.body["duplicate"]) == (
        202,
        False,
        202,
        True,
    )
    features = api.stack.environment["FEATURES_TABLE"]
    key = {"entity_id": {"S": f"user#{user}"}, "feature_set": {"S": "recent"}}
    item = eventually(lambda: client("dynamodb").get_item(TableName=features, Key=key).get("Item"))
    assert [post for post, _, _ in json.loads(item["recent_actions"]["S"])] == [post_id]


def test_an_action_carries_its_network_into_the_log_the_batch_learns_from(
    api: ApiStack, world: World
) -> None:
    # Given a save made on a 3G network
    user, post_id = f"u_net{uuid.uuid4().hex[:6]}", str(world.catalogue.post_id[-3])
    body = {"event_id": "ev_net_0001", "action": "save", "network": "3g"}
    reply = api.client.call("POST", f"/posts/{post_id}/interactions", body, token=api.token(user))
    assert (reply.status, reply.body["network"]) == (202, "3g")
    # Then the stream writes it to the log with its network, which the batch reads as a slow one
    now = get_clock().now()

    def logged() -> InteractionLog | None:
        log = read_log(now - 60, now + 60)
        mine = log.where(log.user_id == user)
        return mine if len(mine) else None

    assert eventually(logged).networks().tolist() == [NETWORK_SLOW]


def test_one_users_reports_of_a_post_count_once(api: ApiStack, world: World) -> None:
    # Given one user who reports the same post twenty times, each with a new event id
    user = f"u_reporter{uuid.uuid4().hex[:6]}"
    post_id = str(world.catalogue.post_id[world.catalogue.verdict == "approved"][-2])
    replies = [
        api.client.call(
            "POST",
            f"/posts/{post_id}/interactions",
            {"event_id": uuid.uuid4().hex, "action": "report"},
            token=api.token(user),
        )
        for _ in range(20)
    ]
    # Then the first is new, the nineteen others duplicates, and one report row is stored
    assert [(r.status, r.body["duplicate"]) for r in replies] == [(202, False)] + [(202, True)] * 19
    rows = client("dynamodb").query(
        TableName=api.stack.environment["INTERACTIONS_TABLE"],
        KeyConditionExpression="user_id = :u",
        ExpressionAttributeValues={":u": {"S": user}},
    )["Items"]
    assert [(row["action"]["S"], row["post_id"]["S"]) for row in rows] == [("report", post_id)]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"event_id": "ev_bad_0001", "action": "hack"}, 422),
        ({"event_id": "short", "action": "view"}, 422),
        ({"event_id": "ev_bad_0002", "action": "view", "watch_seconds": -1}, 422),
        ({"event_id": "ev_bad_0003", "action": "view", "watch_seconds": 1e9}, 422),
        ({"event_id": "ev_bad_0004", "action": "view", "extra": 1}, 422),
        ({"event_id": "ev_bad_0005", "action": "view", "network": "5g"}, 422),
    ],
)
def test_malformed_interactions_are_refused(
    api: ApiStack, world: World, body: dict[str, Any], status: int
) -> None:
    post_id = str(world.catalogue.post_id[0])
    reply = api.client.call("POST", f"/posts/{post_id}/interactions", body, token=api.token("u_hostile"))
    assert reply.status == status, reply


def test_a_watch_time_under_a_millisecond_is_stored_as_none(api: ApiStack, world: World) -> None:
    # Given a view whose watch time is below DynamoDB's smallest number (the fuzzer's find: a 500)
    post_id = str(world.catalogue.post_id[0])
    body = {"event_id": "ev_tiny_watch_0001", "action": "view", "watch_seconds": 1e-300}
    # When it is recorded, then it is accepted with its watch time to the millisecond: zero
    reply = api.client.call("POST", f"/posts/{post_id}/interactions", body, token=api.token("u_glance"))
    assert (reply.status, reply.body["watch_seconds"]) == (202, 0.0)


def test_an_interaction_with_a_missing_or_unpublished_post_is_not_found(api: ApiStack, world: World) -> None:
    unpublished = str(world.catalogue.post_id[world.catalogue.verdict != "approved"][0])
    for post_id in ("p_doesnotexist", unpublished):
        body = {"event_id": uuid.uuid4().hex, "action": "view"}
        reply = api.client.call("POST", f"/posts/{post_id}/interactions", body, token=api.token("u_curious"))
        assert reply.status == 404, reply
    assert np.any(world.catalogue.verdict != "approved")


def _pictures_for(api: ApiStack, post_ids: list[str]) -> None:
    """The world's posts have no media: give these six natural photos, round robin, as the image
    pipeline and moderation would have left them (a JPEG rendition, approved)."""
    env, dynamodb, s3 = api.stack.environment, client("dynamodb"), client("s3")
    names = ["astronaut", "coffee", "chelsea", "rocket", "motorcycle", "hubble"]
    for n, name in enumerate(names):
        media_id = f"m_explore_{name}"
        key = f"media/{media_id}/digest/display.jpg"
        picture = Image.open(io.BytesIO(natural(name))).convert("RGB")
        s3.put_object(Bucket=env["MEDIA_BUCKET"], Key=key, Body=jpeg(picture), ContentType="image/jpeg")
        mine = post_ids[n :: len(names)]
        rendition = {"key": key, "format": "JPEG", "width": picture.width, "height": picture.height}
        record = {
            "media_id": media_id,
            "owner_id": "u_world",
            "state": "ready",
            "kind": "image",
            "created_at": 0,
            "width": picture.width,
            "height": picture.height,
            "renditions": [rendition],
            "thumbhash": base64.b64encode(thumbhash_of(picture)).decode(),
            "moderation": {"verdict": "approved", "decided_at": 0},
            "post_ids": set(mine),
        }
        dynamodb.put_item(TableName=env["MEDIA_TABLE"], Item=to_item(record))
        for post_id in mine:
            dynamodb.update_item(
                TableName=env["POSTS_TABLE"],
                Key={"post_id": {"S": post_id}},
                UpdateExpression="SET media_items = :m",
                ExpressionAttributeValues=to_item({":m": [{"media_id": media_id, "alt_text": name}]}),
            )


@pytest.mark.browser
def test_the_web_client_shows_each_explore_post_with_why_it_was_chosen(
    api: ApiStack, world: World, app: AppServer
) -> None:
    # Given a user the batch learned, whose Explore posts have pictures (each page carries its covers)
    user = str(world.user_ids[2])
    _pictures_for(api, [item["post_id"] for item in _explore(api, user)["items"]])
    expected = _explore(api, user)["items"]
    assert all(item["media"]["renditions"][0]["url"].endswith("display.jpg") for item in expected)
    with chromium() as browser:
        # When they open Explore in the web client
        page = signed_in(browser, app.url, user)
        asked = []
        page.on("request", lambda request: asked.append(request.url))
        page.click("nav button[data-tab=explore]")
        tiles = page.locator("#explore-grid li.tile")
        tiles.nth(len(expected) - 1).wait_for()
        page.locator("#explore-grid li.tile img").first.wait_for()
        page.wait_for_load_state("networkidle")
        screenshot(page, "explore")
        # Then every post shows, in the API's order, with its reason, and its picture loads
        reasons = tiles.locator(".reason").all_inner_texts()
        assert reasons == [f"{i['reason']['source']} · {i['reason']['score']:.2f}" for i in expected]
        loaded = page.eval_on_selector_all(
            "#explore-grid img", "images => images.filter(i => i.complete && i.naturalWidth > 0).length"
        )
        assert loaded == len(expected)
        # And the page drew from Explore's answer alone: no call per post for its media
        assert [url for url in asked if "/media/" in url and "/cdn/" not in url] == []
