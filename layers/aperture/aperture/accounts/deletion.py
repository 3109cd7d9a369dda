"""Deleting an account: asked for through the API, run when a grace period ends unless the user
signs in first, by a job that any number of tries finishes.

Every step finds its work by key or index (never a table scan) and may repeat: a try that dies
part way (a timeout, a crash) is run again by the queue and finds only what is left, and a try
short of time hands the rest to a fresh one. What others see stays exact: a like taken back lowers
its post's count, a follow edge its other end's counts, a comment (with its replies) its post's.
The profile goes last: while it exists, the job is not done.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from pydantic import BaseModel, Field
from pynamodb.exceptions import DeleteError, UpdateError

from aperture.accounts import export
from aperture.core import clock
from aperture.core.aws import client
from aperture.core.cdn import request_invalidation
from aperture.core.config import resource_name, settings
from aperture.core.errors import Forbidden
from aperture.core.identity import USER_ID, Caller
from aperture.core.ratelimit import RateWindow
from aperture.core.schedules import deliver_at
from aperture.core.tables import TableModel, condition_failed, write_batch
from aperture.explore import safety
from aperture.explore.offline import erase_from_log
from aperture.explore.tables import Interaction, UserFeatureSet
from aperture.feed.home import FEED_WINDOW_SECONDS, feed_row
from aperture.feed.tables import FeedRow
from aperture.media.records import UPLOADS_BUCKET
from aperture.media.removal import delete_prefix, remove_renditions
from aperture.media.tables import Media
from aperture.social import comments, graph, likes
from aperture.social.posts import purge_deleted
from aperture.social.tables import Block, Comment, Edge, Like, Notification, Post, User, UsernameClaim
from aperture.social.users import get_profile
from aperture.stories.story import refresh_trays
from aperture.stories.tables import Story, TrayRing

DELETION_QUEUE = "ACCOUNT_DELETION_QUEUE_URL"
MARGIN_SECONDS = 60.0  # a try with less time left than this hands the rest on
WRITERS = 16  # transactions in flight at once: each moves one other post's or user's counter
Removed = Counter[str]


class AccountDeletion(BaseModel):
    """The deletion job's message: from the schedule at the grace period's end, or a continuation."""

    user_id: str = Field(pattern=USER_ID.pattern)


def request_deletion(caller: Caller, user_id: str) -> dict[str, Any]:
    """Schedule the caller's account for deletion when the grace period ends; asking again keeps
    the first date."""
    if caller.user_id != user_id:
        raise Forbidden("you can only delete your own account")
    get_profile(user_id)
    deletes_at = clock.now() + settings().account_deletion_grace_seconds
    user = User(user_id)
    try:
        user.update(
            [User.deletes_at.set(deletes_at), User.sign_in_name.set(caller.sign_in_name)],
            condition=User.user_id.exists() & User.deletes_at.does_not_exist(),
        )
    except UpdateError as error:
        if not condition_failed(error):
            raise
        deletes_at = User.get(user_id, consistent_read=True).deletes_at or deletes_at
    _schedule(user_id, deletes_at)
    return {"user_id": user_id, "deletes_at": deletes_at, "state": "scheduled"}


def _schedule_name(user_id: str) -> str:
    return f"delete-account-{user_id}"


def _schedule(user_id: str, at: float) -> None:
    message = AccountDeletion(user_id=user_id).model_dump_json()
    if at <= clock.now():
        client("sqs").send_message(QueueUrl=resource_name(DELETION_QUEUE), MessageBody=message)
    else:  # a second request meets the first one's schedule
        deliver_at(_schedule_name(user_id), int(at) + 1, "ACCOUNT_DELETION_QUEUE_ARN", message)


def cancel_deletion(user_id: str) -> bool:
    """The user signed in during the grace period: the account stays. False when no deletion was
    pending, or it is already under way."""
    try:
        User(user_id).update(
            [User.deletes_at.remove(), User.sign_in_name.remove()], condition=User.deletes_at > clock.now()
        )
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    scheduler = client("scheduler")
    with contextlib.suppress(scheduler.exceptions.ResourceNotFoundException):
        scheduler.delete_schedule(Name=_schedule_name(user_id))
    return True


# ------------------------------------------------------------------------------ the job
def delete_account(user_id: str, seconds_left: Callable[[], float]) -> dict[str, Any]:
    """Run the deletion's steps: "deleted", "continued" (time ran short: the rest is queued),
    "cancelled" (the user signed in), "not due" or "already deleted"."""
    try:
        user = User.get(user_id, consistent_read=True)
    except User.DoesNotExist:
        return {"user_id": user_id, "outcome": "already deleted"}
    if user.deletes_at is None:
        return {"user_id": user_id, "outcome": "cancelled"}
    if user.deletes_at > clock.now():
        return {"user_id": user_id, "outcome": "not due"}
    removed: Removed = Counter()
    for step in STEPS:
        if seconds_left() < MARGIN_SECONDS:
            _schedule(user_id, clock.now())
            return {"user_id": user_id, "outcome": "continued", **removed}
        removed += step(user_id)
    removed += _forget_identity(user)
    return {"user_id": user_id, "outcome": "deleted", **removed}


def _delete(model: type[TableModel], rows: Iterable[TableModel]) -> int:
    found = list(rows)
    write_batch(model, deletes=found)
    return len(found)


def _hide_from_explore(user_id: str) -> Removed:
    """Explore stops serving the posts at once, before they are gone (its next batch forgets them)."""
    safety.mark(
        (p.post_id for p in Post.by_author.query(user_id, attributes_to_get=["post_id"])), unsafe=True
    )
    return Counter()


def _feed_rows(user_id: str) -> Removed:
    """The user's own feed, and the rows fan-out gave everyone who ever followed them (only posts
    still inside the feed window have rows: older ones expired)."""
    own = _delete(FeedRow, FeedRow.query(user_id, attributes_to_get=["user_id", "feed_key"]))
    recent = Post.by_author.query(
        user_id,
        Post.created_at >= clock.now() - FEED_WINDOW_SECONDS,
        filter_condition=Post.delivery == "fanout",
    )
    posts = [p.to_dict() for p in recent]
    readers = [edge.follower_id for edge in Edge.by_followee.query(user_id)] if posts else []
    keys = [(reader, feed_row(reader, post).feed_key) for reader in readers for post in posts]
    return Counter(items=own + _delete(FeedRow, FeedRow.batch_get(keys)))


def _media(user_id: str) -> Removed:
    """Every media item they uploaded: its renditions (then the CDN), its original, its record."""
    records = list(Media.by_owner.query(user_id, attributes_to_get=["media_id", "owner_id", "created_at"]))
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        removed = pool.map(partial(remove_renditions, invalidate=False), [m.media_id for m in records])
        paths = [f"/{key}" for keys in removed for key in keys]
    request_invalidation(paths)  # a hundred paths a message, not a message a media item
    objects = len(paths) + len(delete_prefix(UPLOADS_BUCKET, f"uploads/{user_id}/"))
    return Counter(items=_delete(Media, records), objects=objects)


def _posts(user_id: str) -> Removed:
    """Each post, with what its purge takes: its likes and comments (its media went before)."""

    def purge(post: Post) -> int:
        post.delete()
        purged = purge_deleted(post.to_dict())
        return 1 + int(purged["likes_removed"]) + int(purged["comments_removed"])

    posts = list(Post.by_author.query(user_id))
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        return Counter(items=sum(pool.map(purge, posts)), posts=len(posts))


def _stories(user_id: str) -> Removed:
    """Every Story item (live, archived, claims, highlights), then their rings in others' trays,
    and the user's own tray."""
    items = list(Story.query(user_id, attributes_to_get=["author_id", "story_id", "expires_at"]))
    latest = max((s.expires_at for s in items if s.story_id.startswith("s_") and s.expires_at), default=0.0)
    removed = _delete(Story, items)
    if latest > clock.now():
        refresh_trays(user_id, latest)
    removed += _delete(TrayRing, TrayRing.query(user_id, attributes_to_get=["viewer_id", "author_id"]))
    return Counter(items=removed)


