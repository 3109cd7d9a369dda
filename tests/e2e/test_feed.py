"""The home feed on the local stack: fan-out on write, celebrities merged on read, one cursor."""

from __future__ import annotations

import json
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from aperture.core.aws import client
from aperture.core.clock import ManualClock
from aperture.feed import fanout as fanout_domain
from aperture.feed.home import (
    FEED_WINDOW_SECONDS,
    HEAD_POSTS,
    HEAD_SLACK,
    add_to_head,
    clear_caches,
    feed_key,
    list_as_merged,
)
from aperture.social.tables import Post, User
from aperture.social.users import PROFILE_FIELDS
from aperture_local.items import to_item
from aperture_local.runtime import FunctionError
from tests.conftest import eventually, load_event
from tests.e2e.conftest import ApiStack

pytestmark = pytest.mark.slow(seconds=30)

THRESHOLD = 100_000  # the stack's CelebrityFollowerThreshold (the template's default)


def _table(api: ApiStack, name: str) -> str:
    return api.stack.environment[name]


def _follow(api: ApiStack, follower: str, author: str, following: bool = True, at: int = 1) -> None:
    body = {"following": following, "client_timestamp": at}
    reply = api.client.call("PUT", f"/users/{follower}/following/{author}", body, token=api.token(follower))
    assert reply.status == 200, reply


def _post(api: ApiStack, author: str, caption: str) -> str:
    reply = api.client.call("POST", "/posts", {"caption": caption}, token=api.token(author))
    assert (reply.status, reply.body["state"]) == (201, "published"), reply
    post_id: str = reply.body["post_id"]
    return post_id


def _set_followers(api: ApiStack, user_id: str, count: int) -> None:
    """Simulate an audience size without creating that many users."""
    client("dynamodb").update_item(
        TableName=_table(api, "USERS_TABLE"),
        Key={"user_id": {"S": user_id}},
        UpdateExpression="SET follower_count = :n",
        ExpressionAttributeValues={":n": {"N": str(count)}},
    )


def _page(api: ApiStack, viewer: str, limit: int = 25, cursor: str | None = None) -> dict[str, Any]:
    query = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
    reply = api.client.call("GET", f"/feed{query}", token=api.token(viewer))
    assert reply.status == 200, reply
    page: dict[str, Any] = reply.body
    return page


def _feed(api: ApiStack, viewer: str) -> list[str]:
    return [post["post_id"] for post in _page(api, viewer, limit=100)["items"]]


def _rows(api: ApiStack, post_id: str) -> list[str]:
    """Whose feed rows hold ``post_id`` (a user listed twice would be a duplicate)."""
    items = client("dynamodb").scan(
        TableName=_table(api, "FEEDS_TABLE"),
        FilterExpression="post_id = :p",
        ExpressionAttributeValues={":p": {"S": post_id}},
    )["Items"]
    return sorted(item["user_id"]["S"] for item in items)


def _delivery(api: ApiStack, post_id: str) -> str | None:
    """How fan-out planned the post: "fanout" or "merge" (None until it has)."""
    post = api.client.call("GET", f"/posts/{post_id}", token=api.token("u_reader")).body
    delivery: str | None = post.get("delivery")
    return delivery


def _past_caches() -> None:
    """As if the merged-author caches (a minute at most) had expired."""
    clear_caches()


def test_a_post_reaches_each_follower_once_and_its_author(api: ApiStack) -> None:
    # Given an author with three followers
    author, followers = "u_fo_author", ["u_fo_a", "u_fo_b", "u_fo_c"]
    for user in [author, *followers]:
        api.signup(user)
    for follower in followers:
        _follow(api, follower, author)
    # When the author posts
    post_id = _post(api, author, "sunrise")
    # Then every follower's feed, and the author's own, shows it once, fanned out
    for viewer in [author, *followers]:
        eventually(lambda viewer=viewer: _feed(api, viewer) == [post_id])  # type: ignore[misc]
    assert _rows(api, post_id) == sorted([author, *followers])
    assert _page(api, followers[0])["items"][0]["source"] == "fanout"


