"""Stories: visible for exactly their lifetime on every read path, and expired exactly once.

Reads filter on ``expires_at`` against the server clock, so a Story is shown while
``now < expires_at`` and never after, whatever DynamoDB's TTL (which deletes late) has done.
Expiry runs from two triggers, a one-time schedule at the exact time and the TTL stream as
defence in depth; a claim item per Story makes the second one a no-op.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pynamodb.exceptions import PutError, UpdateError
from pynamodb.expressions.update import Action

from aperture.core import clock
from aperture.core.aws import client
from aperture.core.cdn import media_paths, request_invalidation
from aperture.core.config import resource_name, settings
from aperture.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from aperture.core.identity import Caller
from aperture.core.ids import item_id
from aperture.core.messages import FANOUT_SLICE, StoryExpiry, TrayJob, TrayRemoval, send_all
from aperture.core.tables import condition_failed, ttl, write_batch
from aperture.feed.home import followed_authors, list_as_merged, merged_authors
from aperture.media.records import MEDIA_BUCKET, attach, find_media, get_media, is_cleared
from aperture.social.posts import FANOUT_QUEUE
from aperture.social.tables import Edge, User
from aperture.social.users import get_profile, is_large_account
from aperture.stories.closeness import closeness_to
from aperture.stories.closeness import record as record_interaction
from aperture.stories.tables import (
    ARCHIVE_PREFIX,
    CLAIM_PREFIX,
    HIGHLIGHT_PREFIX,
    ArchivedStory,
    ExpiryClaim,
    PinnedHighlight,
    Story,
    TrayRing,
)

CLAIM_DAYS = 7  # claims outlive any late TTL delete of their Story
TRAYS_INLINE = 100  # followers whose tray rings an expiry changes itself; more go out in slices
GROUP_THREADS = 16  # Stories of one expiry group expired at once (each waits on DynamoDB, not CPU)
EXPIRED_STORY_TAG = "aperture-expired-story"  # the media bucket's lifecycle rule deletes these


class NewStory(BaseModel):
    model_config = ConfigDict(extra="forbid")
    media_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")


def _public(item: dict[str, Any]) -> dict[str, Any]:
    keys = ("author_id", "story_id", "media_id", "created_at", "expires_at")
    return {key: item[key] for key in keys if key in item}


def post_story(caller: Caller, story: NewStory, request_key: str | None = None) -> dict[str, Any]:
    """A Story of the caller's ready media; its times come from the server's clock only. Each step
    may repeat: a retry with the same ``request_key`` finds the Story its first try saved."""
    media = get_media(story.media_id)
    if media["owner_id"] != caller.user_id:
        raise Forbidden("you can only post your own media")
    if media["state"] != "ready":
        raise Conflict(f"the media is {media['state']}, not ready")
    if not is_cleared(media):
        raise Conflict("the media has not passed moderation")
    now = clock.now()
    expires_at = now + settings().story_lifetime_seconds
    celebrity = is_large_account(get_profile(caller.user_id))
    saved = Story(
        caller.user_id,
        item_id("s", request_key),
        media_id=story.media_id,
        created_at=now,
        expires_at=expires_at,
        expires_at_epoch=ttl(expires_at),
        expiry_minute=int(expires_at // 60),
        tray_delivery="merge" if celebrity else "fanout",
    )
    try:
        saved.save(condition=Story.story_id.does_not_exist())
    except PutError as error:
        if request_key is None or not condition_failed(error):
            raise
        saved = Story.get(caller.user_id, saved.story_id, consistent_read=True)
        if saved.media_id != story.media_id:
            raise Unprocessable("this Idempotency-Key was used with a different request body") from error
    created = _public(saved.to_dict())
    attach(story.media_id, "story_ids", created["story_id"])  # now shown: viewers may read it (view_media)
    if saved.tray_delivery == "merge":  # a million tray rows per Story would be absurd: merged on read
        list_as_merged(caller.user_id, created["expires_at"])
    else:
        job = TrayJob(
            story_id=created["story_id"],
            author_id=caller.user_id,
            latest_story_at=created["created_at"],
            expires_at=created["expires_at"],
        )
        client("sqs").send_message(QueueUrl=resource_name(FANOUT_QUEUE), MessageBody=job.model_dump_json())
    return created


def followers_of(author_id: str) -> list[str]:
    return [edge.follower_id for edge in Edge.followers.query(author_id, attributes_to_get=["follower_id"])]


def add_to_tray(viewer_id: str, author_id: str, latest_story_at: float, expires_at: float) -> None:
    TrayRing(viewer_id, author_id).update(
        [TrayRing.latest_story_at.set(latest_story_at), TrayRing.expires_at.set(expires_at)]
    )


def live_stories(author_id: str, now: float | None = None) -> list[dict[str, Any]]:
    """The author's Stories with ``now < expires_at``, oldest first."""
    now = clock.now() if now is None else now
    found = Story.query(
        author_id,
        Story.story_id.startswith("s_"),
        filter_condition=Story.expires_at > now,
        consistent_read=True,
    )
    return sorted((_public(story.to_dict()) for story in found), key=lambda story: story["created_at"])


