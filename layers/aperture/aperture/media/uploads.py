"""What an S3 ObjectCreated notification tells us about a new upload.

Only the fields the pipeline uses are required: AWS sends more (request parameters, owner
identity), moto sends fewer, and neither should decide whether an upload is processed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from aperture.core.jobs import PermanentError

TEST_EVENT = "s3:TestEvent"


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Bucket(_Lenient):
    name: str = Field(min_length=3, max_length=63)


class _Object(_Lenient):
    key: str = Field(min_length=1)
    size: int = Field(ge=0)
    eTag: str | None = None


class _Entity(_Lenient):
    bucket: _Bucket
    object: _Object


class _Record(_Lenient):
    eventName: str
    s3: _Entity


class _Notification(_Lenient):
    Records: list[_Record] = Field(min_length=1)


class UploadedObject(_Lenient):
    bucket: str
    key: str
    size: int
    etag: str | None


def is_test_event(notification: Any) -> bool:
    """S3 sends one ``s3:TestEvent`` when a notification is configured; it names no upload."""
    return isinstance(notification, dict) and notification.get("Event") == TEST_EVENT


def uploaded_objects(notification: Any) -> list[UploadedObject]:
    """The objects an ObjectCreated notification announces, with their keys URL-decoded."""
    try:
        records = _Notification.model_validate(notification).Records
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise PermanentError(f"not an S3 event notification: {problems}") from error
    objects = []
    for record in records:
        if not record.eventName.startswith("ObjectCreated:"):
            raise PermanentError(f"{record.eventName} is not an upload")
        stored = record.s3.object
        objects.append(
            UploadedObject(
                bucket=record.s3.bucket.name, key=unquote_plus(stored.key), size=stored.size, etag=stored.eTag
            )
        )
    return objects
