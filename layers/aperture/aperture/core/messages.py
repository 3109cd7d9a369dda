"""The jobs that travel between functions on SQS, one model per queue's message."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

_ID = r"^[A-Za-z0-9_-]{1,64}$"
FANOUT_SLICE = 1000  # followers per fan-out message: 40 batch writes, far inside the timeout


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


class CdnInvalidation(Message):
    """Media paths to drop from the CDN's caches: an expired Story's, or blocked media's."""

    paths: list[Annotated[str, Field(pattern=r"^/media/[A-Za-z0-9_./-]{1,1000}$")]] = Field(
        min_length=1, max_length=100
    )
