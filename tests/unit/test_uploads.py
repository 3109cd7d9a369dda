"""The router reads S3 notifications as AWS sends them and as moto sends them, and refuses the rest;
a replayed upload intent never hands out a dead form."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aperture.core.clock import ManualClock
from aperture.core.errors import Conflict
from aperture.core.jobs import PermanentError
from aperture.media.records import still_open
from aperture.media.uploads import UploadedObject, is_test_event, uploaded_objects
from tests.conftest import load_event


def _body(sample: str) -> Any:
    return json.loads(load_event(sample)["Records"][0]["body"])


def test_an_aws_notification_names_its_object_with_the_key_decoded() -> None:
    assert uploaded_objects(_body("media_router/s3_object_created.json")) == [
        UploadedObject(
            bucket="aperture-dev-uploads-123456789012-us-east-1",
            key="uploads/u_alice/m_01JDQ7K8Z5/original",
            size=2483961,
            etag="d41d8cd98f00b204e9800998ecf8427e",
        )
    ]


def test_a_notification_without_the_fields_moto_omits_is_still_read() -> None:
    notification = _body("media_router/s3_object_created.json")
    record = notification["Records"][0]
    for field in ("userIdentity", "requestParameters", "responseElements"):
        del record[field]
    del record["s3"]["bucket"]["ownerIdentity"]
    assert [upload.key for upload in uploaded_objects(notification)] == [
        "uploads/u_alice/m_01JDQ7K8Z5/original"
    ]


def test_the_test_event_is_recognised() -> None:
    assert is_test_event(_body("media_router/s3_test_event.json"))
    assert not is_test_event(_body("media_router/s3_object_created.json"))


@pytest.mark.parametrize(
    ("notification", "reason"),
    [
        ({"Records": []}, "Records: List should have at least 1 item"),
        ({"hello": "world"}, "Records: Field required"),
        ([1, 2], "Input should be a valid dictionary"),
        ({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"}}}]}, "bucket.name"),
    ],
)
def test_anything_else_is_a_permanent_failure_that_says_why(notification: Any, reason: str) -> None:
    with pytest.raises(PermanentError, match=reason):
        uploaded_objects(notification)


def test_a_delete_notification_is_not_an_upload() -> None:
    notification = _body("media_router/s3_object_created.json")
    notification["Records"][0]["eventName"] = "ObjectRemoved:Delete"
    with pytest.raises(PermanentError, match="ObjectRemoved:Delete is not an upload"):
        uploaded_objects(notification)


def test_a_replayed_intent_is_served_until_its_form_expires_then_is_a_409(manual_clock: ManualClock) -> None:
    # Given an intent whose form expires in ten minutes
    intent = {"media_id": "m_1", "upload": {"url": "u", "fields": {}}, "expires_at": manual_clock.now() + 600}
    # Then a replay a second before gets the same form, and one at the expiry a 409
    manual_clock.advance(599)
    assert still_open(intent) is intent
    manual_clock.advance(1)
    with pytest.raises(Conflict, match="start a new upload"):
        still_open(intent)


def test_an_intent_stored_before_forms_had_an_expiry_is_a_409_not_a_server_error() -> None:
    with pytest.raises(Conflict, match="start a new upload"):
        still_open({"media_id": "m_1", "upload": {"url": "u", "fields": {}}})