def _likes(user_id: str) -> Removed:
    """Each like taken back, its post's count moving (likes of different posts never conflict)."""
    given = [like.post_id for like in Like.by_liker.query(user_id)]
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        list(pool.map(lambda post_id: likes.withdraw(user_id, post_id), given))
    return Counter(items=len(given), likes=len(given))


def _comments(user_id: str) -> Removed:
    """Their comments (a comment's replies by others go with it), counts moving on each post."""
    found = [(c.post_id, c.comment_id) for c in Comment.by_commenter.query(user_id)]
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        outcomes = list(pool.map(lambda key: comments.remove_thread(*key), found))
    return Counter(items=outcomes.count("removed"))


def _follows(user_id: str) -> Removed:
    """Every edge from or to them, tombstones too, the other end's counts moving."""
    out = [
        (user_id, e.followee_id)
        for e in Edge.query(user_id, attributes_to_get=["follower_id", "followee_id"])
    ]
    into = [(e.follower_id, user_id) for e in Edge.by_followee.query(user_id)]
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        severed = sum(pool.map(lambda edge: graph.sever(*edge), out + into))
    return Counter(items=severed)


def _blocks(user_id: str) -> Removed:
    theirs = list(Block.query(user_id, attributes_to_get=["blocker_id", "blocked_id"]))
    of_them = [Block(b.blocker_id, b.blocked_id) for b in Block.by_blocked.query(user_id)]
    return Counter(items=_delete(Block, theirs + of_them))