def tray(viewer_id: str, now: float | None = None) -> list[dict[str, Any]]:
    """Followed authors with a live Story, best first: rows fanned out to the viewer's tray, and
    the live Stories of followed celebrities, merged on read."""
    now = clock.now() if now is None else now
    rows = {ring.author_id: ring.to_dict() for ring in TrayRing.query(viewer_id, consistent_read=True)}
    rings = {author: row for author, row in rows.items() if row.get("expires_at", 0) > now}
    celebrities = merged_authors(now)
    for author_id in followed_authors(viewer_id) & celebrities if celebrities else ():
        live = live_stories(author_id, now)
        if live:
            seen = rows.get(author_id, {}).get("seen_through", 0)
            latest, expires = max(s["created_at"] for s in live), max(s["expires_at"] for s in live)
            rings[author_id] = {"latest_story_at": latest, "expires_at": expires, "seen_through": seen}
    closeness = closeness_to(viewer_id, rings, now)
    entries = []
    for author_id, ring in rings.items():
        unseen = ring["latest_story_at"] > ring.get("seen_through", 0)
        score = tray_score(unseen, ring["latest_story_at"], closeness.get(author_id, 0.0), now)
        entries.append(
            {
                "author_id": author_id,
                "latest_story_at": ring["latest_story_at"],
                "expires_at": ring["expires_at"],
                "unseen": unseen,
                "score": score,
            }
        )
    return sorted(entries, key=lambda entry: entry["score"], reverse=True)


def tray_score(unseen: bool, latest_story_at: float, closeness: float, now: float) -> float:
    """Unseen rings first; then recency (a 6-hour half-life) lifted by closeness in [0, 1]."""
    recency: float = 0.5 ** (max(0.0, now - latest_story_at) / 21_600)
    return (1.0 if unseen else 0.0) + 0.5 * recency + 0.25 * min(max(closeness, 0.0), 1.0)


def mark_seen(caller: Caller, author_id: str, story_id: str) -> dict[str, Any]:
    """The viewer saw ``story_id``: their ring for the author stays seen until a newer Story."""
    story = next((s for s in live_stories(author_id) if s["story_id"] == story_id), None)
    if story is None:
        raise NotFound(f"there is no live Story {story_id} by {author_id}")
    seen = story["created_at"]
    try:
        TrayRing(caller.user_id, author_id).update(  # creates the row for a merged author's ring
            [TrayRing.seen_through.set(seen)],
            condition=TrayRing.seen_through.does_not_exist() | (TrayRing.seen_through < seen),
        )
    except UpdateError as error:
        if not condition_failed(error):
            raise  # else already seen through a later Story
    else:
        record_interaction(caller.user_id, author_id)
    return {"author_id": author_id, "story_id": story_id, "seen": True}


def delete_story(caller: Caller, author_id: str, story_id: str) -> dict[str, Any]:
    """The author takes a live Story down before its time: gone from the table, then out of trays
    and off the CDN at once (the TTL stream sees the delete too; the claim makes it count once)."""
    if caller.user_id != author_id:
        raise Forbidden("you can only delete your own Stories")
    story = find_story(author_id, story_id) if story_id.startswith("s_") else None
    if story is None or story["expires_at"] <= clock.now():
        raise NotFound(f"there is no live Story {story_id} by {author_id}")
    Story(author_id, story_id).delete()
    withdraw(author_id, story_id, story)
    return {"author_id": author_id, "story_id": story_id, "deleted": True}


def claim_expiry(author_id: str, story_id: str) -> bool:
    """True exactly once per Story, whichever trigger asks first."""
    now = clock.now()
    claim = ExpiryClaim(
        author_id, CLAIM_PREFIX + story_id, claimed_at=now, expires_at_epoch=ttl(now + CLAIM_DAYS * 86_400)
    )
    try:
        claim.save(condition=ExpiryClaim.story_id.does_not_exist())
    except PutError as error:
        if condition_failed(error):
            return False
        raise
    return True


