"""Event sources: what Lambda's pollers, EventBridge and DynamoDB's TTL do in AWS, done here.

Each source is a worker thread that calls ``tick()`` again at once while it finds work; when it
finds none it waits ``interval`` seconds, doubling up to ``idle_interval`` while it stays idle, so
an idle stack costs little CPU. Queue and stream pollers that moto can wake (``wakeups``) sleep up
to ``WOKEN_IDLE_INTERVAL`` instead, unless work they failed may come back. Times come from the
domain's one clock.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from moto.events.models import EventPattern

from aperture.core import clock
from aperture.core.aws import client

from . import wakeups
from .runtime import FunctionError, FunctionKilled, LocalFunction

log = logging.getLogger("aperture_local")

TTL_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
AWS_TTL_IGNORES_OLDER_THAN = 5 * 365 * 86400  # AWS skips TTL values more than five years past
WOKEN_IDLE_INTERVAL = 3.2  # seconds, for a poller moto wakes when there is something new
RETURNING_SECONDS = 60.0  # how long failed work keeps a poller on its short idle interval


class Worker(threading.Thread):
    def __init__(self, name: str, interval: float, idle_interval: float | None = None) -> None:
        super().__init__(name=name, daemon=True)
        self.interval = interval
        self.idle_interval = max(interval, idle_interval or interval)
        self._stopped = threading.Event()
        self._wake = threading.Event()  # set by stop(), and by moto for the pollers it wakes
        self._turn = threading.Lock()  # held while ticking, so paused() waits out a tick under way

    def run(self) -> None:
        wait = self.interval
        while not self._stopped.is_set():
            self._wake.clear()
            try:
                with self._turn:
                    busy = self.tick()
            except Exception:  # a source keeps polling, as Lambda's pollers do
                log.exception("%s failed a poll", self.name)
                busy = False
            if busy:
                wait = self.interval
            else:
                self._wake.wait(wait)
                wait = min(wait * 2, self.longest_idle())

    def longest_idle(self) -> float:
        return self.idle_interval

    def tick(self) -> bool:
        """Do one round of work; True when there may be more right away."""
        raise NotImplementedError

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No tick runs inside the block: tests hold background work back with it."""
        with self._turn:
            yield


class WokenWorker(Worker):
    """A poller of one queue or stream that moto wakes when it has something new."""

    def __init__(self, name: str, resource: str, woken: bool) -> None:
        super().__init__(name, interval=0.05, idle_interval=0.8)
        self.resource = resource
        self.woken = woken
        self._returning_until = 0.0
        if woken:
            wakeups.listen(resource, self._wake)

    def expect_returns(self) -> None:
        """Work failed and will come back without a wake-up (a visibility timeout, a retry)."""
        self._returning_until = time.monotonic() + RETURNING_SECONDS

    def longest_idle(self) -> float:
        if self.woken and time.monotonic() >= self._returning_until:
            return WOKEN_IDLE_INTERVAL
        return self.idle_interval

    def stop(self) -> None:
        wakeups.forget(self.resource, self._wake)
        super().stop()


def _filters(properties: dict[str, Any]) -> list[EventPattern]:
    patterns = properties.get("FilterCriteria", {}).get("Filters", [])
    return [EventPattern(p["Pattern"], json.loads(p["Pattern"])) for p in patterns]


def _passes(filters: list[EventPattern], record: dict[str, Any]) -> bool:
    return not filters or any(f.matches_event(cast(Any, record)) for f in filters)


