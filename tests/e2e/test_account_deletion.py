"""Deleting an account on the local stack: the grace period, a sign-in that cancels it, and a job
that leaves nothing behind. Every table and bucket is scanned afterwards for the user's id and
their media, and every counter they moved is checked."""

from __future__ import annotations

import gzip
import io
import json
import time
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest

from aperture.accounts import deletion
from aperture.core.aws import client
from aperture.explore import safety
from aperture.stories.story import archived
from aperture_local.stack import LocalStack
from tests.conftest import eventually
from tests.e2e.conftest import ApiStack, serving, upload_media
from tests.pictures import jpeg, scene

pytestmark = pytest.mark.slow(seconds=40)
GRACE = 3  # seconds before a requested deletion runs
GONE = "u_del_gone"


@pytest.fixture(scope="module")
def api() -> Iterator[ApiStack]:
    parameters = {"AccountDeletionGraceSeconds": str(GRACE), "StoryLifetimeSeconds": "4"}
    with LocalStack(parameters=parameters) as stack, serving(stack) as served:
        yield served


def _call(api: ApiStack, method: str, path: str, user: str, body: Any = None, **headers: str) -> Any:
    reply = api.client.call(method, path, body, token=api.token(user), headers=headers or None)
    assert reply.status < 300, (method, path, reply)
    return reply.body


def _follow(api: ApiStack, follower: str, followee: str, following: bool = True) -> None:
    tap = {"following": following, "client_timestamp": time.time_ns() // 1_000_000}
    _call(api, "PUT", f"/users/{follower}/following/{followee}", follower, tap)


def _counts(api: ApiStack, user: str) -> tuple[int, int]:
    profile = _call(api, "GET", f"/users/{user}", user)
    return profile["follower_count"], profile["following_count"]


def _post(api: ApiStack, author: str, body: dict[str, Any]) -> str:
    post = _call(api, "POST", "/posts", author, body, **{"Idempotency-Key": f"post-{uuid.uuid4()}"})
    eventually(lambda: _call(api, "GET", f"/posts/{post['post_id']}", author)["state"] == "published", 60)
    return str(post["post_id"])


def _everything_in_tables(api: ApiStack) -> dict[str, list[dict[str, Any]]]:
    dynamodb = client("dynamodb")
    return {
        name: [
            item for page in dynamodb.get_paginator("scan").paginate(TableName=name) for item in page["Items"]
        ]
        for name in dynamodb.list_tables()["TableNames"]
    }


def _everything_in_buckets() -> dict[str, bytes]:
    s3, found = client("s3"), {}
    for bucket in s3.list_buckets()["Buckets"]:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket["Name"]):
            for entry in page.get("Contents", []):
                body = s3.get_object(Bucket=bucket["Name"], Key=entry["Key"])["Body"].read()
                found[f"{bucket['Name']}/{entry['Key']}"] = (
                    gzip.decompress(body) if entry["Key"].endswith(".gz") else body
                )
    return found


def _an_account_with_everything(api: ApiStack) -> dict[str, Any]:
    """Given an account with three photos through the pipeline (two in a carousel, one of those
    also a Story, pinned to a highlight once archived; one never posted), a text post, likes,
    comments and replies both ways, follows both ways (and a tombstone), blocks both ways,
    notifications, Explore features and log rows, and a Cognito user."""
    for user in (GONE, "u_del_a", "u_del_b", "u_del_c"):
        api.signup(user)
    pool = api.stack.environment["USER_POOL_ID"]
    client("cognito-idp").admin_create_user(UserPoolId=pool, Username=GONE)
    photos = [upload_media(api, api.token(GONE), jpeg(scene(300 + i, size=(240, 180)))) for i in range(3)]
    text_post = _post(api, GONE, {"caption": "hello"})
    carousel = _post(
        api, GONE, {"media": [{"media_id": photos[0], "alt_text": "a"}, {"media_id": photos[1]}]}
    )
    story = _call(api, "POST", "/stories", GONE, {"media_id": photos[0]})
    a_post, b_post = _post(api, "u_del_a", {"caption": "a"}), _post(api, "u_del_b", {"caption": "b"})
    for followee in ("u_del_a", "u_del_b"):
        _follow(api, GONE, followee)
    _follow(api, "u_del_c", GONE)
    _follow(api, "u_del_a", GONE)
    _follow(api, "u_del_a", GONE, following=False)  # a tombstone edge
    for post_id in (a_post, b_post):
        _call(api, "PUT", f"/posts/{post_id}/like", GONE)
    _call(api, "PUT", f"/posts/{carousel}/like", "u_del_a")
    mine = _call(api, "POST", f"/posts/{a_post}/comments", GONE, {"text": "nice"})
    _call(
        api,
        "POST",
        f"/posts/{a_post}/comments",
        "u_del_b",
        {"text": "agreed", "reply_to": mine["comment_id"]},
    )
    theirs = _call(api, "POST", f"/posts/{a_post}/comments", "u_del_b", {"text": "mine"})
    _call(api, "POST", f"/posts/{a_post}/comments", GONE, {"text": "yes", "reply_to": theirs["comment_id"]})
    _call(api, "POST", f"/posts/{carousel}/comments", "u_del_c", {"text": "wow"})
    _call(api, "PUT", f"/users/{GONE}/blocks/u_del_b", GONE)
    _call(api, "PUT", f"/users/u_del_c/blocks/{GONE}", "u_del_c")
    _call(api, "POST", f"/posts/{b_post}/interactions", GONE, {"event_id": "view-0001", "action": "view"})
    eventually(lambda: archived(GONE), 30)  # the Story expired into the archive
    _call(api, "PUT", f"/users/{GONE}/highlights/summer", GONE, {"story_ids": [story["story_id"]]})
    return {
        "photos": photos,
        "posts": {text_post, carousel},
        "carousel": carousel,
        "a_post": a_post,
        "b_post": b_post,
        "theirs": theirs["comment_id"],
    }


