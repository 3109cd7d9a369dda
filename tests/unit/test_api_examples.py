"""The examples in the API's document are answers the handlers could give."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from aperture.core import responses
from aperture.social.users import PROFILE_FIELDS
from tools.client_models import document

DOCUMENT = document()

SCHEMAS: dict[str, Any] = DOCUMENT["components"]["schemas"]
EXAMPLED = sorted(name for name, schema in SCHEMAS.items() if schema.get("examples"))


def test_the_quickstarts_answers_have_examples() -> None:
    assert set(EXAMPLED) >= {
        "Profile",
        "FollowState",
        "UploadStarted",
        "Media",
        "Post",
        "LikeState",
        "Story",
        "Tray",
        "FeedPage",
        "FeedPost",
        "ExplorePage",
    }


@pytest.mark.parametrize("name", EXAMPLED)
def test_each_example_validates_against_its_schema_and_its_model(name: str) -> None:
    validator = Draft202012Validator({**SCHEMAS[name], "components": DOCUMENT["components"]})
    for example in SCHEMAS[name]["examples"]:
        assert [error.message for error in validator.iter_errors(example)] == []
        getattr(responses, name).model_validate(example, strict=True)


def test_a_profile_is_read_with_exactly_the_fields_its_answer_documents() -> None:
    # (the user item also holds the service's own state: merge listing, merged head, activity)
    assert sorted(PROFILE_FIELDS) == sorted(responses.Profile.model_fields)
