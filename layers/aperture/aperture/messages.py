"""The jobs that travel between functions on SQS, one model per queue's message."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

_ID = r"^[A-Za-z0-9_-]{1,64}$"


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
    """One slice of a post's fan-out: followers after ``start_after``, in key order."""

    post_id: str = Field(pattern=_ID)
    author_id: str = Field(pattern=_ID)
    start_after: str | None = Field(default=None, pattern=_ID)


class StoryExpiry(Message):
    author_id: str = Field(pattern=_ID)
    story_id: str = Field(pattern=_ID)
