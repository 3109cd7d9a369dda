"""Races, for real: threads hammer the HTTP API, which runs over moto's server."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from aperture.core.aws import client
from aperture_client import FollowButton, pages
from tests.e2e.conftest import ApiStack

pytestmark = pytest.mark.slow(seconds=20)


def _posts_by(api: ApiStack, author: str) -> int:
    return int(
        client("dynamodb").scan(
            TableName=api.stack.environment["POSTS_TABLE"],
            FilterExpression="author_id = :a",
            ExpressionAttributeValues={":a": {"S": author}},
            Select="COUNT",
        )["Count"]
    )


def test_100_concurrent_identical_creates_with_one_key_make_exactly_one_post(api: ApiStack) -> None:
    # Given a user double-tapping "Post" a hundred times with one idempotency key
    token = api.signup("u_race_poster")
    key = {"Idempotency-Key": f"tap-{uuid.uuid4()}"}

    # When all the requests race
    with ThreadPoolExecutor(max_workers=100) as pool:
        replies = list(
            pool.map(
                lambda _: api.client.call("POST", "/posts", {"caption": "once"}, token=token, headers=key),
                range(100),
            )
        )

    # Then exactly one post exists, and every answer is it or "still in progress"
    assert _posts_by(api, "u_race_poster") == 1
    statuses = Counter(reply.status for reply in replies)
    assert set(statuses) <= {201, 409}
    assert len({reply.body["post_id"] for reply in replies if reply.status == 201}) == 1


def test_120_likes_from_120_users_across_16_threads_count_exactly_120(api: ApiStack) -> None:
    post = api.client.call("POST", "/posts", {"caption": "popular"}, token=api.signup("u_race_author")).body[
        "post_id"
    ]
    tokens = [api.token(f"u_race_fan{i}") for i in range(120)]

    with ThreadPoolExecutor(max_workers=16) as pool:
        replies = list(
            pool.map(lambda token: api.client.call("PUT", f"/posts/{post}/like", token=token), tokens)
        )

    assert Counter(reply.status for reply in replies) == {200: 120}
    assert api.client.call("GET", f"/posts/{post}", token=tokens[0]).body["like_count"] == 120
    rows = client("dynamodb").query(
        TableName=api.stack.environment["LIKES_TABLE"],
        KeyConditionExpression="post_id = :p",
        ExpressionAttributeValues={":p": {"S": post}},
        Select="COUNT",
    )["Count"]
    assert rows == 120


def test_50_concurrent_likes_by_one_user_count_once(api: ApiStack) -> None:
    post = api.client.call("POST", "/posts", {"caption": "tap tap"}, token=api.signup("u_race_author2")).body[
        "post_id"
    ]
    token = api.token("u_race_eager")

    with ThreadPoolExecutor(max_workers=50) as pool:
        replies = list(
            pool.map(lambda _: api.client.call("PUT", f"/posts/{post}/like", token=token), range(50))
        )

    assert [reply.status for reply in replies] == [200] * 50
    assert sum(reply.body["changed"] for reply in replies) == 1
    assert api.client.call("GET", f"/posts/{post}", token=token).body["like_count"] == 1


def test_100_follow_toggles_in_random_order_end_in_the_latest_clients_state(api: ApiStack) -> None:
    # Given 100 follow/unfollow taps, timestamped by the client, delivered in random order
    follower, followee = "u_race_toggler", "u_race_idol"
    token = api.signup(follower)
    api.signup(followee)
    taps = [{"following": random.random() < 0.5, "client_timestamp": 1_000 + i} for i in range(100)]
    latest = taps[-1]
    random.shuffle(taps)

    # When 16 threads deliver them at once
    path = f"/users/{follower}/following/{followee}"
    with ThreadPoolExecutor(max_workers=16) as pool:
        replies = list(pool.map(lambda tap: api.client.call("PUT", path, tap, token=token), taps))

    # Then the edge holds the latest tap, and both counters agree with it exactly
    assert {reply.status for reply in replies} == {200}
    expected = int(latest["following"])
    assert api.client.call("GET", f"/users/{followee}", token=token).body["follower_count"] == expected
    assert api.client.call("GET", f"/users/{follower}", token=token).body["following_count"] == expected
    listed = api.client.call("GET", f"/users/{followee}/followers", token=token).body["users"]
    assert [user["user_id"] for user in listed] == ([follower] if latest["following"] else [])

    # And a stale request changes nothing and is told the current state
    stale = api.client.call(
        "PUT", path, {"following": not latest["following"], "client_timestamp": 1_050}, token=token
    )
    assert stale.body == {
        "follower_id": follower,
        "followee_id": followee,
        "following": latest["following"],
        "updated_at": latest["client_timestamp"],
        "applied": False,
    }


@pytest.mark.parametrize("taps", [31, 40])
def test_a_follow_button_tapped_from_8_threads_sends_fewer_requests_and_ends_as_the_last_tap(
    api: ApiStack, taps: int
) -> None:
    # Given the client package's follow button, on a user who follows no one
    follower, followee = f"u_button_{taps}", f"u_button_idol_{taps}"
    api.signup(follower)
    api.signup(followee)
    button = FollowButton(api.as_user(follower), follower, followee)

    # When it is tapped from 8 threads at once
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: button.tap(), range(taps)))

    # Then the server holds the state of the last tap (odd: following), counts match, and taps made
    # while a request was in flight were carried by the next request rather than each sending one
    following = taps % 2 == 1
    assert button.wanted is following
    reader = api.as_user(follower)
    assert reader.get_user(followee).follower_count == int(following)
    followers = [user.user_id for user in pages(reader.list_followers, followee, limit=1)]
    assert followers == ([follower] if following else [])
    assert 1 <= button.sent < taps
