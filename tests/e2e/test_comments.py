"""Comments over HTTP on the local stack: threads, exact counts under races, who may delete,
blocks, the per-user rate limit, the moderators' term list, and a deleted post's purge."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from aperture.core.aws import client
from aperture.core.clock import ManualClock, set_clock
from aperture.core.config import settings
from tests.conftest import eventually
from tests.e2e.conftest import ApiStack


def _post(api: ApiStack, author: str) -> tuple[str, str]:
    """Given a published text post by a new user; returns their token and the post's id."""
    token = api.signup(author)
    reply = api.client.call("POST", "/posts", {"caption": "talk to me"}, token=token)
    assert reply.body["state"] == "published"
    return token, reply.body["post_id"]


def _comment(api: ApiStack, token: str, post_id: str, text: str, **extra: Any) -> dict[str, Any]:
    reply = api.client.call("POST", f"/posts/{post_id}/comments", {"text": text, **extra}, token=token)
    assert reply.status == 201, reply
    return dict(reply.body)


def _count(api: ApiStack, post_id: str, token: str) -> int:
    return int(api.client.call("GET", f"/posts/{post_id}", token=token).body["comment_count"])


def _moderator(api: ApiStack) -> str:
    reply = api.client.call("POST", "/auth/token", {"user_id": "u_cm_moderator", "groups": ["moderators"]})
    return str(reply.body["id_token"])


def _rows(api: ApiStack, post_id: str) -> int:
    return int(
        client("dynamodb").query(
            TableName=api.stack.environment["COMMENTS_TABLE"],
            KeyConditionExpression="post_id = :p",
            ExpressionAttributeValues={":p": {"S": post_id}},
            Select="COUNT",
            ConsistentRead=True,
        )["Count"]
    )


def test_comments_and_replies_list_oldest_first_with_exact_counts_and_notifications(api: ApiStack) -> None:
    # Given a post, two comments by a fan, and the author's reply to the first
    author, post_id = _post(api, "u_cm_author")
    fan = api.signup("u_cm_fan")
    first = _comment(api, fan, post_id, "First!")
    second = _comment(api, fan, post_id, "Lovely light")
    reply = _comment(api, author, post_id, "Thank you", reply_to=first["comment_id"])

    # When the thread is read, one comment a page
    page1 = api.client.call("GET", f"/posts/{post_id}/comments?limit=1", token=fan).body
    page2 = api.client.call(
        "GET", f"/posts/{post_id}/comments?limit=1&cursor={page1['next_cursor']}", token=fan
    ).body
    replies = api.client.call("GET", f"/posts/{post_id}/comments/{first['comment_id']}/replies", token=fan)

    # Then the comments come oldest first, each with its reply count, and the reply under its parent
    assert [(c["comment_id"], c["reply_count"]) for c in page1["items"] + page2["items"]] == [
        (first["comment_id"], 1),
        (second["comment_id"], 0),
    ]
    assert page2["next_cursor"] is None
    assert [(r["comment_id"], r["parent_id"], r["text"]) for r in replies.body["items"]] == [
        (reply["comment_id"], first["comment_id"], "Thank you")
    ]
    assert _count(api, post_id, fan) == 3

    # And the author heard of both comments, the fan of the reply; no one of their own words
    author_notes = api.client.call("GET", "/notifications", token=author).body["items"]
    assert [(n["kind"], n["comment_id"], n["actor_id"]) for n in author_notes] == [
        ("comment", second["comment_id"], "u_cm_fan"),
        ("comment", first["comment_id"], "u_cm_fan"),
    ]
    fan_notes = api.client.call("GET", "/notifications", token=fan).body["items"]
    assert [(n["kind"], n["post_id"], n["comment_id"]) for n in fan_notes] == [
        ("reply", post_id, reply["comment_id"])
    ]


def test_a_retried_comment_with_one_key_is_one_comment_and_one_notification(api: ApiStack) -> None:
    author, post_id = _post(api, "u_cm_author2")
    fan, key = api.signup("u_cm_retrier"), {"Idempotency-Key": f"c-{uuid.uuid4()}"}
    path, body = f"/posts/{post_id}/comments", {"text": "once only"}

    answers = [api.client.call("POST", path, body, token=fan, headers=key) for _ in range(3)]
    changed = api.client.call("POST", path, {"text": "something else"}, token=fan, headers=key)

    assert [a.status for a in answers] == [201, 201, 201]
    assert len({a.body["comment_id"] for a in answers}) == 1
    assert changed.status == 422
    assert _count(api, post_id, fan) == 1
    assert len(api.client.call("GET", "/notifications", token=author).body["items"]) == 1


