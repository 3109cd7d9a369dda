"""Every route but health needs a valid ID token, and nobody acts as somebody else."""

from __future__ import annotations

import base64
import json
import os

import jwt
import pytest

from aperture.core.clock import ManualClock
from aperture.core.identity import DevIssuer, generate_dev_signing_key
from tests.e2e.conftest import ApiStack


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "u_mallory"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{header}.{forged}.{signature}"


def test_health_needs_no_token(api: ApiStack) -> None:
    assert api.client.call("GET", "/health").status == 200


@pytest.mark.parametrize(
    ("case", "header"),
    [
        ("missing", None),
        ("not bearer", "Basic dXNlcjpwYXNz"),
        ("empty bearer", "Bearer "),
        ("garbage", "Bearer not-a-jwt"),
    ],
)
def test_a_request_without_a_usable_token_gets_401(api: ApiStack, case: str, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    reply = api.client.call("GET", "/users/u_anyone", headers=headers)
    assert reply.status == 401, case
    assert reply.body["error"]["code"] == "Unauthorized"


def test_an_expired_token_gets_401(api: ApiStack, manual_clock: ManualClock) -> None:
    token = api.issuer.issue("u_expiring", lifetime_seconds=60)
    assert api.client.call("GET", "/users/u_expiring", token=token).status == 404  # valid: no profile yet
    manual_clock.advance(60)
    reply = api.client.call("GET", "/users/u_expiring", token=token)
    assert (reply.status, reply.body["error"]["message"]) == (401, "the token has expired")


def test_a_tampered_token_gets_401(api: ApiStack) -> None:
    reply = api.client.call("GET", "/users/u_x", token=_tampered(api.token("u_honest")))
    assert reply.status == 401
    assert "Signature verification failed" in reply.body["error"]["message"]


def test_a_token_for_another_audience_or_issuer_or_key_gets_401(api: ApiStack) -> None:
    key = os.environ["AUTH_DEV_SIGNING_KEY"]
    other_audience = DevIssuer(key, api.issuer.issuer, "some-other-app").issue("u_x")
    other_issuer = DevIssuer(key, "https://evil.example/issuer", api.issuer.audience).issue("u_x")
    other_key = DevIssuer(generate_dev_signing_key(), api.issuer.issuer, api.issuer.audience).issue("u_x")
    unsigned = jwt.encode(
        {"sub": "u_x", "aud": api.issuer.audience, "iss": api.issuer.issuer}, "", algorithm="none"
    )
    for token in (other_audience, other_issuer, other_key, unsigned):
        assert api.client.call("GET", "/users/u_x", token=token).status == 401


def test_nobody_changes_another_users_profile_or_follows(api: ApiStack) -> None:
    alice, _ = api.signup("u_auth_alice"), api.signup("u_auth_bob")
    assert api.client.call("PATCH", "/users/u_auth_bob", {"bio": "hacked"}, token=alice).status == 403
    follow = {"following": True, "client_timestamp": 1}
    reply = api.client.call("PUT", "/users/u_auth_bob/following/u_auth_alice", follow, token=alice)
    assert reply.status == 403
    assert api.client.call("GET", "/users/u_auth_bob", token=alice).body["bio"] == ""
