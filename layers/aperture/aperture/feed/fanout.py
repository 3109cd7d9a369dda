"""FanOut: delivering a published post to its author's followers, or leaving it to be merged.

Planning reads the author once. Under ``CelebrityFollowerThreshold`` followers, it lists the
author's audience (followers who are not dormant) and sends them on in slices, one SQS message
each, so no invocation outlives its timeout; each slice is written in BatchWriteItem chunks of 25.
Every write is a put of the same row, so a duplicated message or a retried slice writes each
follower's row once. At or above the threshold nothing is written to feeds: the post is marked
for merging and its author listed as merged, and feed reads merge it in.
"""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import UpdateError

from aperture.core.jobs import PermanentError
from aperture.core.messages import FANOUT_SLICE, FanoutJob, TrayJob, TrayRemoval, send_all
from aperture.core.tables import condition_failed, write_batch
from aperture.feed.home import FEED_WINDOW_SECONDS, add_to_head, feed_row, list_as_merged
from aperture.feed.tables import FeedRow
from aperture.social.posts import FANOUT_QUEUE
from aperture.social.tables import Edge, Post, User
from aperture.social.users import is_large_account
from aperture.stories.story import add_to_tray, followers_of, remove_from_trays


def fan_out(job: FanoutJob | TrayJob | TrayRemoval) -> dict[str, Any]:
    if isinstance(job, TrayRemoval):
        return {"author_id": job.author_id, "rings_changed": remove_from_trays(job)}
    if isinstance(job, TrayJob):
        return fan_out_story(job)
    if job.followers is None:
        return plan(job)
    return {"post_id": job.post_id, "delivered": len(job.followers), "requests": deliver(job)}


def fan_out_story(job: TrayJob) -> dict[str, Any]:
    """Put a normal author's new Story in their followers' trays (celebrities' merge on read)."""
    if job.followers is None:
        followers = followers_of(job.author_id)
        slices = _queue_slices(job, followers)
        return {"story_id": job.story_id, "slices": slices, "followers": len(followers)}
    for viewer_id in job.followers:
        add_to_tray(viewer_id, job.author_id, job.latest_story_at, job.expires_at)
    return {"story_id": job.story_id, "delivered": len(job.followers)}


def plan(job: FanoutJob) -> dict[str, Any]:
    """Decide how the post reaches feeds, and start it on its way."""
    try:
        author = User.get(job.author_id, attributes_to_get=["follower_count"]).to_dict()
    except User.DoesNotExist as error:
        raise PermanentError(f"the author {job.author_id} does not exist") from error
    if is_large_account(author):
        _mark_merged(job)
        return {"post_id": job.post_id, "delivery": "merge", "followers": author.get("follower_count", 0)}
    audience = [job.author_id, *_audience(job.author_id)]  # authors see their own posts too
    slices = _queue_slices(job, audience)
    _set_delivery(job.post_id, "fanout")
    return {"post_id": job.post_id, "delivery": "fanout", "slices": slices, "followers": len(audience) - 1}


def deliver(job: FanoutJob) -> int:
    """Write one slice of rows; returns the BatchWriteItem requests it took."""
    post = job.model_dump(include={"post_id", "author_id", "created_at"})
    return write_batch(FeedRow, puts=[feed_row(follower_id, post) for follower_id in job.followers or []])


def _audience(author_id: str) -> list[str]:
    return [edge.follower_id for edge in Edge.audience.query(author_id)]


def _queue_slices(job: FanoutJob | TrayJob, followers: list[str]) -> int:
    """Queue the job once per FANOUT_SLICE followers (10 messages a request); returns the slices."""
    jobs = [
        job.model_copy(update={"followers": followers[start : start + FANOUT_SLICE]})
        for start in range(0, len(followers), FANOUT_SLICE)
    ]
    send_all(FANOUT_QUEUE, jobs)
    return len(jobs)


def _mark_merged(job: FanoutJob) -> None:
    """List the author as merged for as long as this post stays in the feed window, and put the
    post at the head reads take merged posts from."""
    list_as_merged(job.author_id, job.created_at + FEED_WINDOW_SECONDS)
    if _set_delivery(job.post_id, "merge"):
        add_to_head(job.author_id, job.created_at, job.post_id)


def _set_delivery(post_id: str, delivery: str) -> bool:
    """Whether the post is still there to be delivered."""
    try:
        Post(post_id).update([Post.delivery.set(delivery)], condition=Post.post_id.exists())
    except UpdateError as error:
        if not condition_failed(error):
            raise
        return False  # deleted meanwhile: feeds drop its rows when they meet them
    return True
