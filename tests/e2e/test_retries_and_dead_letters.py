"""A failing record is retried and dead-lettered; the other records of its batch succeed once."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from aperture.core.aws import client
from aperture_local.stack import LocalStack
from tests.conftest import ROOT, eventually


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(ROOT / "tests/fixtures/flaky_stack/template.yaml", stack_name="flaky") as stack:
        yield stack


def _messages(queue_url: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = (
        client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    )
    return messages


def test_a_failing_message_lands_in_the_dlq_after_max_receive_count(stack: LocalStack) -> None:
    # Given a queue redriving after 2 receives, and one bad message among three
    sqs = client("sqs")
    entries = [
        {"Id": name, "MessageBody": json.dumps({"id": name, "fail": name == "bad"})}
        for name in ("a", "bad", "b")
    ]
    sqs.send_message_batch(QueueUrl=stack.physical_id("WorkQueue"), Entries=entries)

    # When the mapping has delivered everything it will
    dead = eventually(lambda: _messages(stack.physical_id("WorkDLQ")), timeout=20)

    # Then the bad message alone is dead-lettered, after exactly two attempts
    assert [json.loads(str(m["Body"]))["id"] for m in dead] == ["bad"]
    deliveries = Counter(
        json.loads(record["body"])["id"]
        for invocation in stack.log.of("flaky")
        for record in invocation.event["Records"]
        if record["eventSource"] == "aws:sqs"
    )
    assert deliveries == {"a": 1, "b": 1, "bad": 2}
    assert _messages(stack.physical_id("WorkQueue")) == []


def test_a_failing_stream_record_goes_to_the_on_failure_destination_after_its_retries(
    stack: LocalStack,
) -> None:
    # Given three changes, the last of which its consumer cannot process
    table = stack.physical_id("ChangesTable")
    for name in ("c1", "c2", "poison"):
        client("dynamodb").put_item(
            TableName=table, Item={"id": {"S": name}, "fail": {"BOOL": name == "poison"}}
        )

    # When the stream mapping has given up on it
    failures = eventually(lambda: _messages(stack.physical_id("StreamFailuresQueue")), timeout=20)

    # Then one failure record names the poison record's batch; the others were delivered once
    info = json.loads(str(failures[0]["Body"]))["DDBStreamBatchInfo"]
    assert (len(failures), info["batchSize"]) == (1, 1)
    deliveries = Counter(
        record["dynamodb"]["Keys"]["id"]["S"]
        for invocation in stack.log.of("flaky")
        for record in invocation.event["Records"]
        if record["eventSource"] == "aws:dynamodb"
    )
    assert deliveries == {"c1": 1, "c2": 1, "poison": 2}  # the first try and MaximumRetryAttempts: 1