# ---------------------------------------------------------------------------------- SQS
class SqsMapping(WokenWorker):
    """An SQS event source mapping: receive, invoke, delete what succeeded.

    Failed records stay on the queue until their visibility timeout, then return; SQS itself
    moves a message to the DLQ after ``maxReceiveCount`` receives (the queue's redrive policy).
    """

    def __init__(
        self, function: LocalFunction, queue_arn: str, properties: dict[str, Any], *, woken: bool = False
    ) -> None:
        queue_name = queue_arn.rsplit(":", 1)[-1]
        super().__init__(f"sqs:{function.spec.short_name}:{queue_name}", queue_name, woken)
        self.function = function
        self.queue_arn = queue_arn
        self.queue_url = _queue_url(queue_arn)
        self.batch_size = int(properties.get("BatchSize", 10))
        # Batches above 10 gather for up to the batching window, as Lambda's poller does.
        self.window = float(properties.get("MaximumBatchingWindowInSeconds", 0))
        self.partial = "ReportBatchItemFailures" in properties.get("FunctionResponseTypes", [])
        self.filters = _filters(properties)

    def _receive(self, count: int) -> list[dict[str, Any]]:
        # Short polls: moto's long poll waits for a full batch, where AWS returns at the first message.
        messages: list[dict[str, Any]] = (
            client("sqs")
            .receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(count, 10),
                WaitTimeSeconds=0,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            .get("Messages", [])
        )
        return messages

    def _gather(self) -> list[dict[str, Any]]:
        messages = self._receive(self.batch_size)
        closes = time.monotonic() + self.window
        while messages and len(messages) < self.batch_size and time.monotonic() < closes:
            more = self._receive(self.batch_size - len(messages))
            messages += more
            if not more:
                self._stopped.wait(0.05)
        return messages

    def tick(self) -> bool:
        sqs = client("sqs")
        messages = self._gather()
        records = [self._record(message) for message in messages]
        batch = [record for record in records if _passes(self.filters, _filterable(record))]
        done = {r["messageId"] for r in records} - {r["messageId"] for r in batch}  # filtered out: dropped
        if batch:
            done |= self._invoke(batch)
        handles = {r["messageId"]: r["receiptHandle"] for r in records}
        for message_id in done:
            sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=handles[message_id])
        if len(done) < len(records):
            self.expect_returns()  # after their visibility timeout
        return bool(messages)

    def _invoke(self, batch: list[dict[str, Any]]) -> set[str]:
        """The ids of the records that succeeded."""
        ids = {record["messageId"] for record in batch}
        try:
            response = self.function.invoke({"Records": batch}, source=self.name)
        except FunctionKilled:
            self._return_after_timeout(batch)
            return set()
        except FunctionError:
            return set()
        self._deliver_again(batch)
        if not self.partial:
            return ids
        try:
            failed = {item["itemIdentifier"] for item in (response or {}).get("batchItemFailures", [])}
        except (AttributeError, KeyError, TypeError):
            return set()  # an unreadable response fails the whole batch, as in Lambda
        return set() if failed - ids else ids - failed

    def _return_after_timeout(self, batch: list[dict[str, Any]]) -> None:
        """A killed invocation's messages return after the queue's visibility timeout (scaled by the
        fault plan), since nothing ran to ask for less."""
        faults = self.function.faults
        scale = faults.plan.visibility_scale if faults else 1.0
        attributes = client("sqs").get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["VisibilityTimeout"]
        )
        seconds = max(1, round(int(attributes["Attributes"]["VisibilityTimeout"]) * scale))
        for record in batch:
            client("sqs").change_message_visibility(
                QueueUrl=self.queue_url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=seconds
            )

    def _deliver_again(self, batch: list[dict[str, Any]]) -> None:
        """SQS delivers at least once: an injected duplicate is the same record, invoked again."""
        faults = self.function.faults
        for record in batch:
            if faults and faults.duplicate(self.function.spec.short_name):
                # The original delivery stands; a duplicate's failure is its own.
                with contextlib.suppress(FunctionError):
                    self.function.invoke({"Records": [record]}, source=f"{self.name} (duplicate)")

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {
                name: {
                    "stringValue": value.get("StringValue"),
                    "binaryValue": value.get("BinaryValue"),
                    "stringListValues": [],
                    "binaryListValues": [],
                    "dataType": value["DataType"],
                }
                for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.queue_arn.split(":")[3],
        }