def test_a_deleted_account_leaves_no_item_or_object_and_every_counter_it_moved_is_exact(
    api: ApiStack,
) -> None:
    # Given an account that has made everything there is to make
    made = _an_account_with_everything(api)
    pool = api.stack.environment["USER_POOL_ID"]
    photos, carousel, a_post, b_post = made["photos"], made["carousel"], made["a_post"], made["b_post"]
    before = {user: _counts(api, user) for user in ("u_del_a", "u_del_b", "u_del_c")}
    assert before == {"u_del_a": (1, 0), "u_del_b": (1, 0), "u_del_c": (0, 1)}

    # When the account's deletion is asked for and its grace period passes
    scheduled = _call(api, "DELETE", f"/users/{GONE}", GONE)
    assert scheduled["state"] == "scheduled"
    eventually(lambda: api.client.call("GET", f"/users/{GONE}", token=api.token("u_del_a")).status == 404, 60)

    # Then every counter it moved is back where the others alone put it
    assert {user: _counts(api, user) for user in before} == {
        "u_del_a": (0, 0),
        "u_del_b": (0, 0),
        "u_del_c": (0, 0),
    }
    assert _call(api, "GET", f"/posts/{a_post}", "u_del_a")["like_count"] == 0
    assert _call(api, "GET", f"/posts/{b_post}", "u_del_b")["like_count"] == 0
    a_comments = _call(api, "GET", f"/posts/{a_post}", "u_del_a")["comment_count"]
    assert a_comments == 1  # B's own comment stays; D's comment, B's reply to it and D's reply go
    listed = _call(api, "GET", f"/posts/{a_post}/comments", "u_del_a")["items"]
    assert [(c["comment_id"], c["reply_count"]) for c in listed] == [(made["theirs"], 0)]
    assert api.client.call("GET", f"/posts/{carousel}", token=api.token("u_del_a")).status == 404
    # And Explore dropped its posts when the job began, before the next batch forgets them
    safety.unsafe_posts.cache_clear()
    assert made["posts"] <= safety.unsafe_posts()

    # And no item in any table, and no object in any bucket, names the user or holds their media
    # (once the streams that follow the deletes have settled)
    names = [GONE, *photos]
    idempotency = api.stack.environment["IDEMPOTENCY_TABLE"]

    def leftovers() -> dict[str, list[Any]]:
        found: dict[str, list[Any]] = {
            table: [item for item in items if any(name in json.dumps(item) for name in names)]
            for table, items in _everything_in_tables(api).items()
        }
        remembered = found.pop(idempotency)  # responses to retried creates, under hashed keys
        assert all(float(item["expiration"]["N"]) <= time.time() + 86_400 for item in remembered)
        found["objects"] = [
            key
            for key, body in _everything_in_buckets().items()
            if any(n.encode() in key.encode() + body for n in names)
        ]
        return {where: items for where, items in found.items() if items}

    for _ in range(40):
        if not (remaining := leftovers()):
            break
        time.sleep(0.5)
    assert remaining == {}
    assert client("cognito-idp").list_users(UserPoolId=pool)["Users"] == []


def test_a_sign_in_during_the_grace_period_keeps_the_account(api: ApiStack) -> None:
    # Given a user who asked for their account's deletion (twice: the first date holds)
    api.signup("u_del_regret")
    first = _call(api, "DELETE", "/users/u_del_regret", "u_del_regret")
    again = _call(api, "DELETE", "/users/u_del_regret", "u_del_regret")
    other = api.client.call("DELETE", "/users/u_del_regret", token=api.token("u_del_a"))

    # When they sign in before it runs, and the grace period passes
    assert api.client.call("POST", "/auth/token", {"user_id": "u_del_regret"}).status == 200
    time.sleep(GRACE + 3)

    # Then the account and its profile are still there, and no one else could ask
    assert again["deletes_at"] == first["deletes_at"]
    assert other.status == 403
    assert _call(api, "GET", "/users/u_del_regret", "u_del_regret")["username"] == "u_del_regret"


