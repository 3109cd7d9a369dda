"""Requests a careless client or an attacker sends: each gets a precise 4xx in the API's one error
shape (or a 503 when a dependency fails), never a 500 or a framework's own body."""

from __future__ import annotations

import urllib.parse

import pytest

from tests.e2e.conftest import ApiStack


def _error(reply_body: object) -> tuple[str, str]:
    assert isinstance(reply_body, dict), reply_body
    assert set(reply_body) == {"error"}, reply_body
    error = reply_body["error"]
    assert isinstance(error["message"], str)
    return error["code"], error["message"]


@pytest.mark.parametrize(("path", "auth"), [("/auth/token", False), ("/users", True), ("/posts", True)])
def test_deeply_nested_json_is_a_400_on_every_json_route(api: ApiStack, path: str, auth: bool) -> None:
    # Given a body nested 30,000 deep (under the 64 KB limit)
    deep = ("[" * 30_000 + "]" * 30_000).encode()
    token = api.token("u_nester") if auth else None

    # When it is posted, then it is a 400 saying so (not a RecursionError's 500)
    reply = api.client.call("POST", path, raw=deep, token=token)
    assert reply.status == 400
    assert _error(reply.body) == ("BadRequest", "the body nests too deeply")


@pytest.mark.parametrize("limit", ["\u00b2", "\uff11\uff10", "0x10", " 5", "5\n", "-1", "101"])
def test_a_limit_is_plain_ascii_digits_from_1_to_100(api: ApiStack, limit: str) -> None:
    token = api.token("u_limiter")
    quoted = urllib.parse.quote(limit)
    reply = api.client.call("GET", f"/users/u_limiter/followers?limit={quoted}", token=token)
    assert reply.status == 400
    assert _error(reply.body) == ("BadRequest", "limit must be a whole number from 1 to 100")


def test_a_number_sent_as_a_string_is_refused(api: ApiStack) -> None:
    token = api.token("u_stringy")
    reply = api.client.call("POST", "/uploads", {"content_type": "image/jpeg", "size": "1000"}, token=token)
    assert reply.status == 422
    assert _error(reply.body)[0] == "Unprocessable"
    assert reply.body["error"]["problems"] == [
        {"field": "size", "problem": "Input should be a valid integer"}
    ]


def test_a_method_a_path_lacks_is_a_405_and_an_unknown_path_a_404_in_the_api_shape(api: ApiStack) -> None:
    token = api.token("u_wanderer")
    wrong_method = api.client.call("PATCH", "/feed", {}, token=token)
    assert wrong_method.status == 405
    assert _error(wrong_method.body) == ("MethodNotAllowed", "this path takes GET")
    assert wrong_method.headers["Allow"] == "GET"
    for headers in ({}, {"Authorization": f"Bearer {token}"}):
        unknown = api.client.call("GET", "/no/such/route", headers=headers)
        assert unknown.status == 404
        assert _error(unknown.body) == ("NotFound", "there is no such route")


def test_a_cursor_from_another_users_list_is_refused(api: ApiStack) -> None:
    # Given two users with followers, and a cursor into the first one's list
    token = api.signup("u_paged_a")
    api.signup("u_paged_b")
    for n in range(3):
        fan = api.signup(f"u_pager{n}")
        for followee in ("u_paged_a", "u_paged_b"):
            body = {"following": True, "client_timestamp": 1}
            assert (
                api.client.call("PUT", f"/users/u_pager{n}/following/{followee}", body, token=fan).status
                == 200
            )
    first = api.client.call("GET", "/users/u_paged_a/followers?limit=1", token=token).body
    assert first["next_cursor"]

    # When it is used on the second one's list, then it is a 400 (real DynamoDB would refuse it)
    reply = api.client.call(
        "GET", f"/users/u_paged_b/followers?limit=1&cursor={first['next_cursor']}", token=token
    )
    assert reply.status == 400
    assert _error(reply.body) == ("BadRequest", "cursor is not valid for this list")
    # And it still works where it came from
    own = api.client.call(
        "GET", f"/users/u_paged_a/followers?limit=1&cursor={first['next_cursor']}", token=token
    )
    assert own.status == 200


def test_a_subject_with_a_trailing_newline_is_not_a_user(api: ApiStack) -> None:
    token = api.issuer.issue("u_newline\n")
    reply = api.client.call("GET", "/feed", token=token)
    assert reply.status == 401


def test_the_idempotency_table_failing_is_a_503_with_retry_after(
    api: ApiStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the idempotency table is gone
    token = api.token("u_unlucky")
    monkeypatch.setenv("IDEMPOTENCY_TABLE", "no-such-table")

    # When a create with an Idempotency-Key arrives, then it is a 503 the client may retry
    reply = api.client.call(
        "POST",
        "/users",
        {"username": "unlucky"},
        token=token,
        headers={"Idempotency-Key": "signup-unlucky-1"},
    )
    assert reply.status == 503
    assert reply.headers["Retry-After"] == "1"
    assert _error(reply.body)[0] == "ServiceUnavailable"