def _filterable(record: dict[str, Any]) -> dict[str, Any]:
    """Lambda matches SQS filters against the body parsed as JSON when it is JSON."""
    try:
        return {**record, "body": json.loads(record["body"])}
    except json.JSONDecodeError:
        return record


def _queue_url(queue_arn: str) -> str:
    _, _, _, _, account, name = queue_arn.split(":")
    return str(client("sqs").get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"])


# ---------------------------------------------------------------------------------- DynamoDB
class TtlDeletions:
    """Deletions made by the TTL emulator, so their stream records carry the service identity."""

    def __init__(self) -> None:
        self._pending: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    @staticmethod
    def _key(table: str, keys: dict[str, Any]) -> tuple[str, str]:
        return table, json.dumps(keys, sort_keys=True)

    def expect(self, table: str, keys: dict[str, Any]) -> None:
        with self._lock:
            self._pending[self._key(table, keys)] += 1

    def cancel(self, table: str, keys: dict[str, Any]) -> None:
        self.claim(table, keys)

    def claim(self, table: str, keys: dict[str, Any]) -> bool:
        """True (once) when the REMOVE of ``keys`` in ``table`` was the emulator's."""
        key = self._key(table, keys)
        with self._lock:
            if self._pending[key] <= 0:
                return False
            self._pending[key] -= 1
            return True


class TtlEmulator(Worker):
    """DynamoDB's TTL: deletes items whose TTL attribute (epoch seconds) has passed.

    AWS deletes late, sometimes days late; the read paths must not rely on it. ``paused()`` lets
    tests show that they do not.
    """

    def __init__(self, tables: dict[str, str], deletions: TtlDeletions, interval: float = 1.0) -> None:
        super().__init__("ttl-emulator", interval)
        self.tables = tables  # table name -> TTL attribute
        self.deletions = deletions
        self._key_names: dict[str, list[str]] = {}

    def tick(self) -> bool:
        self.sweep()
        return False

    def sweep(self) -> int:
        """Delete every expired item now; returns how many were deleted."""
        dynamodb = client("dynamodb")
        now = clock.now()
        deleted = 0
        for table, attribute in self.tables.items():
            if table not in self._key_names:
                schema = dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]
                self._key_names[table] = [key["AttributeName"] for key in schema]
            key_names = self._key_names[table]
            pages = dynamodb.get_paginator("scan").paginate(
                TableName=table,
                FilterExpression="#ttl <= :now AND #ttl >= :oldest",
                ExpressionAttributeNames={"#ttl": attribute},
                ExpressionAttributeValues={
                    # Whole seconds passed: rounding to the nearest deleted items up to 0.5 s early.
                    ":now": {"N": str(math.floor(now))},
                    ":oldest": {"N": str(int(now) - AWS_TTL_IGNORES_OLDER_THAN)},
                },
            )
            for page in pages:
                for item in page["Items"]:
                    keys = {name: item[name] for name in key_names}
                    self.deletions.expect(table, keys)
                    try:
                        dynamodb.delete_item(
                            TableName=table,
                            Key=keys,
                            ConditionExpression="#ttl = :seen",
                            ExpressionAttributeNames={"#ttl": attribute},
                            ExpressionAttributeValues={":seen": item[attribute]},
                        )
                    except dynamodb.exceptions.ConditionalCheckFailedException:
                        self.deletions.cancel(table, keys)  # changed or deleted meanwhile
                    else:
                        deleted += 1
        return deleted