def test_a_deletion_that_dies_part_way_or_runs_short_of_time_is_finished_by_its_next_try(
    api: ApiStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an account due for deletion, with likes and follows that move others' counters
    for user in ("u_del_crash", "u_del_d"):
        api.signup(user)
    d_post = _post(api, "u_del_d", {"caption": "d"})
    _call(api, "PUT", f"/posts/{d_post}/like", "u_del_crash")
    _follow(api, "u_del_crash", "u_del_d")
    client("dynamodb").update_item(
        TableName=api.stack.environment["USERS_TABLE"],
        Key={"user_id": {"S": "u_del_crash"}},
        UpdateExpression="SET deletes_at = :due",
        ExpressionAttributeValues={":due": {"N": str(time.time() - 1)}},
    )

    # When a first try dies after taking the likes back, and a second has no time left
    def crash(user_id: str) -> deletion.Removed:
        raise RuntimeError("the function timed out")

    with monkeypatch.context() as patched:
        patched.setattr(deletion, "STEPS", (*deletion.STEPS[:6], crash))
        with pytest.raises(RuntimeError):
            deletion.delete_account("u_del_crash", lambda: 900.0)
    short = deletion.delete_account("u_del_crash", lambda: 1.0)

    # Then the short one hands the rest to the queue, whose try finishes it, every count moved once
    assert short["outcome"] == "continued"
    eventually(
        lambda: api.client.call("GET", "/users/u_del_crash", token=api.token("u_del_d")).status == 404, 30
    )
    assert _call(api, "GET", f"/posts/{d_post}", "u_del_d")["like_count"] == 0
    assert _counts(api, "u_del_d") == (0, 0)
    assert deletion.delete_account("u_del_crash", lambda: 900.0)["outcome"] == "already deleted"


def test_an_export_zips_the_profile_posts_with_alt_text_original_media_comments_likes_and_follows(
    api: ApiStack,
) -> None:
    # Given an account with a described photo, a comment, a like and a follow
    for user in ("u_exp", "u_exp_friend"):
        api.signup(user)
    original = jpeg(scene(404, size=(240, 180)))
    photo = upload_media(api, api.token("u_exp"), original)
    mine = _post(api, "u_exp", {"caption": "home", "media": [{"media_id": photo, "alt_text": "my street"}]})
    theirs = _post(api, "u_exp_friend", {"caption": "hi"})
    _call(api, "PUT", f"/posts/{theirs}/like", "u_exp")
    _call(api, "POST", f"/posts/{theirs}/comments", "u_exp", {"text": "hello back"})
    _follow(api, "u_exp", "u_exp_friend")

    # When its owner asks for an export and polls until it is ready
    started = api.client.call("POST", "/users/u_exp/exports", token=api.token("u_exp"))
    path = f"/users/u_exp/exports/{started.body['export_id']}"
    ready = eventually(lambda: (a := _call(api, "GET", path, "u_exp"))["state"] == "ready" and a, 30)
    with urllib.request.urlopen(ready["url"]) as response:
        archive = zipfile.ZipFile(io.BytesIO(response.read()))

    # Then the zip holds their data and the original bytes, and no one else may see the export
    assert (started.status, started.body["state"]) == (202, "pending")
    assert sorted(archive.namelist()) == sorted(
        ["profile.json", "posts.json", f"media/{photo}", "comments.json", "likes.json", "follows.json"]
    )
    posts = {p["post_id"]: p for p in json.loads(archive.read("posts.json"))}
    assert posts[mine]["media_items"] == [{"media_id": photo, "alt_text": "my street"}]
    assert archive.read(f"media/{photo}") == original
    assert [c["text"] for c in json.loads(archive.read("comments.json"))] == ["hello back"]
    assert json.loads(archive.read("likes.json")) == [{"post_id": theirs}]
    assert json.loads(archive.read("follows.json")) == {"following": ["u_exp_friend"], "followers": []}
    listed = _call(api, "GET", "/users/u_exp/following", "u_exp")["users"]
    assert [user["user_id"] for user in listed] == ["u_exp_friend"]
    assert api.client.call("GET", path, token=api.token("u_exp_friend")).status == 403
    # And a fourth export in a day is refused with when to retry (each reads every original)
    more = [api.client.call("POST", "/users/u_exp/exports", token=api.token("u_exp")) for _ in range(3)]
    assert [reply.status for reply in more] == [202, 202, 429]
    assert int({k.lower(): v for k, v in more[-1].headers.items()}["retry-after"]) > 0
