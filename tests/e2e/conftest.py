"""The API served over HTTP by the local stack, and a small client for it."""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from PIL import Image

from aperture.core.aws import client
from aperture.core.identity import DevIssuer
from aperture.core.ids import new_id
from aperture_client import Aperture
from aperture_client.transport import Response, Transport
from aperture_local.items import to_item
from aperture_local.runtime import _import
from aperture_local.server import ApiServer
from aperture_local.stack import LocalStack
from tests.conftest import ROOT, load_event
from tests.pictures import jpeg


class Documented:
    """Checks a success body against the 2xx schema the API's OpenAPI document gives its route."""

    def __init__(self, document: dict[str, Any]) -> None:
        components = document["components"]
        self.routes = [
            (
                method.upper(),
                re.compile("^" + re.sub(r"{\w+}", "[^/]+", path) + "$"),
                {
                    status: Draft202012Validator(
                        {**answer["content"]["application/json"]["schema"], "components": components}
                    )
                    for status, answer in operation["responses"].items()
                    if status.startswith("2")
                },
            )
            for path, methods in document["paths"].items()
            for method, operation in methods.items()
        ]

    def check(self, method: str, path: str, status: int, body: Any) -> None:
        route = urllib.parse.urlsplit(path).path
        validators = next(v for verb, pattern, v in self.routes if verb == method and pattern.match(route))
        problems = [
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validators[str(status)].iter_errors(body)
        ]
        assert not problems, f"{method} {path} answered {status} off its documented schema: {problems}"


DOCUMENTED = Documented(_import(ROOT / "functions/api/app.py", "DocumentedApi").api.openapi())


class Client:
    """Raw calls through the client package's transport, unretried, so a test sees every status."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.transport = Transport(base_url, retries=False)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Response:
        sent = {**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
        reply = self.transport.send(method, path, json_body=body, raw_body=raw, headers=sent)
        if reply.status < 400:
            DOCUMENTED.check(method, path, reply.status, reply.body)
        return reply


@dataclass
class ApiStack:
    stack: LocalStack
    client: Client
    issuer: DevIssuer

    def token(self, user_id: str) -> str:
        return self.issuer.issue(user_id)

    def as_user(self, user_id: str) -> Aperture:
        """The typed client, calling as ``user_id``."""
        return Aperture(self.client.base_url, self.token(user_id), transport=self.client.transport)

    def signup(self, user_id: str, username: str | None = None) -> str:
        """A user with a profile; returns their token."""
        self.as_user(user_id).create_user(username or user_id.lower())
        return self.token(user_id)


@contextmanager
def serving(stack: LocalStack, *, cors: bool = False) -> Iterator[ApiStack]:
    """A started stack's API over HTTP, with its development issuer; ``cors``: answering browsers'
    preflights as API Gateway does, from the template."""
    server = ApiServer(stack.api_function(), port=0, preflight=stack.api_cors() if cors else None).start()
    issuer = DevIssuer(
        os.environ["AUTH_DEV_SIGNING_KEY"], os.environ["AUTH_ISSUER"], os.environ["AUTH_AUDIENCE"]
    )
    try:
        yield ApiStack(stack, Client(server.url), issuer)
    finally:
        server.stop()


# Explore's feature-read deadline and stage budgets, at what a loaded test machine meets
# (production's are 80, 50 and 200 ms; tests/unit/test_explore.py holds those).
UNHURRIED_EXPLORE = dict.fromkeys(
    ("ExploreFeatureDeadlineMs", "ExploreRetrievalBudgetMs", "ExploreRankingBudgetMs"), "5000"
)


@pytest.fixture(scope="module")
def api() -> Iterator[ApiStack]:
    with LocalStack() as stack, serving(stack) as served:
        yield served


def post_to_s3(upload: dict[str, Any], data: bytes) -> int:
    """A browser-style multipart POST of the presigned form, the file last."""
    return Transport(upload["url"], retries=False).post_form(upload["url"], upload["fields"], data, "x")


def upload_media(
    api: ApiStack, token: str, data: bytes, content_type: str = "image/jpeg", **extra: Any
) -> str:
    """Upload as an app does: an intent through the API, then the file straight to S3."""
    intent = {"content_type": content_type, "size": max(len(data), 1), **extra}
    reply = api.client.call("POST", "/uploads", intent, token=token)
    assert reply.status == 201, reply
    assert reply.body["state"] == "pending"
    assert post_to_s3(reply.body["upload"], data) in (200, 204)
    return str(reply.body["media_id"])


def finished_media(api: ApiStack, owner: str, picture: Image.Image) -> str:
    """Media the image pipeline has finished, not yet moderated: a JPEG display rendition in the
    media bucket and a ready record."""
    media_id = new_id("m")
    key = f"media/{media_id}/digest/display.jpg"
    client("s3").put_object(Bucket=api.stack.environment["MEDIA_BUCKET"], Key=key, Body=jpeg(picture))
    rendition = {"key": key, "format": "jpeg", "width": picture.width, "height": picture.height}
    item = {
        "media_id": media_id,
        "owner_id": owner,
        "state": "ready",
        "kind": "image",
        "created_at": 0,
        "renditions": [rendition],
    }
    client("dynamodb").put_item(TableName=api.stack.environment["MEDIA_TABLE"], Item=to_item(item))
    return media_id


def run_moderation(api: ApiStack, media_id: str) -> dict[str, Any]:
    """The moderation function's job for one media item, as its queue would hand it over."""
    record = load_event("moderation/moderation_job.json")["Records"][0] | {
        "body": json.dumps({"media_id": media_id})
    }
    response: dict[str, Any] = api.stack.function("moderation").invoke({"Records": [record]})
    return response
