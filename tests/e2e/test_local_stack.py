"""The local stack wires every event source exactly as ``template.yaml`` declares it."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from aperture.core.aws import client
from aperture.core.clock import ManualClock, set_clock
from aperture.media.uploads import is_test_event, uploaded_objects
from aperture_local import wakeups
from aperture_local.server import ApiServer
from aperture_local.sources import RateSchedule
from aperture_local.stack import LocalStack
from tests.conftest import eventually

START = 1_795_000_000.0


@pytest.fixture(scope="module")
def clock() -> Iterator[ManualClock]:
    manual = ManualClock(start=START)
    previous = set_clock(manual)
    yield manual
    set_clock(previous)


@pytest.fixture(scope="module")
def stack(clock: ManualClock) -> Iterator[LocalStack]:
    with LocalStack() as stack:
        yield stack


def _queue_is_drained(queue_url: str) -> bool:
    attributes = client("sqs").get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return bool(
        attributes == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}
    )


def _uploads_routed(stack: LocalStack) -> list[str]:
    """The keys of the uploads the router was handed, read as the router reads them."""
    keys: list[str] = []
    for invocation in stack.log.of("media_router"):
        assert invocation.response == {"batchItemFailures": []}
        for record in invocation.event["Records"]:
            notification = json.loads(record["body"])
            if not is_test_event(notification):
                keys.extend(upload.key for upload in uploaded_objects(notification))
    return keys


def test_an_upload_reaches_the_router_exactly_once(stack: LocalStack) -> None:
    # Given the uploads bucket, which notifies the router's queue
    key = "uploads/u_tester/m_once/photo one.jpg"

    # When a client's upload lands in it
    client("s3").put_object(Bucket=stack.physical_id("UploadsBucket"), Key=key, Body=b"\xff\xd8\xff")

    # Then the router sees it, and once its queue is drained it has seen it exactly once
    eventually(lambda: key in _uploads_routed(stack))
    eventually(lambda: _queue_is_drained(stack.physical_id("UploadEventsQueue")))
    assert _uploads_routed(stack).count(key) == 1


def _story(author: str, story: str, expires_at_epoch: float) -> dict[str, Any]:
    return {
        "author_id": {"S": author},
        "story_id": {"S": story},
        "media_id": {"S": "m_ttl"},
        "created_at": {"N": str(expires_at_epoch - 86_400)},
        "expires_at": {"N": str(expires_at_epoch)},
        "expires_at_epoch": {"N": str(int(expires_at_epoch))},
        "expiry_minute": {"N": str(int(expires_at_epoch) // 60)},
    }


def _removals(stack: LocalStack) -> dict[str, dict[str, Any] | None]:
    """Story id -> the userIdentity its REMOVE record carried, as the stream consumer saw it."""
    return {
        record["dynamodb"]["Keys"]["story_id"]["S"]: record.get("userIdentity")
        for invocation in stack.log.of("story_ttl_stream")
        for record in invocation.event["Records"]
    }


def test_ttl_deletes_expired_items_and_marks_their_stream_records_as_the_service(
    stack: LocalStack, clock: ManualClock
) -> None:
    # Given an expired story, a live one, and one the author deletes themselves
    table = stack.physical_id("StoriesTable")
    dynamodb = client("dynamodb")
    now = clock.now()
    with stack.paused("ttl-emulator"):
        dynamodb.put_item(TableName=table, Item=_story("u_ttl", "s_expired", now - 1))
        dynamodb.put_item(TableName=table, Item=_story("u_ttl", "s_live", now + 3600))
        dynamodb.put_item(TableName=table, Item=_story("u_ttl", "s_deleted", now + 3600))

        # When the author deletes one, while the TTL emulator is paused
        dynamodb.delete_item(
            TableName=table, Key={"author_id": {"S": "u_ttl"}, "story_id": {"S": "s_deleted"}}
        )
        eventually(lambda: "s_deleted" in _removals(stack))
        time.sleep(0.6)  # longer than a sweep interval
        # Then nothing expired is deleted yet: reads must never rely on TTL's timing
        assert "s_expired" not in _removals(stack)

    # When the emulator runs again, then the expired story is deleted as the DynamoDB service,
    # and the user's delete stays the user's
    eventually(lambda: "s_expired" in _removals(stack))
    assert _removals(stack) == {
        "s_deleted": None,
        "s_expired": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
    }
    remaining = dynamodb.query(
        TableName=table,
        KeyConditionExpression="author_id = :a AND begins_with(story_id, :story)",
        ExpressionAttributeValues={":a": {"S": "u_ttl"}, ":story": {"S": "s_"}},
    )["Items"]
    assert [item["story_id"]["S"] for item in remaining] == ["s_live"]


def _expiries_seen(stack: LocalStack) -> list[str]:
    return [
        json.loads(record["body"])["story_id"]
        for invocation in stack.log.of("story_expirer")
        for record in invocation.event["Records"]
    ]


def test_a_one_time_schedule_fires_its_target_at_its_time_on_the_clock(
    stack: LocalStack, clock: ManualClock
) -> None:
    # Given a one-time schedule two minutes ahead, targeting the story expiry queue
    due = clock.now() + 120
    scheduler = client("scheduler")
    scheduler.create_schedule(
        Name="expire-s_scheduled",
        ScheduleExpression=f"at({datetime.fromtimestamp(due, UTC):%Y-%m-%dT%H:%M:%S})",
        FlexibleTimeWindow={"Mode": "OFF"},
        ActionAfterCompletion="DELETE",
        Target={
            "Arn": stack.environment["STORY_EXPIRY_QUEUE_ARN"],
            "RoleArn": stack.environment["SCHEDULER_ROLE_ARN"],
            "Input": json.dumps({"author_id": "u_sched", "story_id": "s_scheduled"}),
        },
    )

    # When the clock reaches one second before it
    clock.advance(119)
    time.sleep(0.6)  # several scheduler polls
    # Then it has not fired
    assert "s_scheduled" not in _expiries_seen(stack)

    # When the clock reaches its time
    clock.advance(1)

    # Then its target receives the input once and the schedule deletes itself
    eventually(lambda: "s_scheduled" in _expiries_seen(stack))
    names = [s["Name"] for s in scheduler.list_schedules()["Schedules"]]
    assert "expire-s_scheduled" not in names
    assert _expiries_seen(stack).count("s_scheduled") == 1


def test_the_rate_schedule_fires_once_a_minute_of_clock_time(stack: LocalStack, clock: ManualClock) -> None:
    # Given the story scheduler's rate(1 minute) rule, caught up with the clock, brought to its next tick
    rule = stack.worker("schedule:story_scheduler:EveryMinute")
    assert isinstance(rule, RateSchedule)
    eventually(lambda: clock.now() < rule.next_fire)
    tick = rule.next_fire
    clock.set(tick)
    eventually(lambda: _ticks_fired(stack, since=tick) == [_event_time(tick)])

    # When 59 seconds pass, then nothing more fires
    clock.advance(59)
    time.sleep(0.4)
    assert _ticks_fired(stack, since=tick) == [_event_time(tick)]

    # When the minute completes, then it fires once more with a scheduled event
    clock.advance(1)
    eventually(lambda: _ticks_fired(stack, since=tick) == [_event_time(tick), _event_time(tick + 60)])
    event = stack.log.of("story_scheduler")[-1].event
    assert event["detail-type"] == "Scheduled Event"
    assert event["resources"][0].endswith("rule/EveryMinute")


def _event_time(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ticks_fired(stack: LocalStack, since: float) -> list[str]:
    """The scheduled times of the story scheduler's invocations from ``since`` on.

    Read from the events rather than counted, so that a tick an earlier test left in flight
    cannot pass for one of this test's.
    """
    times = [invocation.event["time"] for invocation in stack.log.of("story_scheduler")]
    return sorted(t for t in times if t >= _event_time(since))


def test_the_api_is_served_over_http(stack: LocalStack, clock: ManualClock) -> None:
    server = ApiServer(stack.api_function(), port=0).start()
    try:
        with urllib.request.urlopen(f"{server.url}/health", timeout=5) as response:
            assert response.status == 200
            assert json.loads(response.read()) == {"status": "ok", "server_time": clock.now()}
        # And the document is browsable at /docs, with Swagger UI from its package
        with urllib.request.urlopen(f"{server.url}/docs", timeout=5) as response:
            page = response.read().decode()
            assert response.headers["Content-Type"] == "text/html; charset=utf-8"
            assert 'url: "/openapi.json"' in page
        assets = re.findall(r'(?:src|href)="(/docs/[^"]+)"', page)
        assert assets == ["/docs/swagger-ui.css", "/docs/swagger-ui-bundle.js"]
        for asset in assets:
            with urllib.request.urlopen(f"{server.url}{asset}", timeout=5) as response:
                assert response.status == 200
                assert len(response.read()) > 100_000
    finally:
        server.stop()


def test_moto_wakes_the_pollers_of_a_queue_sent_to_and_of_a_table_written_to(stack: LocalStack) -> None:
    # Given listeners on a queue and on a table's stream, as idle pollers wait on them
    queue_url, table = stack.environment["FANOUT_QUEUE_URL"], stack.environment["LIKES_TABLE"]
    queue_name = queue_url.rsplit("/", 1)[-1]
    sent, written, elsewhere = threading.Event(), threading.Event(), threading.Event()
    wakeups.listen(queue_name, sent)
    wakeups.listen(table, written)
    wakeups.listen("some-other-queue", elsewhere)
    with stack.worker(f"sqs:fanout:{queue_name}").paused():
        # When a message is sent to the queue and a like is written
        client("sqs").send_message(QueueUrl=queue_url, MessageBody="{}")
        item = {"post_id": {"S": "p_wake"}, "user_id": {"S": "u_wake"}, "liked_at": {"N": "1"}}
        client("dynamodb").put_item(TableName=stack.environment["LIKES_TABLE"], Item=item)
        # Then exactly their listeners are woken
        assert (sent.is_set(), written.is_set(), elsewhere.is_set()) == (True, True, False)
    for resource, event in ((queue_name, sent), (table, written), ("some-other-queue", elsewhere)):
        wakeups.forget(resource, event)
