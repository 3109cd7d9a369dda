"""How every queue consumer treats its messages.

A message is parsed into its job, then acted on. A failure is either *permanent* (the message
itself is wrong: it is recorded and consumed, never retried) or *transient* (anything else: the
record is reported as a batch item failure and its visibility set so it returns after 1 s, 5 s,
then 30 s, as the spec's retry policy says, and once more after 30 s; after ``maxReceiveCount``
receives SQS moves it to the queue's DLQ, whose alarm pages). The other records of the batch are
unaffected.

An attempt is a receive: SQS counts every one, including a receive the poller could not hand to a
function whose concurrency is capped, and a job Lambda killed (a timeout, out of memory), which
returns only after the queue's visibility timeout, since no Python ran to set a shorter one. Hence
one receive beyond the spec's three retries, as AWS advises (maxReceiveCount at least 5).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ValidationError

from aperture.core.aws import client

_EVENT_SOURCES = {EventType.SQS: "aws:sqs", EventType.DynamoDBStreams: "aws:dynamodb"}
RETRY_DELAYS = (1, 5, 30, 30)  # seconds before the 2nd, 3rd, 4th and 5th attempts
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1  # the queues' maxReceiveCount

Job = TypeVar("Job", bound=BaseModel)
Record = TypeVar("Record", SQSRecord, DynamoDBRecord)


class PermanentError(Exception):
    """Retrying cannot help: the input is malformed, unsupported or refers to nothing."""


_deadline: ContextVar[float | None] = ContextVar("deadline", default=None)


def time_left() -> float:
    """Seconds before Lambda stops the invocation handling this record (unbounded outside one)."""
    deadline = _deadline.get()
    return math.inf if deadline is None else deadline - time.monotonic()


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """What ``time_left`` answers within the block: the invocation's remaining time."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def parse_job(record: SQSRecord, model: type[Job]) -> Job:
    """The job a message carries, or a PermanentError that says what is wrong with it."""
    try:
        return model.model_validate_json(record.body)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in error.errors())
        raise PermanentError(f"malformed {model.__name__}: {problems}") from error


def consume(
    event: dict[str, Any],
    context: LambdaContext,
    act: Callable[[Record], None],
    *,
    logger: Logger,
    metrics: Metrics,
    source: EventType = EventType.SQS,
) -> PartialItemFailureResponse:
    """Run ``act`` on every record of an SQS or DynamoDB stream batch; report the ones to retry.

    An event that is not such a batch, or a record from another source (a raw S3 notification
    where SQS messages are expected), is refused as a permanent failure, logged with why."""
    expected = _EVENT_SOURCES[source]
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list) or not all(isinstance(record, dict) for record in records):
        logger.error("permanent failure: not a batch of records", extra={"expected": expected})
        metrics.add_metric(name="PermanentFailures", unit=MetricUnit.Count, value=1)
        return {"batchItemFailures": []}
    processor = BatchProcessor(event_type=source)  # one per call: it holds batch state

    def handle(record: Record, lambda_context: LambdaContext | None = None) -> None:
        record_id = record.get("messageId") or record.get("eventID")
        logger.set_correlation_id(record_id)
        remaining_ms = getattr(lambda_context, "get_remaining_time_in_millis", None)
        remaining = remaining_ms() / 1000 if remaining_ms else math.inf
        try:
            if record.get("eventSource") != expected:
                raise PermanentError(
                    f"a {record.get('eventSource')!r} record where {expected} records are expected"
                )
            with time_limit(remaining):
                act(record)
        except PermanentError as error:
            logger.error(
                "permanent failure: message consumed without retry",
                extra={"reason": str(error), "record_id": record_id},
            )
            metrics.add_metric(name="PermanentFailures", unit=MetricUnit.Count, value=1)
        except Exception:
            if isinstance(record, SQSRecord):
                _back_off(record, logger)
            metrics.add_metric(name="TransientFailures", unit=MetricUnit.Count, value=1)
            raise
        else:
            metrics.add_metric(name="JobsSucceeded", unit=MetricUnit.Count, value=1)

    return process_partial_response(event=event, record_handler=handle, processor=processor, context=context)


def attempt(record: SQSRecord) -> int:
    """Which delivery of its message this record is: 1 for the first."""
    return int(record.attributes.approximate_receive_count or 1)


def _back_off(record: SQSRecord, logger: Logger) -> None:
    delay = RETRY_DELAYS[min(attempt(record), len(RETRY_DELAYS)) - 1]
    try:
        client("sqs").change_message_visibility(
            QueueUrl=_queue_url(record.event_source_arn),
            ReceiptHandle=record.receipt_handle,
            VisibilityTimeout=delay,
        )
    except Exception:  # the queue's own visibility timeout still brings it back
        logger.warning("could not schedule the retry", extra={"delay": delay}, exc_info=True)


@cache
def _queue_url(queue_arn: str) -> str:
    *_, account, name = queue_arn.split(":")
    return str(client("sqs").get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"])


def body_json(record: SQSRecord) -> Any:
    """The message body as JSON, or a PermanentError when it is not JSON at all."""
    try:
        return json.loads(record.body)
    except json.JSONDecodeError as error:
        raise PermanentError(f"message body is not JSON: {error.msg}") from error