class StreamMapping(WokenWorker):
    """A DynamoDB stream event source mapping, with filters, retries and an on-failure destination."""

    def __init__(
        self,
        function: LocalFunction,
        stream_arn: str,
        properties: dict[str, Any],
        deletions: TtlDeletions,
        on_failure_queue_arn: str | None,
        *,
        woken: bool = False,
    ) -> None:
        table = stream_arn.split(":table/", 1)[1].split("/", 1)[0]
        super().__init__(f"stream:{function.spec.short_name}", table, woken)
        self.function = function
        self.stream_arn = stream_arn
        self.table = table
        self.batch_size = int(properties.get("BatchSize", 100))
        self.max_retries = int(properties.get("MaximumRetryAttempts", -1))
        self.partial = "ReportBatchItemFailures" in properties.get("FunctionResponseTypes", [])
        self.filters = _filters(properties)
        self.deletions = deletions
        self.on_failure_queue_arn = on_failure_queue_arn
        self._iterators = self._open(properties.get("StartingPosition", "LATEST"))
        self._pending: list[dict[str, Any]] = []
        self._attempts = 0

    def _open(self, starting_position: str) -> dict[str, str]:
        streams = client("dynamodbstreams")
        shards = streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        return {
            shard["ShardId"]: streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard["ShardId"], ShardIteratorType=starting_position
            )["ShardIterator"]
            for shard in shards
        }

    def tick(self) -> bool:
        self._fetch()
        delivered_any = bool(self._pending)
        while self._pending:
            batch = self._pending[: self.batch_size]
            delivered = self._invoke(batch)
            if delivered == len(batch):
                self._attempts = 0
            else:
                self._attempts += 1
                if 0 <= self.max_retries < self._attempts:
                    self._give_up(batch[delivered:])
                    delivered, self._attempts = len(batch), 0
            self._pending = self._pending[delivered:]
            if self._attempts:
                self.expect_returns()
                return False  # retry after the interval
        return delivered_any

    def _fetch(self) -> None:
        streams = client("dynamodbstreams")
        for shard_id, iterator in list(self._iterators.items()):
            response = streams.get_records(ShardIterator=iterator, Limit=1000)
            for raw in response["Records"]:
                record = _jsonable({**raw, "eventSourceARN": self.stream_arn})
                if record["eventName"] == "REMOVE" and self.deletions.claim(
                    self.table, record["dynamodb"]["Keys"]
                ):
                    record["userIdentity"] = dict(TTL_IDENTITY)
                if _passes(self.filters, record):
                    self._pending.append(record)
            self._iterators[shard_id] = response["NextShardIterator"]

    def _invoke(self, batch: list[dict[str, Any]]) -> int:
        """How many records of the batch, from its start, were delivered."""
        try:
            response = self.function.invoke({"Records": batch}, source=self.name)
        except FunctionError:
            return 0
        if not self.partial:
            return len(batch)
        failures = [item.get("itemIdentifier") for item in (response or {}).get("batchItemFailures", [])]
        sequence_numbers = [record["dynamodb"]["SequenceNumber"] for record in batch]
        if not failures:
            return len(batch)
        if any(failure not in sequence_numbers for failure in failures):
            return 0
        return min(sequence_numbers.index(failure) for failure in failures)

    def _give_up(self, records: list[dict[str, Any]]) -> None:
        log.error("%s: discarding %d records after %d attempts", self.name, len(records), self._attempts)
        if not self.on_failure_queue_arn:
            return
        client("sqs").send_message(
            QueueUrl=_queue_url(self.on_failure_queue_arn),
            MessageBody=json.dumps(
                {
                    "requestContext": {
                        "requestId": str(uuid.uuid4()),
                        "functionArn": self.function.arn,
                        "condition": "RetryAttemptsExhausted",
                        "approximateInvokeCount": self._attempts,
                    },
                    "timestamp": datetime.now(UTC).isoformat(),
                    "DDBStreamBatchInfo": {
                        "shardId": next(iter(self._iterators), None),
                        "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
                        "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
                        "batchSize": len(records),
                        "streamArn": self.stream_arn,
                    },
                }
            ),
        )


def _jsonable(record: dict[str, Any]) -> dict[str, Any]:
    """The record as Lambda delivers it: JSON, with the creation time in epoch seconds."""
    created = record["dynamodb"].get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        record["dynamodb"] = {**record["dynamodb"], "ApproximateCreationDateTime": int(created.timestamp())}
    return dict(json.loads(json.dumps(record, default=str)))