def refresh_trays(author_id: str, removed_until: float) -> dict[str, int]:
    """A Story that would have lasted until ``removed_until`` is gone (expired or deleted): drop
    the author from each follower's tray, or keep them for their Stories still live. A large
    audience goes to the fan-out queue in slices, as a post's does, so no expiry outlives its
    function's timeout."""
    remaining = live_stories(author_id)
    latest = max(remaining, key=lambda s: s["expires_at"]) if remaining else {}
    followers = followers_of(author_id)
    removals = [
        TrayRemoval(
            author_id=author_id,
            removed_until=removed_until,
            latest_story_at=latest.get("created_at"),
            latest_expires_at=latest.get("expires_at"),
            followers=followers[start : start + FANOUT_SLICE],
        )
        for start in range(0, len(followers), FANOUT_SLICE)
    ]
    if len(followers) > TRAYS_INLINE:
        send_all(FANOUT_QUEUE, removals)
        return {"trays_changed": 0, "tray_slices": len(removals)}
    return {"trays_changed": sum(remove_from_trays(removal) for removal in removals), "tray_slices": 0}


def remove_from_trays(removal: TrayRemoval) -> int:
    """One slice of a tray refresh; returns the rings changed.

    With no Story of the author left, the rings go in BatchWriteItem deletes of 25, which cannot be
    conditional: a Story posted meanwhile is found by reading the author's live Stories after the
    deletes, and its rings are put back. Otherwise each ring moves to the latest live Story unless
    a later one already moved it."""
    author_id = removal.author_id
    latest_story_at, latest_expires_at = removal.latest_story_at, removal.latest_expires_at
    if latest_story_at is None or latest_expires_at is None:
        write_batch(TrayRing, deletes=[TrayRing(viewer_id, author_id) for viewer_id in removal.followers])
        live = live_stories(author_id)
        if not live:
            return len(removal.followers)
        latest = max(live, key=lambda story: story["expires_at"])
        latest_story_at, latest_expires_at = latest["created_at"], latest["expires_at"]
        guard = TrayRing.expires_at.does_not_exist() | (TrayRing.expires_at <= latest_expires_at)
    else:
        guard = TrayRing.expires_at <= removal.removed_until
    actions: list[Action] = [
        TrayRing.expires_at.set(latest_expires_at),
        TrayRing.latest_story_at.set(latest_story_at),
    ]
    changed = 0
    for viewer_id in removal.followers:
        try:
            TrayRing(viewer_id, author_id).update(actions, condition=guard)
            changed += 1
        except UpdateError as error:
            if not condition_failed(error):
                raise
    return changed


def archive(story: dict[str, Any]) -> None:
    """Keep an expired Story for its author's highlights."""
    kept = {**_public(story), "story_id": ARCHIVE_PREFIX + story["story_id"], "archived_at": clock.now()}
    ArchivedStory(**kept).save()


def find_story(author_id: str, story_id: str) -> dict[str, Any] | None:
    try:
        return Story.get(author_id, story_id, consistent_read=True).to_dict()
    except Story.DoesNotExist:
        return None


def _claimed(author_id: str, story_id: str) -> bool:
    try:
        ExpiryClaim.get(author_id, CLAIM_PREFIX + story_id, consistent_read=True)
    except ExpiryClaim.DoesNotExist:
        return False
    return True


def expire(author_id: str, story_id: str, image: dict[str, Any] | None = None) -> dict[str, Any]:
    """Expire one Story now: trays, CDN, archive or media deletion, and the analytics record.

    Every step is idempotent and the claim is written last, so a trigger that fails half-way is
    retried in full, and a second trigger finds the claim and stops; two racing triggers may both
    do the steps, but only one wins the claim and reports the expiry. ``image`` is the Story as the
    TTL stream saw it, for when the item itself is already gone.
    """
    story = find_story(author_id, story_id) or image
    if story is None:
        return {"story_id": story_id, "outcome": "unknown"}
    if story["expires_at"] > clock.now():
        raise EarlyExpiry(f"{story_id} expires at {story['expires_at']}, not yet")
    return _end(story, "expired", archivable=True)


def expire_all(stories: list[StoryExpiry]) -> tuple[list[dict[str, Any]], BaseException | None]:
    """Expire a schedule's group of Stories side by side: the outcomes of those that finished, and
    the first failure, if any, for the caller to raise after reporting them (the message comes
    back, and the Stories done meanwhile find their claims)."""
    with ThreadPoolExecutor(max_workers=min(GROUP_THREADS, len(stories))) as pool:
        futures = [pool.submit(expire, story.author_id, story.story_id) for story in stories]
    failures = [error for future in futures if (error := future.exception()) is not None]
    outcomes = [future.result() for future in futures if future.exception() is None]
    return outcomes, (failures[0] if failures else None)


def withdraw(author_id: str, story_id: str, image: dict[str, Any]) -> dict[str, Any]:
    """The author deleted a Story: the expiry's steps at once, except that it is never archived.
    A Story that its author's account deletion removed is that job's: it clears every Story's
    traces at once, and a late stream record must not write a claim back after it."""
    if _account_deleted(author_id):
        return {"story_id": story_id, "outcome": "account deleted"}
    return _end(image | {"author_id": author_id, "story_id": story_id}, "deleted", archivable=False)


