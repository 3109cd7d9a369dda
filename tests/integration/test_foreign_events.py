"""Events a function does not take (another source, a stray rule, a replay) are refused with a
logged reason and change nothing; none crashes, none is retried against a queue or a shard."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from aperture.core.aws import client
from aperture.explore.offline import LATEST
from aperture_local.sources import _filters, _passes
from aperture_local.stack import LocalStack
from aperture_local.template import Template
from tests.conftest import ROOT, load_event

# An EC2 state change that a mistaken EventBridge rule sends to a function (AWS's sample event).
EC2_STATE_CHANGE = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "123456789012",
    "time": "2026-11-29T12:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
    "detail": {"instance-id": "i-abcd1111", "state": "pending"},
}


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(event_sources=False) as stack:
        yield stack


def _logged_errors(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The permanent failures the functions logged, each with its structured fields."""
    errors = [{**vars(r), "message": r.getMessage()} for r in caplog.records if r.levelname == "ERROR"]
    return [error for error in errors if error["message"].startswith("permanent failure")]


@pytest.mark.parametrize(
    "function",
    ["feed_dormancy", "media_sweeper", "story_scheduler", "feature_batch", "explore_refresh", "counters"],
)
def test_a_scheduled_function_ignores_an_event_that_is_not_its_tick(
    stack: LocalStack, function: str, caplog: pytest.LogCaptureFixture
) -> None:
    response = stack.function(function).invoke(copy.deepcopy(EC2_STATE_CHANGE))
    assert response["ignored"] == "not a scheduled tick"
    [error] = _logged_errors(caplog)
    assert error["message"] == "permanent failure: not a scheduled tick, ignored"
    assert (error["source"], error["detail_type"]) == ("aws.ec2", "EC2 Instance State-change Notification")


def test_a_replayed_batch_tick_never_replaces_a_newer_model(stack: LocalStack) -> None:
    # Given a model published from a later tick than the sample's
    bucket = stack.environment["FEATURE_STORE_BUCKET"]
    pointer = {"version": "20261130T000000Z", "key": "explore/models/20261130T000000Z.npz", "built_at": 0}
    client("s3").put_object(Bucket=bucket, Key=LATEST, Body=json.dumps(pointer).encode())
    # When the older tick is delivered again
    report = stack.function("feature_batch").invoke(load_event("feature_batch/daily.json"))
    # Then nothing is built and the pointer is unchanged
    assert report["published"] is False
    assert report["reason"] == "model 20261130T000000Z is as new or newer"
    assert json.loads(client("s3").get_object(Bucket=bucket, Key=LATEST)["Body"].read()) == pointer


def test_the_router_refuses_a_raw_s3_notification_without_crashing(
    stack: LocalStack, caplog: pytest.LogCaptureFixture
) -> None:
    # Given the S3 notification itself, not wrapped in the SQS message the router takes
    raw = json.loads(load_event("media_router/s3_object_created.json")["Records"][0]["body"])
    # When the router gets it, then it consumes it, says why, and retries nothing
    assert stack.function("media_router").invoke(raw) == {"batchItemFailures": []}
    [error] = _logged_errors(caplog)
    assert error["reason"] == "a 'aws:s3' record where aws:sqs records are expected"


@pytest.mark.parametrize("event", [{}, {"Records": "x"}, {"Records": [1]}, []], ids=repr)
def test_a_queue_consumer_refuses_what_is_not_a_batch(stack: LocalStack, event: Any) -> None:
    assert stack.function("media_router").invoke(event) == {"batchItemFailures": []}


def test_the_counters_stream_consumer_refuses_sqs_records(
    stack: LocalStack, caplog: pytest.LogCaptureFixture
) -> None:
    sqs = load_event("media_router/s3_object_created.json")
    assert stack.function("counters").invoke(sqs) == {"batchItemFailures": []}
    [error] = _logged_errors(caplog)
    assert error["reason"] == "a 'aws:sqs' record where aws:dynamodb records are expected"


def test_a_removed_item_that_is_not_a_story_is_a_logged_permanent_failure(
    stack: LocalStack, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a REMOVE whose old image lacks a Story's times
    event = load_event("story_ttl_stream/ttl_remove.json")
    image = event["Records"][0]["dynamodb"]["OldImage"]
    del image["created_at"], image["expires_at"]
    # When the stream consumer gets it, then it is not retried (it would block the shard) and says why
    assert stack.function("story_ttl_stream").invoke(event) == {"batchItemFailures": []}
    [error] = _logged_errors(caplog)
    assert error["reason"] == "the removed item is not a Story: Field required"


def test_a_removed_item_that_is_not_a_post_is_a_logged_permanent_failure(
    stack: LocalStack, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a REMOVE on the posts stream whose old image is a Story's
    event = load_event("story_ttl_stream/user_delete.json")
    # When the purger gets it, then it is not retried and says why
    assert stack.function("post_purger").invoke(event) == {"batchItemFailures": []}
    [error] = _logged_errors(caplog)
    assert error["reason"] == "the removed item is not a post: Field required"


def test_the_stories_stream_delivers_only_removed_stories() -> None:
    # Given the template's filter on the Stories stream
    spec = next(s for s in Template(ROOT / "template.yaml").functions() if s.short_name == "story_ttl_stream")
    filters = _filters(spec.events[0].properties)
    story = load_event("story_ttl_stream/ttl_remove.json")["Records"][0]
    # Then a removed Story passes, and its expiry claim, its archive item and an insert do not
    assert _passes(filters, story)
    for other in ("expired#s_01JDQC0FFE", "archive#s_01JDQC0FFE"):
        claim = copy.deepcopy(story)
        claim["dynamodb"]["Keys"]["story_id"] = {"S": other}
        assert not _passes(filters, claim)
    assert not _passes(filters, {**story, "eventName": "INSERT"})
