"""Account deletion: how long the job takes for a large account, and what it removes.

A world on the local stack (moto in this process, event sources off, so the job alone does the
work): one account with ``POSTS`` posts (each with a photo: two renditions and an original in the
buckets; the newest ``WINDOW_POSTS`` delivered to every follower's feed), ``LIKES`` likes given to
other authors' posts, ``COMMENTS`` comments on them, ``FOLLOWERS`` followers and as many followed,
and ``NOTIFICATIONS`` notifications. The job runs as Lambda would (900 s a try, continuing in a new
try when short of time) and every counter it moved is checked afterwards.

Yardstick: the same job with one transaction in flight at a time (``WRITERS`` = 1), on a tenth of
the account, beside Aperture's on that same tenth.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from aperture.accounts import deletion
from aperture.core import clock
from aperture.core.aws import client
from aperture.feed.home import feed_key
from aperture.social.tables import Post, User
from aperture_local.stack import LocalStack

from . import report
from .fanout import RequestCounter, _put, counting

POSTS, LIKES, COMMENTS, FOLLOWERS, NOTIFICATIONS = 1_000, 10_000, 500, 200, 1_000
WINDOW_POSTS = 20  # posts inside the feed window, delivered to every follower
OTHER_AUTHORS = 100
DAY = 86_400.0
SERVICES = ("dynamodb", "s3", "sqs", "scheduler", "cognito-idp")
PARALLEL_STEPS = {"_media", "_posts", "_likes", "_comments", "_follows"}  # WRITERS at a time
# An assumption, not a measurement (as in stories_expiry): DynamoDB, S3 and SQS answer in about 10 ms
AWS_REQUEST_MS = 10


def _world(stack: LocalStack, name: str, scale: float) -> dict[str, Any]:
    """Seed one account at ``scale`` of the full size; returns what to check afterwards."""
    env, now = stack.environment, clock.now()
    user = f"u_{name}"
    posts, likes, comments = int(POSTS * scale), int(LIKES * scale), int(COMMENTS * scale)
    followers, notifications = int(FOLLOWERS * scale), int(NOTIFICATIONS * scale)
    others = [f"u_{name}_o{i:03d}" for i in range(OTHER_AUTHORS)]
    fans = [f"u_{name}_f{i:04d}" for i in range(followers)]
    idols = [f"u_{name}_i{i:04d}" for i in range(followers)]
    users = [{"user_id": user, "username": name, "follower_count": followers, "following_count": followers}]
    users += [{"user_id": u, "follower_count": 0, "following_count": 1} for u in fans]
    users += [{"user_id": u, "follower_count": 1, "following_count": 0} for u in idols]
    own, media, objects, rows = [], [], [], []
    for i in range(posts):
        post_id, media_id, created = f"p_{name}_{i:05d}", f"m_{name}_{i:05d}", now - (posts - i) * DAY / 4
        own.append(
            {
                "post_id": post_id,
                "author_id": user,
                "media_id": media_id,
                "media_items": [{"media_id": media_id, "alt_text": ""}],
                "created_at": created,
                "state": "published",
                "like_count": 0,
                "comment_count": 0,
                "delivery": "fanout",
            }
        )
        media.append({"media_id": media_id, "owner_id": user, "state": "ready", "created_at": created})
        objects += [(env["MEDIA_BUCKET"], f"media/{media_id}/d/{size}.jpg") for size in ("display", "thumb")]
        objects.append((env["UPLOADS_BUCKET"], f"uploads/{user}/{media_id}/original"))
        if i >= posts - WINDOW_POSTS:
            rows += [
                {
                    "user_id": fan,
                    "feed_key": feed_key(created, post_id),
                    "post_id": post_id,
                    "author_id": user,
                }
                for fan in fans
            ]
    liked = [
        {
            "post_id": f"p_{name}_l{i:05d}",
            "author_id": others[i % OTHER_AUTHORS],
            "created_at": now - DAY,
            "state": "published",
            "like_count": 1,
            "comment_count": 1 if i < comments else 0,
        }
        for i in range(likes)
    ]
    like_rows = [{"post_id": p["post_id"], "user_id": user, "liked_at": now} for p in liked]
    comment_rows = [
        {
            "post_id": liked[i]["post_id"],
            "comment_id": f"c_{name}_{i:05d}",
            "author_id": user,
            "text": "nice",
            "created_at": now - i,
            "state": "shown",
            "reply_count": 0,
            "thread_id": liked[i]["post_id"],
        }
        for i in range(comments)
    ]
    edges = [
        {
            "follower_id": f,
            "followee_id": user,
            "following": True,
            "updated_at": 1,
            "active_followee_id": user,
        }
        for f in fans
    ]
    edges += [
        {"follower_id": user, "followee_id": i, "following": True, "updated_at": 1, "active_followee_id": i}
        for i in idols
    ]
    notes = [
        {
            "user_id": user,
            "notification_id": f"n_{name}_{i:05d}",
            "kind": "comment",
            "message": "hi",
            "created_at": now,
        }
        for i in range(notifications)
    ]
    users.append({"user_id": f"username#{name}", "owner_id": user})
    for table, items in (
        ("USERS_TABLE", users),
        ("POSTS_TABLE", own + liked),
        ("MEDIA_TABLE", media),
        ("LIKES_TABLE", like_rows),
        ("COMMENTS_TABLE", comment_rows),
        ("GRAPH_TABLE", edges),
        ("FEEDS_TABLE", rows),
        ("NOTIFICATIONS_TABLE", notes),
    ):
        _put(env[table], items)
    s3 = client("s3")
    for bucket, key in objects:
        s3.put_object(Bucket=bucket, Key=key, Body=b"\xff\xd8 a rendition")
    client("dynamodb").update_item(
        TableName=env["USERS_TABLE"],
        Key={"user_id": {"S": user}},
        UpdateExpression="SET deletes_at = :due",
        ExpressionAttributeValues={":due": {"N": str(now - 1)}},
    )
    return {
        "user_id": user,
        "posts": posts,
        "likes": likes,
        "liked": [p["post_id"] for p in liked],
        "fans": fans,
        "idols": idols,
    }


def _by_step(steps: Any, in_parallel: RequestCounter) -> tuple[Any, ...]:
    """The job's steps, those that run ``WRITERS`` writes at once counting their requests apart."""

    def counted(step: Any) -> Any:
        def run(user_id: str) -> deletion.Removed:
            with counting(in_parallel, SERVICES):
                return step(user_id)  # type: ignore[no-any-return]

        return run

    return tuple(counted(step) if step.__name__ in PARALLEL_STEPS else step for step in steps)


