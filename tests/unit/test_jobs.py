"""Permanent failures are consumed, transient ones retried, and neither disturbs the batch."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from aperture.core.jobs import PermanentError, consume, parse_job, time_left
from aperture.core.messages import MediaJob
from tests.conftest import load_event

logger, metrics = Logger(service="test"), Metrics(namespace="Test", service="test")


class Context:
    function_name = "test"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
    aws_request_id = str(uuid.uuid4())


def _event_with_bodies(*bodies: str) -> dict[str, Any]:
    template = load_event("image_processor/image_job.json")["Records"][0]
    return {"Records": [{**template, "messageId": f"m{i}", "body": body} for i, body in enumerate(bodies)]}


def test_only_transiently_failing_records_are_reported_for_retry() -> None:
    # Given a batch with a good job, a malformed one, a non-JSON one and one whose work fails
    good = load_event("image_processor/image_job.json")["Records"][0]["body"]
    flaky = json.dumps({**json.loads(good), "media_id": "m_flaky"})
    event = _event_with_bodies(good, '{"media_id": "m_1"}', "not json", flaky)
    handled: list[str] = []

    def act(record: SQSRecord) -> None:
        job = parse_job(record, MediaJob)
        if job.media_id == "m_flaky":
            raise ConnectionError("S3 timed out")
        handled.append(job.media_id)

    # When the batch is consumed
    response = consume(event, Context(), act, logger=logger, metrics=metrics)  # type: ignore[arg-type]

    # Then only the transient failure is retried; the malformed two are consumed for good
    assert response == {"batchItemFailures": [{"itemIdentifier": "m3"}]}
    assert handled == ["m_01JDQ7K8Z5"]


def test_a_malformed_job_says_which_fields_are_wrong() -> None:
    record = SQSRecord(_event_with_bodies('{"media_id": "../etc", "owner_id": "u1"}')["Records"][0])
    with pytest.raises(PermanentError, match=r"media_id: String should match .*bucket: Field required"):
        parse_job(record, MediaJob)


class TimedContext(Context):
    def get_remaining_time_in_millis(self) -> int:
        return 42_000


def test_each_record_knows_how_long_its_invocation_has_left() -> None:
    # Given a batch consumed by an invocation with 42 s left
    seen: list[float] = []
    event = _event_with_bodies(load_event("image_processor/image_job.json")["Records"][0]["body"])

    # When the record is acted on, then it sees those 42 s; outside an invocation time is unbounded
    consume(event, TimedContext(), lambda _: seen.append(time_left()), logger=logger, metrics=metrics)  # type: ignore[arg-type]
    assert 41 < seen[0] <= 42
    assert time_left() == float("inf")
