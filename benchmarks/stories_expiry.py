"""Story expiry in bulk: AWS requests per expiry, and expiries per second per consumer.

A world on the local stack (a moto server in its own process, event sources off): ``AUTHORS`` authors with
``FOLLOWERS`` followers each and ``LARGE`` authors with ``LARGE_AUDIENCE``, every follower's tray
showing the author's one Story (with a two-rendition media record, kept in the archive), all
expiring over ``SPREAD`` seconds of one minute.

Aperture: one scheduler tick (schedules grouped by second, created in parallel); each schedule's
group handed to the expirer handler in turn, as one consumer meets them (its Stories expired side
by side); then the fan-out queue drained, where large audiences' tray slices went. Yardstick: the
design before, on a second copy of the world: one CreateSchedule per Story (counted as such: that
code is gone) and one Story per message, expired in turn with its trays changed inline.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from typing import Any

from pynamodb.exceptions import DeleteError

from aperture.core import clock
from aperture.core.aws import client
from aperture.core.clock import ManualClock
from aperture.core.messages import TrayRemoval
from aperture.core.tables import condition_failed
from aperture.stories import story as story_domain
from aperture.stories.expiry import schedule_expiries
from aperture.stories.story import expire
from aperture.stories.tables import TrayRing
from aperture_local.motoserver import moto_server_process
from aperture_local.stack import LocalStack

from . import report
from .fanout import RequestCounter, _drain, _put, _sqs_event, counting

AUTHORS, FOLLOWERS = 300, 10
LARGE, LARGE_AUDIENCE = 2, 2_500
SPREAD = 10  # seconds the Stories' expiries spread over
START = 1_790_000_000.0
SERVICES = ("dynamodb", "sqs", "scheduler", "s3")
RATE_PER_MINUTE = 350_000  # the seed's expiries a minute
# An assumption, not a measurement: DynamoDB answers in single-digit milliseconds, SQS in about ten
AWS_REQUEST_MS = 10


def _world(stack: LocalStack, prefix: str, expiring_at: float) -> list[dict[str, Any]]:
    env = stack.environment
    audiences = [(f"u_{prefix}_a{i:04d}", FOLLOWERS) for i in range(AUTHORS)]
    audiences += [(f"u_{prefix}_big{i}", LARGE_AUDIENCE) for i in range(LARGE)]
    users, edges, rings, stories, media = [], [], [], [], []
    for index, (author, audience) in enumerate(audiences):
        expires_at = expiring_at + (index % SPREAD) + 0.5
        story_id, media_id = f"s_{author}", f"m_{author}"
        users.append({"user_id": author, "follower_count": audience, "archive_stories": True})
        followers = [f"{author}_f{i:05d}" for i in range(audience)]
        edges += [
            {
                "follower_id": f,
                "followee_id": author,
                "following": True,
                "updated_at": 1,
                "active_followee_id": author,
            }
            for f in followers
        ]
        rings += [
            {
                "viewer_id": f,
                "author_id": author,
                "latest_story_at": expires_at - 86_400,
                "expires_at": expires_at,
            }
            for f in followers
        ]
        renditions = [{"key": f"media/{media_id}/d/{size}.jpg"} for size in ("display", "thumb")]
        media.append({"media_id": media_id, "owner_id": author, "state": "ready", "renditions": renditions})
        stories.append(
            {
                "author_id": author,
                "story_id": story_id,
                "media_id": media_id,
                "created_at": expires_at - 86_400,
                "expires_at": expires_at,
                "expiry_minute": int(expires_at // 60),
                "tray_delivery": "fanout",
                "expires_at_epoch": int(expires_at) + 60,
            }
        )
    for table, items in (
        ("USERS_TABLE", users),
        ("GRAPH_TABLE", edges),
        ("TRAYS_TABLE", rings),
        ("MEDIA_TABLE", media),
        ("STORIES_TABLE", stories),
    ):
        _put(env[table], items)
    return stories


def _groups(stack: LocalStack) -> list[dict[str, Any]]:
    """The SQS records the created schedules would deliver, earliest first (and then removed)."""
    scheduler = client("scheduler")
    names = sorted(
        listed["Name"]
        for page in scheduler.get_paginator("list_schedules").paginate(NamePrefix="expire-")
        for listed in page["Schedules"]
    )
    bodies = [scheduler.get_schedule(Name=name)["Target"]["Input"] for name in names]
    for name in names:
        scheduler.delete_schedule(Name=name)
    return [
        {"MessageId": name, "ReceiptHandle": name, "Body": body}
        for name, body in zip(names, bodies, strict=True)
    ]


def _aperture(stack: LocalStack, stories: list[dict[str, Any]], manual: ManualClock) -> dict[str, Any]:
    scheduling, expiring, slicing = RequestCounter(), RequestCounter(), RequestCounter()
    manual.set(min(story["expires_at"] for story in stories) - 30)
    with counting(scheduling, SERVICES):
        ticked = schedule_expiries(manual.now())
    manual.set(max(story["expires_at"] for story in stories) + 1)
    arn = stack.environment["STORY_EXPIRY_QUEUE_ARN"]
    began = time.perf_counter()
    for group in _groups(stack):
        with counting(expiring, SERVICES):
            response = stack.function("story_expirer").invoke(_sqs_event([group], arn))
        assert response == {"batchItemFailures": []}, response
    seconds = time.perf_counter() - began
    slices = _drain(stack, slicing, SERVICES)
    return _row(
        "aperture: grouped schedules, a group's Stories side by side, large trays in slices",
        stories,
        schedules=ticked["schedules"],
        counters=(scheduling, expiring, slicing),
        seconds=seconds,
        threads=story_domain.GROUP_THREADS,
        slices=slices,
    )


def _ring_by_ring(removal: TrayRemoval) -> int:
    """The tray step before: one conditional write per follower's ring."""
    guard = TrayRing.expires_at <= removal.removed_until
    for viewer_id in removal.followers:
        try:
            TrayRing(viewer_id, removal.author_id).delete(condition=guard)
        except DeleteError as error:
            if not condition_failed(error):
                raise
    return len(removal.followers)