@pytest.mark.slow(seconds=25)
def test_100_concurrent_comments_count_100_and_a_deleted_one_leaves_99(api: ApiStack) -> None:
    # Given a post and 100 commenters
    author, post_id = _post(api, "u_cm_popular")
    tokens = [api.token(f"u_cm_crowd{i}") for i in range(100)]

    # When they all comment at once, 16 at a time
    with ThreadPoolExecutor(max_workers=16) as pool:
        replies = list(
            pool.map(
                lambda t: api.client.call("POST", f"/posts/{post_id}/comments", {"text": "wow"}, token=t),
                tokens,
            )
        )

    # Then every comment is stored and counted once
    assert Counter(r.status for r in replies) == {201: 100}
    assert _count(api, post_id, author) == 100
    assert _rows(api, post_id) == 100

    # And deleting one, while its author races to delete it too, counts it down once
    target = replies[0].body["comment_id"]
    with ThreadPoolExecutor(max_workers=2) as pool:
        deletes = list(
            pool.map(
                lambda t: api.client.call("DELETE", f"/posts/{post_id}/comments/{target}", token=t),
                [author, tokens[0]],
            )
        )
    assert sorted(d.status for d in deletes) == [200, 404]
    assert _count(api, post_id, author) == 99
    assert _rows(api, post_id) == 99


def test_the_comments_author_or_the_posts_author_may_delete_and_replies_go_with_their_comment(
    api: ApiStack,
) -> None:
    # Given a comment with two replies, and a bystander
    author, post_id = _post(api, "u_cm_author3")
    fan, bystander = api.signup("u_cm_fan3"), api.signup("u_cm_bystander")
    parent = _comment(api, fan, post_id, "Where is this?")
    for text in ("Lisbon", "Porto?"):
        _comment(api, bystander, post_id, text, reply_to=parent["comment_id"])
    own = _comment(api, bystander, post_id, "Nice")

    # When the bystander tries to delete the fan's comment, then the post's author does
    path = f"/posts/{post_id}/comments/{parent['comment_id']}"
    refused = api.client.call("DELETE", path, token=bystander)
    removed = api.client.call("DELETE", path, token=author)
    again = api.client.call("DELETE", path, token=author)
    own_removed = api.client.call("DELETE", f"/posts/{post_id}/comments/{own['comment_id']}", token=bystander)

    # Then the bystander is refused, the comment and its replies go, and every count follows
    assert refused.status == 403
    assert removed.body == {
        "post_id": post_id,
        "comment_id": parent["comment_id"],
        "deleted": True,
        "comment_count": 1,
    }
    assert again.status == 404
    assert (own_removed.status, own_removed.body["comment_count"]) == (200, 0)
    assert _rows(api, post_id) == 0
    assert api.client.call("GET", f"/posts/{post_id}/comments", token=fan).body["items"] == []


def test_bad_comments_get_precise_errors_and_change_nothing(api: ApiStack) -> None:
    author, post_id = _post(api, "u_cm_author4")
    fan = api.signup("u_cm_fan4")
    parent = _comment(api, fan, post_id, "hello")
    reply = _comment(api, author, post_id, "hi", reply_to=parent["comment_id"])
    path = f"/posts/{post_id}/comments"

    cases = {
        "empty": (api.client.call("POST", path, {"text": "   "}, token=fan), 422),
        "too long": (api.client.call("POST", path, {"text": "x" * 2201}, token=fan), 422),
        "unknown field": (api.client.call("POST", path, {"text": "a", "likes": 9}, token=fan), 422),
        "no such post": (api.client.call("POST", "/posts/p_nope/comments", {"text": "a"}, token=fan), 404),
        "reply to a reply": (
            api.client.call("POST", path, {"text": "a", "reply_to": reply["comment_id"]}, token=fan),
            404,
        ),
        "foreign cursor": (api.client.call("GET", f"{path}?cursor=eyJ4IjogMX0", token=fan), 400),
        "no token": (api.client.call("POST", path, {"text": "a"}), 401),
        "not a moderator": (api.client.call("GET", "/moderation/comments", token=fan), 403),
    }

    assert {name: reply.status for name, (reply, _) in cases.items()} == {
        name: status for name, (_, status) in cases.items()
    }
    assert _count(api, post_id, fan) == 2


