"""30 Stories by 10 authors expire together on a sped-up clock: trays drop authors within 60 s, once each.

The local stack runs one consumer per queue; expiry throughput at scale is benchmarked (bench stories).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from aperture.core.aws import client
from aperture.core.clock import ScaledClock, get_clock, set_clock
from aperture.core.identity import DevIssuer
from aperture.core.ids import new_id
from aperture_local.items import to_item
from aperture_local.server import ApiServer
from aperture_local.stack import LocalStack
from tests.conftest import eventually
from tests.e2e.conftest import Client

pytestmark = pytest.mark.slow(seconds=40)

LIFETIME = 60  # seconds of clock time
APPROVED = {"verdict": "approved"}  # as the moderation function leaves media it passed
SPEED = 2  # the clock runs 2x the wall: a burst of 30 expiries on one local consumer keeps within 60 s
AUTHORS, STORIES_EACH = 10, 3


@pytest.fixture(scope="module")
def fast_stack() -> Iterator[tuple[LocalStack, Client, DevIssuer]]:
    previous = set_clock(ScaledClock(SPEED))
    try:
        with LocalStack(
            parameters={"StoryLifetimeSeconds": str(LIFETIME)}, stack_name="stories-scale"
        ) as stack:
            server = ApiServer(stack.api_function(), port=0).start()
            env = stack.environment
            issuer = DevIssuer(env["AUTH_DEV_SIGNING_KEY"], env["AUTH_ISSUER"], env["AUTH_AUDIENCE"])
            try:
                yield stack, Client(server.url), issuer
            finally:
                server.stop()
    finally:
        set_clock(previous)


def test_every_tray_drops_each_author_within_a_minute_of_their_last_story_and_expiry_runs_once(
    fast_stack: tuple[LocalStack, Client, DevIssuer],
) -> None:
    stack, api, issuer = fast_stack
    env, dynamodb = stack.environment, client("dynamodb")
    authors = [f"u_scale_a{i:02d}" for i in range(AUTHORS)]
    # Given 10 authors, each followed by the next two, each posting 3 Stories
    for user in authors:
        assert (
            api.call("POST", "/users", {"username": user.replace("u_", "")}, token=issuer.issue(user)).status
            == 201
        )
    for i, author in enumerate(authors):
        for follower in (authors[(i + 1) % AUTHORS], authors[(i + 2) % AUTHORS]):
            body = {"following": True, "client_timestamp": 1}
            assert (
                api.call(
                    "PUT", f"/users/{follower}/following/{author}", body, token=issuer.issue(follower)
                ).status
                == 200
            )

    def post(author: str) -> list[dict[str, Any]]:
        posted = []
        for _ in range(STORIES_EACH):
            media_id = new_id("m")
            dynamodb.put_item(
                TableName=env["MEDIA_TABLE"],
                Item=to_item(
                    {"media_id": media_id, "owner_id": author, "state": "ready", "moderation": APPROVED}
                ),
            )
            reply = api.call("POST", "/stories", {"media_id": media_id}, token=issuer.issue(author))
            assert reply.status == 201, reply
            posted.append(reply.body)
        return posted

    with ThreadPoolExecutor(max_workers=8) as pool:
        stories = [story for batch in pool.map(post, authors) for story in batch]
    last_expiry = {
        author: max(s["expires_at"] for s in stories if s["author_id"] == author) for author in authors
    }

    # When the clock runs past every expiry, watching when each tray entry, once seen, goes
    seen: set[tuple[str, str]] = set()
    dropped: dict[tuple[str, str], float] = {}
    pairs = {(authors[(i + k) % AUTHORS], author) for i, author in enumerate(authors) for k in (1, 2)}
    deadline = max(last_expiry.values()) + LIFETIME

    def watch() -> None:
        while len(dropped) < len(pairs) and get_clock().now() < deadline:
            now = get_clock().now()
            present = {
                (item["viewer_id"]["S"], item["author_id"]["S"])
                for page in dynamodb.get_paginator("scan").paginate(TableName=env["TRAYS_TABLE"])
                for item in page["Items"]
            }
            seen.update(present)
            for pair in (seen & pairs) - present - set(dropped):
                dropped[pair] = now
            time.sleep(0.2)

    watcher = threading.Thread(target=watch)
    watcher.start()
    watcher.join(timeout=LIFETIME * 3 / SPEED + 60)

    # Then every viewer's tray dropped every author within 60 s (clock time) of their last Story,
    # and not before it (a scan in flight may read the table a moment after it took the time)
    assert set(dropped) == pairs
    lateness = {pair: dropped[pair] - last_expiry[pair[1]] for pair in pairs}
    assert max(lateness.values()) <= 60, sorted(lateness.items(), key=lambda kv: -kv[1])[:5]
    assert min(lateness.values()) > -2 * SPEED, sorted(lateness.items(), key=lambda kv: kv[1])[:5]

    # And each Story's expiry ran exactly once, though the schedules and the TTL stream both fired
    def claims() -> int:
        return sum(
            page["Count"]
            for page in dynamodb.get_paginator("scan").paginate(
                TableName=env["STORIES_TABLE"],
                FilterExpression="begins_with(story_id, :c)",
                ExpressionAttributeValues={":c": {"S": "expired#"}},
                Select="COUNT",
            )
        )

    eventually(lambda: claims() == AUTHORS * STORIES_EACH, timeout=60)
    assert stack.log.of("story_expirer")
    assert stack.log.of("story_ttl_stream")
    time.sleep(2)
    assert claims() == AUTHORS * STORIES_EACH
