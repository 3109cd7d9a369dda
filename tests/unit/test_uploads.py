"""The router reads S3 notifications as AWS sends them and as moto sends them, and refuses the rest."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aperture.core.jobs import PermanentError
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