def test_blocked_users_cannot_comment_and_blocked_commenters_are_hidden(api: ApiStack) -> None:
    # Given an author who blocks a troll, and a fan's comment the troll might answer
    author, post_id = _post(api, "u_cm_author5")
    troll, fan = api.signup("u_cm_troll"), api.signup("u_cm_fan5")
    assert api.client.call("PUT", "/users/u_cm_author5/blocks/u_cm_troll", token=author).status == 200
    fans_comment = _comment(api, fan, post_id, "great")

    # When the troll comments or replies, and the fan blocks a second commenter
    tries = [
        api.client.call("POST", f"/posts/{post_id}/comments", body, token=troll)
        for body in ({"text": "boo"}, {"text": "boo", "reply_to": fans_comment["comment_id"]})
    ]
    _comment(api, api.signup("u_cm_pest"), post_id, "meh")
    assert api.client.call("PUT", "/users/u_cm_fan5/blocks/u_cm_pest", token=fan).status == 200

    # Then the troll is refused, and the fan no longer sees the pest's comment (the author does)
    assert [t.status for t in tries] == [403, 403]
    seen_by = {
        who: [
            c["author_id"]
            for c in api.client.call("GET", f"/posts/{post_id}/comments", token=t).body["items"]
        ]
        for who, t in (("fan", fan), ("author", author))
    }
    assert seen_by == {"fan": ["u_cm_fan5"], "author": ["u_cm_fan5", "u_cm_pest"]}


@pytest.fixture
def minute_start() -> Iterator[ManualClock]:
    """Given the domain clock stopped at the start of the current minute: one rate window."""
    clock = ManualClock(start=time.time() // 60 * 60)
    previous = set_clock(clock)
    yield clock
    set_clock(previous)


def test_a_user_past_the_comment_rate_limit_is_told_when_to_retry(
    api: ApiStack, minute_start: ManualClock
) -> None:
    # Given a user who has commented as often as a minute allows
    _, post_id = _post(api, "u_cm_author6")
    chatty, limit = api.signup("u_cm_chatty"), settings().comments_per_minute
    for i in range(limit):
        _comment(api, chatty, post_id, f"comment {i}")

    # When they comment once more, 20 seconds into the minute, and again in the next minute
    minute_start.advance(20)
    refused = api.client.call("POST", f"/posts/{post_id}/comments", {"text": "one more"}, token=chatty)
    minute_start.advance(40)
    allowed = api.client.call("POST", f"/posts/{post_id}/comments", {"text": "one more"}, token=chatty)

    # Then the first is a 429 saying when the window reopens, and the next minute takes it
    retry_after = {name.lower(): value for name, value in refused.headers.items()}.get("retry-after")
    assert (refused.status, retry_after) == (429, "40")
    assert refused.body["error"]["code"] == "TooManyRequests"
    assert allowed.status == 201
    assert _count(api, post_id, chatty) == limit + 1


def test_a_comment_with_a_moderators_term_is_held_until_approved(api: ApiStack) -> None:
    # Given a moderator's term, and a post
    moderator = _moderator(api)
    added = api.client.call(
        "POST", "/moderation/terms", {"term": "Cheap  FOLLOWERS", "reason": "spam"}, token=moderator
    )
    author, post_id = _post(api, "u_cm_author7")
    spammer = api.signup("u_cm_spammer")

    # When a comment contains it (in other case, accents and spacing) and another only looks alike
    held = _comment(api, spammer, post_id, "Get ÇHEAP followers now")
    fine = _comment(api, spammer, post_id, "cheapfollowers is not a word")

    # Then the first is held: in no listing, uncounted, unannounced, waiting for a moderator
    assert (added.status, added.body["term"]) == (201, "cheap followers")
    assert (held["state"], fine["state"]) == ("held", "shown")
    listed = api.client.call("GET", f"/posts/{post_id}/comments", token=author).body["items"]
    assert [c["comment_id"] for c in listed] == [fine["comment_id"]]
    assert _count(api, post_id, author) == 1
    queue = api.client.call("GET", "/moderation/comments", token=moderator).body["items"]
    assert [(c["comment_id"], c["held_for"]) for c in queue] == [(held["comment_id"], "cheap followers")]

    # And once approved it is shown, counted and announced; deciding again is a conflict
    decision = f"/moderation/comments/{post_id}/{held['comment_id']}"
    approved = api.client.call("PUT", decision, {"verdict": "approved"}, token=moderator)
    twice = api.client.call("PUT", decision, {"verdict": "removed"}, token=moderator)
    assert (approved.status, twice.status) == (200, 409)
    assert _count(api, post_id, author) == 2
    assert api.client.call("GET", "/moderation/comments", token=moderator).body["items"] == []
    notes = api.client.call("GET", "/notifications", token=author).body["items"]
    assert {n["comment_id"] for n in notes} == {held["comment_id"], fine["comment_id"]}


def test_deleting_a_post_purges_its_comments(api: ApiStack) -> None:
    author, post_id = _post(api, "u_cm_author8")
    fan = api.signup("u_cm_fan8")
    parent = _comment(api, fan, post_id, "bye")
    _comment(api, author, post_id, "bye bye", reply_to=parent["comment_id"])

    assert api.client.call("DELETE", f"/posts/{post_id}", token=author).status == 200

    eventually(lambda: _rows(api, post_id) == 0, 60)
