"""The API Gateway sample events in ``events/api/``: what ``pipenv run invoke api`` and
``sam local invoke ApiFunction -e`` take, each a route the template declares."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from aperture_local.invoke import with_dev_tokens
from aperture_local.stack import LocalStack
from aperture_local.template import Template
from tests.conftest import EVENTS, ROOT, load_event

# On an empty stack, in this order: the user is created, the intent made; the post and media
# the like, the comment and the Story name do not exist there.
EXPECTED = [
    ("health.json", 200),
    ("create_user.json", 201),
    ("upload_intent.json", 201),
    ("like_post.json", 404),
    ("create_comment.json", 404),
    ("home_feed.json", 200),
    ("post_story.json", 404),
    ("explore.json", 200),
    ("sr_model.json", 200),
]


def test_every_sample_is_listed_and_names_a_route_of_the_template() -> None:
    api = next(spec for spec in Template(ROOT / "template.yaml").functions() if spec.short_name == "api")
    routes = {(e.properties["Method"].upper(), e.properties["Path"]) for e in api.events}
    assert sorted(path.name for path in (EVENTS / "api").glob("*.json")) == sorted(
        name for name, _ in EXPECTED
    )
    for name, _ in EXPECTED:
        event = load_event(f"api/{name}")
        assert (event["httpMethod"], event["resource"]) in routes


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(event_sources=False) as stack:
        yield stack


def test_each_sample_gets_its_status_with_a_token_signed_for_its_placeholder(stack: LocalStack) -> None:
    for name, status in EXPECTED:
        # Given the sample, its <id-token:u_alice> signed by the local issuer
        event: dict[str, Any] = with_dev_tokens(load_event(f"api/{name}"))
        assert "<id-token" not in json.dumps(event)

        # When the API function is invoked with it, then it answers with the expected status
        response = stack.function("api").invoke(event)
        assert (name, response["statusCode"]) == (name, status), response["body"]
        if status >= 400:
            assert set(json.loads(response["body"])["error"]) == {"code", "message"}
