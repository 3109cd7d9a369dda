"""The jobs that travel between functions on SQS, one model per queue's message, and how they are sent."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from aperture.core.aws import client
from aperture.core.config import resource_name

_ID = r"^[A-Za-z0-9_-]{1,64}$"
FANOUT_SLICE = 1000  # followers per fan-out message: 40 batch writes, far inside the timeout
EXPIRY_GROUP = 250  # Stories per expiry schedule: 350,000 a minute need 24 CreateSchedule calls a second


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MediaJob(Message):
    """An upload to render: the image, video fast-path and video ladder queues carry these."""

    media_id: str = Field(pattern=_ID)
    owner_id: str = Field(pattern=_ID)
    bucket: str = Field(min_length=3, max_length=63)
    key: str = Field(min_length=1, max_length=1024)


class ModerationJob(Message):
    media_id: str = Field(pattern=_ID)


class FanoutJob(Message):
    """A published post to deliver: first to plan (no ``followers``), then one slice of followers."""

    post_id: str = Field(pattern=_ID)
    author_id: str = Field(pattern=_ID)
    created_at: float = Field(ge=0)
    followers: list[Annotated[str, Field(pattern=_ID)]] | None = Field(
        default=None, min_length=1, max_length=FANOUT_SLICE
    )


class TrayJob(Message):
    """A new Story to put in followers' trays: first to plan (no ``followers``), then one slice."""

    story_id: str = Field(pattern=_ID)
    author_id: str = Field(pattern=_ID)
    latest_story_at: float = Field(ge=0)
    expires_at: float = Field(ge=0)
    followers: list[Annotated[str, Field(pattern=_ID)]] | None = Field(
        default=None, min_length=1, max_length=FANOUT_SLICE
    )


class StoryExpiry(Message):
    author_id: str = Field(pattern=_ID)
    story_id: str = Field(pattern=_ID)


class StoryExpiryGroup(Message):
    """The Stories one schedule expires: all of one second's, up to ``EXPIRY_GROUP`` a schedule."""

    stories: list[StoryExpiry] = Field(min_length=1, max_length=EXPIRY_GROUP)


class TrayRemoval(Message):
    """A Story is gone: one slice of its author's followers whose tray rings to update or drop.
    ``latest_*`` describe the author's newest Story still live (None when none is)."""

    author_id: str = Field(pattern=_ID)
    removed_until: float = Field(ge=0)
    latest_story_at: float | None = Field(default=None, ge=0)
    latest_expires_at: float | None = Field(default=None, ge=0)
    followers: list[Annotated[str, Field(pattern=_ID)]] = Field(min_length=1, max_length=FANOUT_SLICE)


class CdnInvalidation(Message):
    """Media paths to drop from the CDN's caches: an expired Story's, or blocked media's."""

    paths: list[Annotated[str, Field(pattern=r"^/media/[A-Za-z0-9_./-]{1,1000}$")]] = Field(
        min_length=1, max_length=100
    )


def send_all(queue: str, messages: Sequence[Message]) -> int:
    """Send ``messages`` to the queue whose URL the resource ``queue`` names, ten to a request;
    returns the requests. Any message SQS refuses fails the call, so the caller's job is retried."""
    sqs = client("sqs")
    requests = 0
    for start in range(0, len(messages), 10):
        entries = [
            {"Id": str(index), "MessageBody": message.model_dump_json()}
            for index, message in enumerate(messages[start : start + 10])
        ]
        result = sqs.send_message_batch(QueueUrl=resource_name(queue), Entries=entries)
        requests += 1
        if result.get("Failed"):
            raise RuntimeError(f"{len(result['Failed'])} messages were not queued: {result['Failed']}")
    return requests