def test_duplicate_delivery_and_a_crash_half_way_leave_each_row_written_once(api: ApiStack) -> None:
    # Given a slice of 60 followers to deliver (three batches of at most 25)
    followers = [f"u_dup_{i:02d}" for i in range(60)]
    job = {"post_id": "p_dup_slice", "author_id": "u_dup_author", "created_at": 1_795_000_000.0}
    record = load_event("fanout/plan_and_slice.json")["Records"][1]
    event = {"Records": [record | {"body": json.dumps(job | {"followers": followers})}]}
    fanout = api.stack.function("fanout")
    dynamodb = client("dynamodb")
    calls = []

    def crash_on_second_batch(**kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise ConnectionError("the function died half-way")

    # When the first delivery crashes after one batch
    dynamodb.meta.events.register("before-call.dynamodb.BatchWriteItem", crash_on_second_batch)
    try:
        with pytest.raises(FunctionError):  # the invocation fails: SQS will deliver it again
            fanout.invoke(event)
    finally:
        dynamodb.meta.events.unregister("before-call.dynamodb.BatchWriteItem", crash_on_second_batch)
    # Then 25 rows were written before the crash
    assert len(_rows(api, "p_dup_slice")) == 25
    # When SQS redelivers it, and then delivers it a second time
    assert fanout.invoke(event) == {"batchItemFailures": []}
    assert fanout.invoke(event) == {"batchItemFailures": []}
    # Then each of the 60 followers holds exactly one row
    assert _rows(api, "p_dup_slice") == followers


def test_a_duplicated_plan_delivers_each_follower_once(
    api: ApiStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an author with 240 followers, three slices of 100 (production's slices hold 1,000)
    monkeypatch.setattr(fanout_domain, "FANOUT_SLICE", 100)
    author = "u_plan_author"
    api.signup(author)
    followers = [f"u_plan_{i:04d}" for i in range(240)]
    for start in range(0, len(followers), 25):
        requests = [
            {
                "PutRequest": {
                    "Item": to_item(
                        {
                            "follower_id": f,
                            "followee_id": author,
                            "following": True,
                            "updated_at": 1,
                            "active_followee_id": author,
                            "audience_of": author,
                        }
                    )
                }
            }
            for f in followers[start : start + 25]
        ]
        client("dynamodb").batch_write_item(RequestItems={_table(api, "GRAPH_TABLE"): requests})
    _set_followers(api, author, len(followers))
    # When the post's plan job is delivered twice
    post_id = _post(api, author, "twice")
    plan = load_event("fanout/plan_and_slice.json")["Records"][0]
    created_at = api.client.call("GET", f"/posts/{post_id}", token=api.token(author)).body["created_at"]
    body = json.dumps({"post_id": post_id, "author_id": author, "created_at": created_at})
    api.stack.function("fanout").invoke({"Records": [plan | {"body": body}]})
    # Then, once all slices ran, each follower and the author hold one row
    eventually(lambda: len(_rows(api, post_id)) == 241, timeout=60)
    assert _rows(api, post_id) == sorted([author, *followers])


def test_a_celebrity_post_is_merged_into_every_follower_feed_without_rows(
    api: ApiStack, manual_clock: ManualClock
) -> None:
    # Given a celebrity (at the threshold) with three real followers
    star, fans = "u_star", ["u_fan_a", "u_fan_b", "u_fan_c"]
    for user in [star, *fans]:
        api.signup(user)
    for fan in fans:
        _follow(api, fan, star)
    _set_followers(api, star, THRESHOLD)
    # When the celebrity posts
    post_id = _post(api, star, "hello world")
    eventually(lambda: _delivery(api, post_id) == "merge")
    _past_caches()
    # Then no feed row was written, and every follower's feed shows the post, merged
    assert _rows(api, post_id) == []
    for fan in fans:
        page = _page(api, fan)
        assert [(p["post_id"], p["source"]) for p in page["items"]] == [(post_id, "merged")]
    # And someone who does not follow the celebrity does not see it
    api.signup("u_not_a_fan")
    assert _feed(api, "u_not_a_fan") == []


def test_a_celebrity_with_more_posts_than_the_head_holds_pages_on_through_the_index(
    api: ApiStack, manual_clock: ManualClock
) -> None:
    # Given a celebrity whose 65 merged posts reached the head out of order, and a follower
    star, viewer = "u_hd_star", "u_hd_viewer"
    for user in (star, viewer):
        api.signup(user)
    _follow(api, viewer, star)
    _set_followers(api, star, THRESHOLD)
    list_as_merged(star, manual_clock.now() + FEED_WINDOW_SECONDS)
    posts = []
    for i in range(HEAD_POSTS + HEAD_SLACK + 5):
        manual_clock.advance(1)
        post = Post(f"p_hd_{i:03d}", author_id=star, created_at=manual_clock.now(), caption=f"{i}")
        post.state, post.delivery, post.like_count = "published", "merge", 0
        post.save()
        posts.append(post)
    for post in random.Random(3).sample(posts, len(posts)):
        add_to_head(star, post.created_at, post.post_id)
    _past_caches()
    # When the follower pages through, 25 at a time
    seen: list[str] = []
    cursor = None
    while True:
        page = _page(api, viewer, limit=25, cursor=cursor)
        seen += [post["post_id"] for post in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    # Then every post shows once, newest first: the head's newest 50, then the index's older 15
    assert seen == [post.post_id for post in reversed(posts)]
    # And the head, trimmed as it grew, still holds the 50 newest
    head = User.get(star, attributes_to_get=["user_id", "merged_head"]).merged_head
    newest = [feed_key(post.created_at, post.post_id) for post in reversed(posts)]
    assert HEAD_POSTS <= len(head) <= HEAD_POSTS + HEAD_SLACK
    assert sorted(head, reverse=True)[:HEAD_POSTS] == newest[:HEAD_POSTS]
    # And the celebrity's profile answers its profile fields only, not the head or the merge listing
    profile = api.client.call("GET", f"/users/{star}", token=api.token(viewer)).body
    assert sorted(profile) == sorted(PROFILE_FIELDS)


def test_a_celebrity_with_no_head_yet_is_read_from_their_index(
    api: ApiStack, manual_clock: ManualClock
) -> None:
    # Given a celebrity whose three merged posts predate heads (none is kept), and a follower
    star, viewer = "u_nohead_star", "u_nohead_viewer"
    for user in (star, viewer):
        api.signup(user)
    _follow(api, viewer, star)
    _set_followers(api, star, THRESHOLD)
    list_as_merged(star, manual_clock.now() + FEED_WINDOW_SECONDS)
    posted = []
    for i in range(3):
        manual_clock.advance(1)
        post = Post(f"p_nohead_{i}", author_id=star, created_at=manual_clock.now(), caption=f"{i}")
        post.state, post.delivery, post.like_count = "published", "merge", 0
        post.save()
        posted.append(post.post_id)
    _past_caches()
    # When the follower reads the feed, then the posts show, newest first, and still no head is written
    assert _feed(api, viewer) == list(reversed(posted))
    assert User.get(star, attributes_to_get=["user_id", "merged_head"]).merged_head is None


def test_posts_racing_to_one_head_are_all_kept(api: ApiStack, manual_clock: ManualClock) -> None:
    # Given a celebrity with no head yet
    star = "u_hd_racer"
    api.signup(star)
    now = manual_clock.now()
    keys = {f"p_race_{i:02d}": now - i for i in range(40)}
    start = threading.Barrier(16)

    def add(post_id: str) -> None:
        if int(post_id[-2:]) < 16:
            start.wait()  # the first 16 meet the empty head together
        add_to_head(star, keys[post_id], post_id)

    # When 40 posts are added to the head from 16 threads at once
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(add, keys))
    # Then the head holds all 40
    head = User.get(star, consistent_read=True, attributes_to_get=["user_id", "merged_head"]).merged_head
    assert head == {feed_key(at, post_id) for post_id, at in keys.items()}


def test_pages_across_the_merge_have_no_gaps_or_repeats_while_posts_arrive(
    api: ApiStack, manual_clock: ManualClock
) -> None:
    # Given a viewer following a normal author and a celebrity who posted 12 times each, interleaved
    normal, star, viewer = "u_pg_normal", "u_pg_star", "u_pg_viewer"
    for user in (normal, star, viewer):
        api.signup(user)
    _follow(api, viewer, normal)
    _follow(api, viewer, star)
    _set_followers(api, star, THRESHOLD)
    posted = []
    for i in range(12):
        for author in (normal, star):
            manual_clock.advance(1)
            posted.append(_post(api, author, f"{author} {i}"))
    eventually(lambda: len(_rows(api, posted[-2])) == 2 and _delivery(api, posted[-1]) == "merge")
    _past_caches()
    # When the viewer pages through with pages of 5, and both authors post between pages
    seen: list[str] = []
    arrivals: list[str] = []
    page = _page(api, viewer, limit=5)
    while True:
        seen += [post["post_id"] for post in page["items"]]
        if not page["next_cursor"]:
            break
        for author in (normal, star):
            manual_clock.advance(1)
            arrivals.append(_post(api, author, "meanwhile"))
        page = _page(api, viewer, limit=5, cursor=page["next_cursor"])
    # Then the pages hold exactly the 24 earlier posts, newest first, each once, none of the new
    assert seen == list(reversed(posted))
    # And a fresh first page starts with the posts that arrived meanwhile
    eventually(lambda: len(_rows(api, arrivals[-2])) == 2 and _delivery(api, arrivals[-1]) == "merge")
    _past_caches()
    assert _feed(api, viewer)[:4] == list(reversed(arrivals))[:4]


def test_deleted_blocked_and_unfollowed_posts_leave_the_feed_and_a_follow_backfills(api: ApiStack) -> None:
    # Given a viewer who sees two posts of an author they follow
    author, viewer = "u_hide_author", "u_hide_viewer"
    api.signup(author)
    api.signup(viewer)
    _follow(api, viewer, author, at=1)
    first, second = _post(api, author, "one"), _post(api, author, "two")
    eventually(lambda: _feed(api, viewer) == [second, first])
    # When the author deletes the first, then it is gone
    assert api.client.call("DELETE", f"/posts/{first}", token=api.token(author)).status == 200
    assert _feed(api, viewer) == [second]
    assert _rows(api, first) == [author]  # the viewer's row went with their read, lazily
    # When the viewer blocks the author, then nothing shows; unblocking brings the post back
    block = f"/users/{viewer}/blocks/{author}"
    assert api.client.call("PUT", block, token=api.token(viewer)).body["blocked"] is True
    assert _feed(api, viewer) == []
    assert api.client.call("DELETE", block, token=api.token(viewer)).body["blocked"] is False
    assert _feed(api, viewer) == [second]
    # When the viewer unfollows, then the post leaves the feed and its row is dropped
    _follow(api, viewer, author, following=False, at=2)
    assert _feed(api, viewer) == []
    assert _rows(api, second) == [author]
    # When they follow again, then the author's recent post is backfilled
    _follow(api, viewer, author, at=3)
    assert _feed(api, viewer) == [second]


def test_crossing_the_threshold_both_ways_loses_and_repeats_nothing(
    api: ApiStack, manual_clock: ManualClock
) -> None:
    # Given an author followed by a viewer
    author, viewer = "u_cross_author", "u_cross_viewer"
    api.signup(author)
    api.signup(viewer)
    _follow(api, viewer, author)
    # When the author posts as a normal author, then as a celebrity, then as a normal one again
    posts = []
    for followers in (10, THRESHOLD, THRESHOLD - 1):
        _set_followers(api, author, followers)
        manual_clock.advance(1)
        posts.append(_post(api, author, f"with {followers} followers"))
        expected = "merge" if followers >= THRESHOLD else "fanout"
        eventually(lambda: _delivery(api, posts[-1]) == expected)  # noqa: B023  (awaited in the loop)
    eventually(lambda: len(_rows(api, posts[-1])) == 2)
    _past_caches()
    # Then the feed shows all three once, newest first; only the normal-era posts have rows
    assert _feed(api, viewer) == list(reversed(posts))
    assert [bool(_rows(api, post_id)) for post_id in posts] == [True, False, True]


def test_a_dormant_follower_gets_no_rows_and_a_rebuilt_feed_on_return(
    api: ApiStack, manual_clock: ManualClock
) -> None:
    # Given a follower who has not opened the app for 31 days
    author, sleeper = "u_dorm_author", "u_dorm_sleeper"
    api.signup(author)
    api.signup(sleeper)
    _follow(api, sleeper, author)
    _feed(api, sleeper)
    # (the stack's own daily schedule held back: the sweep this test runs is the one it counts)
    with api.stack.paused("schedule:feed_dormancy:"):
        manual_clock.advance(31 * 86_400)
        # When the daily sweep runs
        sweep = api.stack.function("feed_dormancy").invoke(load_event("feed_dormancy/daily_sweep.json"))
    assert sweep["dormant"] >= 1
    # Then the author's next post writes no row for the sleeper
    post_id = _post(api, author, "while you slept")
    eventually(lambda: _delivery(api, post_id) == "fanout" and _rows(api, post_id) == [author])
    # When the sleeper comes back, then their feed is rebuilt with the post
    assert _feed(api, sleeper) == [post_id]
    assert _rows(api, post_id) == [author, sleeper]
    # And fan-out writes to them again
    later = _post(api, author, "welcome back")
    eventually(lambda: _rows(api, later) == [author, sleeper])


def test_bad_feed_requests_get_precise_4xx(api: ApiStack) -> None:
    api.signup("u_feed_bad")
    token = api.token("u_feed_bad")
    for query, status in [
        ("?cursor=garbage", 400),
        ("?limit=0", 400),
        ("?limit=abc", 400),
        ("?limit=101", 400),
    ]:
        reply = api.client.call("GET", f"/feed{query}", token=token)
        assert reply.status == status, (query, reply)
    forged = "eyJmZWVkX2tleSI6IHsiUyI6ICJub3QtYS1rZXkifX0"  # {"feed_key": {"S": "not-a-key"}}
    assert api.client.call("GET", f"/feed?cursor={forged}", token=token).status == 400
    assert api.client.call("DELETE", "/posts/p_nope", token=token).status == 404
    other = _post(api, "u_feed_bad", "mine")
    api.signup("u_feed_bad_2")
    assert api.client.call("DELETE", f"/posts/{other}", token=api.token("u_feed_bad_2")).status == 403
    assert api.client.call("PUT", "/users/u_feed_bad/blocks/u_feed_bad", token=token).status == 422
    assert api.client.call("PUT", "/users/u_feed_bad_2/blocks/u_feed_bad", token=token).status == 403
    assert api.client.call("PUT", "/users/u_feed_bad/blocks/u_nobody", token=token).status == 404