def _one_at_a_time(stories: list[dict[str, Any]], manual: ManualClock) -> dict[str, Any]:
    expiring = RequestCounter()
    manual.set(max(story["expires_at"] for story in stories) + 1)
    before = story_domain.TRAYS_INLINE, story_domain.remove_from_trays
    story_domain.TRAYS_INLINE = math.inf  # type: ignore[assignment]  # every tray changed in the expiry
    story_domain.remove_from_trays = _ring_by_ring
    try:
        began = time.perf_counter()
        with counting(expiring, SERVICES):
            for story in stories:
                assert expire(story["author_id"], story["story_id"])["outcome"] == "expired"
        seconds = time.perf_counter() - began
    finally:
        story_domain.TRAYS_INLINE, story_domain.remove_from_trays = before
    scheduling = RequestCounter()
    scheduling.requests["scheduler.CreateSchedule"] = len(stories)  # one a Story (that code is gone)
    return _row(
        "yardstick: a schedule and a message per Story, expired in turn, a write per ring",
        stories,
        schedules=len(stories),
        counters=(scheduling, expiring, RequestCounter()),
        seconds=seconds,
        threads=1,
        slices=0,
    )


def _row(
    design: str,
    stories: list[dict[str, Any]],
    *,
    schedules: int,
    counters: tuple[RequestCounter, RequestCounter, RequestCounter],
    seconds: float,
    threads: int,
    slices: int,
) -> dict[str, Any]:
    scheduling, expiring, slicing = (sum(counter.requests.values()) for counter in counters)
    on_expirer = expiring / len(stories)
    return {
        "design": design,
        "stories": len(stories),
        "schedules": schedules,
        "requests_per_expiry": round((scheduling + expiring + slicing) / len(stories), 2),
        "expirer_requests_per_expiry": round(on_expirer, 2),
        "tray_slices": slices,
        "expiries_per_s_here": round(len(stories) / seconds, 1),
        "requests_per_s_here": round(expiring / seconds),
        "expiries_per_s_aws_estimate": round(threads * 1000 / (on_expirer * AWS_REQUEST_MS), 1),
        "requests": dict(sorted(sum((counter.requests for counter in counters), Counter()).items())),
    }


def run() -> None:
    manual = ManualClock(START)
    previous = clock.set_clock(manual)
    try:
        with moto_server_process() as endpoint, LocalStack(endpoint=endpoint, event_sources=False) as stack:
            print("  world: Aperture's copy", flush=True)
            ours = _world(stack, "new", START + 600)
            print("  world: the yardstick's copy", flush=True)
            theirs = _world(stack, "old", START + 1_200)
            print("  expiring: Aperture", flush=True)
            aperture = _aperture(stack, ours, manual)
            print("  expiring: yardstick", flush=True)
            yardstick = _one_at_a_time(theirs, manual)
    finally:
        clock.set_clock(previous)
    rate = RATE_PER_MINUTE / 60
    consumers = math.ceil(rate / aperture["expiries_per_s_aws_estimate"])
    before = math.ceil(rate / yardstick["expiries_per_s_aws_estimate"])
    path = report.write(
        "stories_expiry",
        f"{len(ours)} Stories ({AUTHORS} authors with {FOLLOWERS} followers, {LARGE} with {LARGE_AUDIENCE:,})"
        f" expiring over {SPREAD} s, against a moto server in its own process:"
        f" {aperture['requests_per_expiry']} AWS requests an expiry ({yardstick['requests_per_expiry']}"
        f" before), {aperture['schedules']} schedules for {len(ours)} Stories. One consumer expires"
        f" {aperture['expiries_per_s_here']}/s here ({yardstick['expiries_per_s_here']} before), bound by the"
        f" emulator, which served {aperture['requests_per_s_here']} requests/s; at {AWS_REQUEST_MS} ms a"
        f" request in AWS (assumed), one expirer would do {aperture['expiries_per_s_aws_estimate']}/s, so"
        f" {RATE_PER_MINUTE:,} a minute ({rate:,.0f}/s) need about {consumers} concurrent expirers"
        f" ({before} before), plus the fan-out consumers for large audiences' slices.",
        [{k: v for k, v in row.items() if k != "requests"} for row in (aperture, yardstick)],
        {
            "authors": AUTHORS,
            "followers": FOLLOWERS,
            "large_authors": LARGE,
            "large_audience": LARGE_AUDIENCE,
            "spread_s": SPREAD,
            "aws_request_ms": AWS_REQUEST_MS,
            "requests_by_operation": {"aperture": aperture["requests"], "yardstick": yardstick["requests"]},
        },
        headline={
            "requests_per_expiry": aperture["requests_per_expiry"],
            "expiries_per_s": aperture["expiries_per_s_here"],
            "expiries_per_s_aws_estimate": aperture["expiries_per_s_aws_estimate"],
            "consumers_for_350k_a_minute": consumers,
            "yardstick": {
                "requests_per_expiry": yardstick["requests_per_expiry"],
                "expiries_per_s": yardstick["expiries_per_s_here"],
                "expiries_per_s_aws_estimate": yardstick["expiries_per_s_aws_estimate"],
                "consumers_for_350k_a_minute": before,
            },
        },
    )
    print(path.read_text())
