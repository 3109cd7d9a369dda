"""Profiles, follows, posts and likes through the HTTP API: exact answers to good and bad input."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from aperture.core.aws import client
from aperture.social import posts
from aperture.stories import story
from aperture_local.items import to_item
from tests.e2e.conftest import ApiStack


def test_a_profile_is_created_once_and_its_username_is_unique(api: ApiStack) -> None:
    # Given a new user
    token = api.token("u_prof_1")
    # When they create a profile, then they get it, with zero counts
    reply = api.client.call("POST", "/users", {"username": "Sunset.Lover", "bio": " hi "}, token=token)
    assert reply.status == 201
    assert {k: reply.body[k] for k in ("user_id", "username", "bio", "follower_count")} == {
        "user_id": "u_prof_1",
        "username": "sunset.lover",
        "bio": "hi",
        "follower_count": 0,
    }
    # When they try again, or someone else takes the name, then 409 says why
    again = api.client.call("POST", "/users", {"username": "another"}, token=token)
    assert (again.status, again.body["error"]["message"]) == (409, "you already have a profile")
    taken = api.client.call("POST", "/users", {"username": "sunset.lover"}, token=api.token("u_prof_2"))
    assert (taken.status, taken.body["error"]["message"]) == (409, "the username sunset.lover is taken")


def test_renaming_frees_the_old_username(api: ApiStack) -> None:
    first, second = api.signup("u_ren_1", "old.name"), api.token("u_ren_2")
    reply = api.client.call("PATCH", "/users/u_ren_1", {"username": "new.name"}, token=first)
    assert (reply.status, reply.body["username"]) == (200, "new.name")
    assert api.client.call("POST", "/users", {"username": "old.name"}, token=second).status == 201
    assert api.client.call("PATCH", "/users/u_ren_2", {"username": "new.name"}, token=second).status == 409


def test_bad_bodies_get_precise_4xx(api: ApiStack) -> None:
    token = api.token("u_bad")
    cases = [
        ({"raw": b"{not json"}, 400),
        ({"body": {"username": "ab"}}, 422),
        ({"body": {"username": "fine_name", "admin": True}}, 422),
        ({"body": ["a list"]}, 422),
        ({"raw": b'{"username": "' + b"x" * 70_000 + b'"}'}, 413),
    ]
    for kwargs, status in cases:
        reply = api.client.call("POST", "/users", token=token, **kwargs)  # type: ignore[arg-type]
        assert reply.status == status, (kwargs, reply)
        assert reply.body["error"]["code"]
    problems = api.client.call("POST", "/users", {"username": "ab"}, token=token).body["error"]["problems"]
    assert problems == [{"field": "username", "problem": "String should match pattern '^[a-z0-9._]{3,30}$'"}]


def test_an_idempotency_key_makes_one_post_and_refuses_a_different_body(api: ApiStack) -> None:
    token = api.signup("u_idem")
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    first = api.client.call("POST", "/posts", {"caption": "first"}, token=token, headers=key)
    again = api.client.call("POST", "/posts", {"caption": "first"}, token=token, headers=key)
    other = api.client.call("POST", "/posts", {"caption": "changed"}, token=token, headers=key)
    assert (first.status, again.status, other.status) == (201, 201, 422)
    assert again.body == first.body
    assert (
        api.client.call(
            "POST", "/posts", {"caption": "x"}, token=token, headers={"Idempotency-Key": "?"}
        ).status
        == 400
    )
    # The same key from another user is another request
    theirs = api.client.call(
        "POST", "/posts", {"caption": "first"}, token=api.signup("u_idem_2"), headers=key
    )
    assert theirs.status == 201
    assert theirs.body["post_id"] != first.body["post_id"]


def test_follow_lists_page_with_opaque_cursors(api: ApiStack) -> None:
    star = "u_page_star"
    api.signup(star)
    fans = [f"u_page_fan{i}" for i in range(7)]
    for fan in fans:
        token = api.signup(fan)
        reply = api.client.call(
            "PUT", f"/users/{fan}/following/{star}", {"following": True, "client_timestamp": 5}, token=token
        )
        assert reply.body["applied"] is True
    seen, cursor, pages = [], None, 0
    while True:
        query = f"?limit=3&cursor={cursor}" if cursor else "?limit=3"
        page = api.client.call("GET", f"/users/{star}/followers{query}", token=api.token(star)).body
        seen += [user["user_id"] for user in page["users"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == fans
    assert pages >= 3
    assert api.client.call("GET", f"/users/{star}", token=api.token(star)).body["follower_count"] == 7
    tampered = api.client.call("GET", f"/users/{star}/followers?cursor=eyJhIjoxfQ", token=api.token(star))
    assert (tampered.status, tampered.body["error"]["message"]) == (400, "cursor is not valid")
    assert api.client.call("GET", f"/users/{star}/followers?limit=1000", token=api.token(star)).status == 400


def test_following_yourself_or_a_stranger_is_refused(api: ApiStack) -> None:
    token = api.signup("u_lonely")
    me = api.client.call(
        "PUT", "/users/u_lonely/following/u_lonely", {"following": True, "client_timestamp": 1}, token=token
    )
    ghost = api.client.call(
        "PUT", "/users/u_lonely/following/u_ghost", {"following": True, "client_timestamp": 1}, token=token
    )
    assert (me.status, ghost.status) == (422, 404)


def test_likes_are_unique_and_reconciliation_repairs_drift(api: ApiStack) -> None:
    author = api.signup("u_liked")
    post = api.client.call("POST", "/posts", {"caption": "like me"}, token=author).body
    fan = api.token("u_liker")
    first = api.client.call("PUT", f"/posts/{post['post_id']}/like", token=fan).body
    second = api.client.call("PUT", f"/posts/{post['post_id']}/like", token=fan).body
    assert (first["changed"], first["like_count"], second["changed"], second["like_count"]) == (
        True,
        1,
        False,
        1,
    )
    assert api.client.call("PUT", "/posts/p_missing/like", token=fan).status == 404

    # Given a count that drifted from the like rows
    from aperture.core.aws import client

    client("dynamodb").update_item(
        TableName=api.stack.environment["POSTS_TABLE"],
        Key={"post_id": {"S": post["post_id"]}},
        UpdateExpression="SET like_count = :wrong",
        ExpressionAttributeValues={":wrong": {"N": "42"}},
    )
    # When the hourly reconciliation runs, then the count is the number of like rows again
    from tests.conftest import load_event

    report = api.stack.function("counters").invoke(load_event("counters/hourly_reconcile.json"))
    assert report["repaired"] >= 1
    assert api.client.call("GET", f"/posts/{post['post_id']}", token=fan).body["like_count"] == 1
    undone = api.client.call("DELETE", f"/posts/{post['post_id']}/like", token=fan).body
    assert (undone["liked"], undone["like_count"]) == (False, 0)


def _media(api: ApiStack, owner: str, state: str) -> str:
    """A media record as the pipeline leaves it: ``ready`` and approved, or still ``processing``."""
    media_id = f"m_{uuid.uuid4().hex[:12]}"
    item: dict[str, Any] = {"media_id": media_id, "owner_id": owner, "state": state, "kind": "image"}
    if state == "ready":
        key = f"media/{media_id}/d/thumb_150.webp"
        item |= {"moderation": {"verdict": "approved"}, "thumbhash": "1QcSHQRnh493V4dIh4eXh1h4kJUI"}
        item |= {"width": 1080, "height": 720, "renditions": [{"key": key, "format": "webp", "width": 150}]}
    client("dynamodb").put_item(TableName=api.stack.environment["MEDIA_TABLE"], Item=to_item(item))
    return media_id


def test_a_profile_grid_pages_published_posts_newest_first_with_their_media(api: ApiStack) -> None:
    # Given an author with three published posts (the first with a photo) and a fourth waiting on its media
    author, fan = api.signup("u_grid_author"), api.signup("u_grid_fan")
    photo = _media(api, "u_grid_author", "ready")
    bodies = [{"caption": "one", "media_id": photo}, {"caption": "two"}, {"caption": "three"}]
    bodies.append({"caption": "waiting", "media_id": _media(api, "u_grid_author", "processing")})
    created = [api.client.call("POST", "/posts", body, token=author).body for body in bodies]
    assert [post["state"] for post in created] == ["published", "published", "published", "pending"]

    # When a fan reads the grid two at a time
    first = api.client.call("GET", "/users/u_grid_author/posts?limit=2", token=fan).body
    second = api.client.call(
        "GET", f"/users/u_grid_author/posts?limit=2&cursor={first['next_cursor']}", token=fan
    )

    # Then they see the published posts newest first, the photo with its ThumbHash, and no more pages
    assert [post["caption"] for post in first["items"]] == ["three", "two"]
    assert [post["caption"] for post in second.body["items"]] == ["one"]
    assert second.body["next_cursor"] is None
    media = second.body["items"][0]["media"]
    assert (media["media_id"], media["thumbhash"], media["width"]) == (
        photo,
        "1QcSHQRnh493V4dIh4eXh1h4kJUI",
        1080,
    )
    assert "moderation" not in media
    assert first["items"][0]["media"] is None
    # And the author sees the waiting post too
    own = api.client.call("GET", "/users/u_grid_author/posts", token=author).body
    assert [post["caption"] for post in own["items"]] == ["waiting", "three", "two", "one"]


def test_a_profile_grid_is_not_there_for_blocked_users_strangers_cursors_or_unknown_users(
    api: ApiStack,
) -> None:
    # Given an author who blocks one user, and another user who blocks the author
    author, blocked, blocker = api.signup("u_gridb_author"), api.signup("u_gridb_1"), api.signup("u_gridb_2")
    api.client.call("POST", "/posts", {"caption": "hello"}, token=author)
    assert api.client.call("PUT", "/users/u_gridb_author/blocks/u_gridb_1", token=author).status == 200
    assert api.client.call("PUT", "/users/u_gridb_2/blocks/u_gridb_author", token=blocker).status == 200

    # Then neither sees the grid, as if the profile did not exist, while its author still does
    for token in (blocked, blocker):
        reply = api.client.call("GET", "/users/u_gridb_author/posts", token=token)
        assert (reply.status, reply.body["error"]["message"]) == (404, "there is no user u_gridb_author")
    assert len(api.client.call("GET", "/users/u_gridb_author/posts", token=author).body["items"]) == 1
    # And a cursor from another user's grid, or a user who does not exist, is a precise 4xx
    api.client.call("POST", "/posts", {"caption": "a"}, token=blocked)
    api.client.call("POST", "/posts", {"caption": "b"}, token=blocked)
    other = api.client.call("GET", "/users/u_gridb_1/posts?limit=1", token=blocked).body["next_cursor"]
    wrong = api.client.call("GET", f"/users/u_gridb_author/posts?cursor={other}", token=author)
    assert (wrong.status, wrong.body["error"]["message"]) == (400, "cursor is not valid for this list")
    assert api.client.call("GET", "/users/u_nobody_here/posts", token=author).status == 404


def test_a_create_that_failed_after_saving_is_finished_by_its_retry_not_repeated(
    api: ApiStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a post's and a Story's second step failing once, after each has been saved
    token = api.signup("u_halfway")
    for module, step in ((posts, "publish"), (story, "attach")):
        real = getattr(module, step)
        calls = iter([RuntimeError("throttled"), None])

        def once_failing(*args: Any, _real: Any = real, _calls: Any = calls) -> Any:
            failure = next(_calls, None)
            if failure:
                raise failure
            return _real(*args)

        monkeypatch.setattr(module, step, once_failing)
    media_id = _media(api, "u_halfway", "ready")
    creates = [("/posts", {"caption": "half way"}), ("/stories", {"media_id": media_id})]

    for path, body in creates:
        # When the client's create fails, and it retries with the same Idempotency-Key
        key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
        failed = api.client.call("POST", path, body, token=token, headers=key)
        retried = api.client.call("POST", path, body, token=token, headers=key)
        # Then the retry finishes what the first try saved
        assert (failed.status, retried.status) == (500, 201), path
    # And there is one post, published, and one Story, live
    grid = api.client.call("GET", "/users/u_halfway/posts", token=token).body["items"]
    assert [(post["caption"], post["state"]) for post in grid] == [("half way", "published")]
    assert len(api.client.call("GET", "/users/u_halfway/stories", token=token).body["items"]) == 1