def _account_deleted(author_id: str) -> bool:
    """The author's account is gone, or its deletion is under way."""
    try:
        user = User.get(author_id, consistent_read=True, attributes_to_get=["user_id", "deletes_at"])
    except User.DoesNotExist:
        return True
    return user.deletes_at is not None and user.deletes_at <= clock.now()


def _end(story: dict[str, Any], outcome: str, archivable: bool) -> dict[str, Any]:
    """Run the steps, then claim: only the trigger that wins the claim reports the outcome."""
    author_id, story_id = story["author_id"], story["story_id"]
    if _claimed(author_id, story_id):
        return {"story_id": story_id, "outcome": "already expired"}
    done = _expire_now(story, kept=archivable and _keeps_archive(author_id))
    if not claim_expiry(author_id, story_id):
        return {"story_id": story_id, "outcome": "already expired"}
    return {"story_id": story_id, "author_id": author_id, "outcome": outcome, **done}


def _expire_now(story: dict[str, Any], kept: bool) -> dict[str, Any]:
    """The seed's expiry steps, run in parallel; ``kept``: archived for highlights, else the
    media's renditions are deleted."""
    author_id = story["author_id"]
    media = find_media(story["media_id"]) if story.get("media_id") else None
    paths = media_paths(media)
    with ThreadPoolExecutor(max_workers=3) as pool:
        # A merged author's Story has no tray rows to drop: trays merged it in on read.
        merged = story.get("tray_delivery") == "merge"
        trays = pool.submit(lambda: {} if merged else refresh_trays(author_id, story["expires_at"]))
        cdn = pool.submit(request_invalidation, paths)
        kept_or_deleted = pool.submit(
            lambda: archive(story) if kept else schedule_media_deletion(media) if media else None
        )
    cdn.result()
    kept_or_deleted.result()
    return {
        **trays.result(),
        "archived": kept,
        "cdn_paths": paths,
        "media_id": story.get("media_id"),
    }


def _keeps_archive(author_id: str) -> bool:
    try:
        return bool(get_profile(author_id).get("archive_stories", True))
    except NotFound:
        return False


def schedule_media_deletion(media: dict[str, Any]) -> None:
    """Tag the Story's renditions: the media bucket's lifecycle rule deletes them a day later."""
    for rendition in media.get("renditions", []):
        client("s3").put_object_tagging(
            Bucket=resource_name(MEDIA_BUCKET),
            Key=rendition["key"],
            Tagging={"TagSet": [{"Key": EXPIRED_STORY_TAG, "Value": "true"}]},
        )


class EarlyExpiry(Exception):
    """A trigger fired before the Story's time (schedules have whole-second resolution): retry."""


def due_within(now: float, seconds: float) -> list[dict[str, Any]]:
    """Stories expiring by ``now + seconds``, including any a missed tick left overdue."""
    return [
        story.to_dict()
        for minute in range(int(now // 60) - 1, int((now + seconds) // 60) + 1)
        for story in Story.by_expiry_minute.query(minute, Story.expires_at <= now + seconds)
    ]


class Highlight(BaseModel):
    model_config = ConfigDict(extra="forbid")
    story_ids: list[str] = Field(min_length=1, max_length=100)


def archived(author_id: str) -> dict[str, dict[str, Any]]:
    items: dict[str, dict[str, Any]] = {}
    for kept in ArchivedStory.query(author_id, ArchivedStory.story_id.startswith(ARCHIVE_PREFIX)):
        story = {**kept.to_dict(), "story_id": kept.story_id.removeprefix(ARCHIVE_PREFIX)}
        items[story["story_id"]] = _public(story)
    return items


def pin_highlight(caller: Caller, author_id: str, name: str, highlight: Highlight) -> dict[str, Any]:
    """Pin archived Stories to a named highlight on the author's profile (replacing its list)."""
    if caller.user_id != author_id:
        raise Forbidden("you can only change your own highlights")
    kept = archived(author_id)
    missing = [story_id for story_id in highlight.story_ids if story_id not in kept]
    if missing:
        raise NotFound(f"not in your archive: {', '.join(missing)}")
    pinned = PinnedHighlight(
        author_id, HIGHLIGHT_PREFIX + name, story_ids=highlight.story_ids, updated_at=clock.now()
    )
    pinned.save()
    return {"name": name, "stories": [kept[story_id] for story_id in highlight.story_ids]}


def highlights(author_id: str) -> list[dict[str, Any]]:
    """The author's highlights: archived Stories, which no expiry applies to."""
    kept = archived(author_id)
    found = PinnedHighlight.query(author_id, PinnedHighlight.story_id.startswith(HIGHLIGHT_PREFIX))
    return [
        {
            "name": pinned.story_id.removeprefix(HIGHLIGHT_PREFIX),
            "stories": [kept[story_id] for story_id in pinned.story_ids if story_id in kept],
        }
        for pinned in found
    ]