def _notifications(user_id: str) -> Removed:
    """Theirs, and those telling others what they did."""
    theirs = list(Notification.query(user_id, attributes_to_get=["user_id", "notification_id"]))
    about = [Notification(n.user_id, n.notification_id) for n in Notification.by_actor.query(user_id)]
    return Counter(items=_delete(Notification, theirs + about))


def _explore(user_id: str) -> Removed:
    """Their features, their interactions, and their rows of the interaction log's objects."""
    features = list(UserFeatureSet.query(f"user#{user_id}", attributes_to_get=["entity_id", "feature_set"]))
    events = list(Interaction.query(user_id, attributes_to_get=["user_id", "event_id"]))
    removed = _delete(UserFeatureSet, features) + _delete(Interaction, events)
    return Counter(items=removed, objects=erase_from_log(user_id))


def _rate_windows(user_id: str) -> Removed:
    return Counter(items=_delete(RateWindow, RateWindow.query(user_id)))


def _exports(user_id: str) -> Removed:
    return Counter(objects=len(delete_prefix(export.EXPORTS_BUCKET, export.prefix(user_id))))


# In order: feed rows are found from posts and followers, trays from followers, so those go first.
STEPS: tuple[Callable[[str], Removed], ...] = (
    _hide_from_explore,
    _feed_rows,
    _stories,
    _media,
    _posts,
    _likes,
    _comments,
    _follows,
    _blocks,
    _notifications,
    _explore,
    _rate_windows,
    _exports,
)


def _forget_identity(user: User) -> Removed:
    """Last: the Cognito user, the username, then the profile, whose absence says "deleted"."""
    if user.sign_in_name:
        cognito = client("cognito-idp")
        with contextlib.suppress(cognito.exceptions.UserNotFoundException):
            cognito.admin_delete_user(UserPoolId=resource_name("USER_POOL_ID"), Username=user.sign_in_name)
    if user.username:
        try:
            UsernameClaim(UsernameClaim.key(user.username)).delete(
                condition=UsernameClaim.owner_id == user.user_id
            )
        except DeleteError as error:
            if not condition_failed(error):
                raise  # else an earlier try deleted it
    user.delete()
    return Counter(items=2 if user.username else 1)