def _delete(world: dict[str, Any], design: str, writers: int) -> dict[str, Any]:
    counter, in_parallel, tries, removed = RequestCounter(), RequestCounter(), 0, Counter[str]()
    before = deletion.WRITERS, deletion.STEPS
    deletion.WRITERS, deletion.STEPS = writers, _by_step(deletion.STEPS, in_parallel)
    began = time.perf_counter()
    try:
        with counting(counter, SERVICES):
            while True:  # tries as the queue would make them, each with a Lambda's 900 s
                tries += 1
                deadline = time.perf_counter() + 900
                outcome = deletion.delete_account(
                    world["user_id"], lambda deadline=deadline: deadline - time.perf_counter()
                )
                removed += Counter({k: v for k, v in outcome.items() if isinstance(v, int)})
                if outcome["outcome"] != "continued":
                    break
    finally:
        deletion.WRITERS, deletion.STEPS = before
    seconds = time.perf_counter() - began
    assert outcome["outcome"] == "deleted", outcome
    _check_counters(world)
    requests = sum(counter.requests.values())
    parallel = sum(in_parallel.requests.values())  # also counted by ``counter``
    aws_seconds = (requests - parallel + parallel / writers) * AWS_REQUEST_MS / 1000
    return {
        "design": design,
        "posts": world["posts"],
        "likes_given": world["likes"],
        "items_removed": removed["items"],
        "objects_removed": removed["objects"],
        "seconds": round(seconds, 1),
        "tries": tries,
        "requests": requests,
        "requests_per_s_here": round(requests / seconds),
        "requests_in_parallel_steps": parallel,
        "seconds_aws_estimate": round(aws_seconds, 1),
        "by_operation": dict(counter.requests.most_common(8)),
    }