# ---------------------------------------------------------------------------------- schedules
def rate_seconds(expression: str) -> int:
    match = _RATE.match(expression)
    if not match:
        raise ValueError(f"only rate() schedules are emulated locally, not {expression!r}")
    count, unit = int(match.group(1)), match.group(2).rstrip("s")
    return count * _UNIT_SECONDS[unit]


class RateSchedule(Worker):
    """An EventBridge rule ``rate(...)`` that invokes a function, ticking on the domain clock."""

    def __init__(self, function: LocalFunction, rule: str, expression: str) -> None:
        super().__init__(f"schedule:{function.spec.short_name}:{rule}", interval=0.1)
        self.function = function
        self.rule = rule
        self.period = rate_seconds(expression)
        self.next_fire = clock.now() + self.period

    def tick(self) -> bool:
        now = clock.now()
        if now < self.next_fire:
            return False
        fire_at = self.next_fire
        while self.next_fire <= now:  # a clock that jumped ahead fires once, as missed ticks are not replayed
            self.next_fire += self.period
        region = self.function.arn.split(":")[3]
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": self.function.arn.split(":")[4],
            "time": datetime.fromtimestamp(fire_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": region,
            "resources": [f"arn:aws:events:{region}:{self.function.arn.split(':')[4]}:rule/{self.rule}"],
            "detail": {},
        }
        try:
            self.function.invoke(event, source=self.name)
        except FunctionError:
            log.exception("%s: scheduled invocation failed", self.name)
        return False


class OneTimeSchedules(Worker):
    """EventBridge Scheduler's one-time ``at()`` schedules: moto stores them, this fires them."""

    def __init__(self, functions_by_arn: dict[str, LocalFunction], interval: float = 0.2) -> None:
        super().__init__("scheduler", interval, idle_interval=1.0)  # AWS fires within a minute
        self.functions_by_arn = functions_by_arn
        self._fired: set[tuple[str, str]] = set()
        self._known: dict[tuple[str, str], tuple[Any, dict[str, Any]]] = {}  # by (group, name)

    def tick(self) -> bool:
        scheduler = client("scheduler")
        now = clock.now()
        for page in scheduler.get_paginator("list_schedules").paginate(State="ENABLED"):
            for summary in page["Schedules"]:
                key = (summary.get("GroupName", "default"), summary["Name"])
                if key in self._fired:
                    continue
                version = summary.get("LastModificationDate")
                if key not in self._known or self._known[key][0] != version:  # fetch each version once
                    self._known[key] = (version, scheduler.get_schedule(GroupName=key[0], Name=key[1]))
                schedule = self._known[key][1]
                due = _at_seconds(schedule)
                if due is None or now < due:
                    continue
                self._deliver(schedule["Target"])
                if schedule.get("ActionAfterCompletion") == "DELETE":
                    scheduler.delete_schedule(GroupName=key[0], Name=key[1])
                    del self._known[key]
                else:
                    self._fired.add(key)
        return False

    def _deliver(self, target: dict[str, Any]) -> None:
        arn, payload = target["Arn"], target.get("Input", "{}")
        if arn.startswith("arn:aws:sqs:"):
            client("sqs").send_message(QueueUrl=_queue_url(arn), MessageBody=payload)
        elif arn in self.functions_by_arn:
            try:
                self.functions_by_arn[arn].invoke(json.loads(payload), source=self.name)
            except FunctionError:
                log.exception("scheduled invocation of %s failed", arn)
        else:
            log.error("schedule target %s is not emulated locally", arn)


def _at_seconds(schedule: dict[str, Any]) -> float | None:
    match = _AT.match(schedule["ScheduleExpression"])
    if not match:
        return None
    zone = ZoneInfo(schedule.get("ScheduleExpressionTimezone") or "UTC")
    return datetime.fromisoformat(match.group(1)).replace(tzinfo=zone).timestamp()