def _check_counters(world: dict[str, Any]) -> None:
    """Every post they liked is back to 0 likes, and every follow count they held is 0."""
    assert {p.like_count for p in Post.batch_get(world["liked"])} == {0}
    counts = {(u.follower_count, u.following_count) for u in User.batch_get(world["fans"] + world["idols"])}
    assert counts == {(0, 0)}, counts


def run() -> None:
    with LocalStack(event_sources=False) as stack:
        print("  world: the full account, and two tenths", flush=True)
        full = _world(stack, "full", 1.0)
        tenth_ours, tenth_theirs = _world(stack, "tenth_a", 0.1), _world(stack, "tenth_b", 0.1)
        print("  deleting: the yardstick (one transaction at a time), a tenth", flush=True)
        yardstick = _delete(tenth_theirs, "yardstick: one write in flight at a time", writers=1)
        print("  deleting: Aperture, a tenth", flush=True)
        small = _delete(tenth_ours, f"aperture: {deletion.WRITERS} writes in flight", deletion.WRITERS)
        print("  deleting: Aperture, the full account", flush=True)
        aperture = _delete(full, f"aperture: {deletion.WRITERS} writes in flight", deletion.WRITERS)
    rows = [aperture, small, yardstick]
    report.write(
        "account_deletion",
        f"One account with {POSTS:,} posts (each a photo: 3 objects), {LIKES:,} likes given,"
        f" {COMMENTS} comments, {FOLLOWERS} followers and followed, {NOTIFICATIONS:,} notifications,"
        f" deleted by the job against moto in this process: {aperture['items_removed']:,} items and"
        f" {aperture['objects_removed']:,} objects in {aperture['seconds']} s ({aperture['tries']} tries of"
        f" at most 900 s), every counter it moved exact afterwards. On a tenth of that account,"
        f" {small['seconds']} s against {yardstick['seconds']} s with one write in flight: no faster here,"
        f" where moto in one process applies every write in turn ({aperture['requests_per_s_here']}"
        f" requests/s). In AWS, at {AWS_REQUEST_MS} ms a request (assumed) and {deletion.WRITERS} writes"
        f" in flight in the steps that take {aperture['requests_in_parallel_steps']:,} of its"
        f" {aperture['requests']:,} requests, about {aperture['seconds_aws_estimate']} s, against"
        f" {round(aperture['requests'] * AWS_REQUEST_MS / 1000)} s one at a time. Each like given costs"
        f" one transaction, the largest share.",
        [{k: v for k, v in row.items() if k != "by_operation"} for row in rows],
        {
            "posts": POSTS,
            "likes": LIKES,
            "comments": COMMENTS,
            "followers": FOLLOWERS,
            "notifications": NOTIFICATIONS,
            "window_posts": WINDOW_POSTS,
            "aws_request_ms": AWS_REQUEST_MS,
            "requests_by_operation": {
                row["design"] + f" ({row['posts']} posts)": row["by_operation"] for row in rows
            },
        },
        headline={
            "posts": aperture["posts"],
            "likes_given": aperture["likes_given"],
            "items_removed": aperture["items_removed"],
            "objects_removed": aperture["objects_removed"],
            "seconds": aperture["seconds"],
            "seconds_aws_estimate": aperture["seconds_aws_estimate"],
        },
    )
