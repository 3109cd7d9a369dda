"""The base of every table model: pynamodb, bound to its table at run time, not at import.

pynamodb fixes a model's table name and connection when the class is defined. Here each model
names, in a ``Meta`` of its own, the environment variable the template passes its table in
(``table_env``); each use reads it and sends through the process's one DynamoDB client
(``core.aws``), so the function's endpoint, retries and request counting apply, and a process that
starts one local stack after another follows each (``rebind``).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Self

from pynamodb.connection import Connection, TableConnection
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from aperture.core.aws import client, reset_clients
from aperture.core.config import resource_name
from aperture.core.errors import Conflict

CONDITION_FAILED = "ConditionalCheckFailed"


class TableModel(Model):
    """A model whose table is the one named by ``Meta.table_env`` in the environment, now."""

    @classmethod
    def _get_connection(cls) -> TableConnection:
        # pynamodb rebuilds the connection when the name differs from the one it was built for.
        cls.Meta.table_name = cls.physical_name()
        connection = super()._get_connection()
        connection.connection._client = client("dynamodb")
        return connection

    @classmethod
    def physical_name(cls) -> str:
        """The table's name in the current environment."""
        return resource_name(cls.Meta.table_env)  # type: ignore[attr-defined]

    def update_returning_old(self, actions: list[Action], condition: Condition | None = None) -> Self | None:
        """``update``, but answering the item as it was before (None if there was none): what a
        conditional change needs to know atomically. pynamodb's ``update`` returns it after."""
        hash_key, range_key = self._get_serialized_keys()
        data = self._get_connection().update_item(
            hash_key, range_key=range_key, actions=actions, condition=condition, return_values="ALL_OLD"
        )
        old = data.get("Attributes")
        return type(self).from_raw_data(old) if old else None

    def to_dict(self) -> dict[str, Any]:
        """The item as plain values (numbers as int or float, sets as lists), unset ones left out."""
        return self.to_simple_dict(force=True)


def write_batch(
    model: type[TableModel],
    puts: Sequence[TableModel] = (),
    deletes: Sequence[TableModel] = (),
    attempts: int = 6,
) -> int:
    """BatchWriteItem in chunks of 25, retrying unprocessed items with backoff; returns the requests.

    pynamodb's own ``batch_write`` retries unprocessed items at once and three times only, which a
    throttled table outlasts."""
    requests = [("put", item.serialize()) for item in puts] + [
        ("delete", item._get_keys()) for item in deletes
    ]
    calls = 0
    for start in range(0, len(requests), 25):
        pending = requests[start : start + 25]
        for attempt in range(attempts):
            calls += 1
            result = model._get_connection().batch_write_item(
                put_items=[item for kind, item in pending if kind == "put"],
                delete_items=[key for kind, key in pending if kind == "delete"],
            )
            unprocessed = (result or {}).get("UnprocessedItems", {}).get(model.physical_name(), [])
            pending = [
                ("put", request["PutRequest"]["Item"])
                if "PutRequest" in request
                else ("delete", request["DeleteRequest"]["Key"])
                for request in unprocessed
            ]
            if not pending:
                break
            time.sleep(min(0.05 * 2**attempt, 1.0))
        else:
            raise RuntimeError(f"{len(pending)} items still unprocessed after {attempts} attempts")
    return calls


def transaction() -> TransactWrite:
    """A TransactWrite through the shared client. DynamoDB sees its items grouped by kind:
    condition checks, deletes, puts, then updates; ``reasons`` follows that order."""
    connection = Connection()
    connection._client = client("dynamodb")
    return TransactWrite(connection=connection)


def commit(build: Callable[[TransactWrite], None], attempts: int = 50) -> list[str]:
    """Run the transaction ``build`` describes, again after each conflict with a concurrent one.

    Answers [] when it applied, or its per-item codes (``reasons``) when a condition failed."""
    for _ in range(attempts):
        try:
            with transaction() as write:
                build(write)
        except TransactWriteError as error:
            codes = reasons(error)
            if CONDITION_FAILED in codes:
                return codes
            time.sleep(random.uniform(0, 0.01))  # TransactionConflict: another writer of these items
            continue
        return []
    raise Conflict("too many concurrent changes to this item: retry")


def reasons(error: TransactWriteError) -> list[str]:
    """The per-item codes of a cancelled transaction ("None" for items that were fine); any other
    failure (throttling, say) is raised again, as a cancellation is the only kind to explain."""
    if error.cause_response_code != "TransactionCanceledException":
        raise error
    return [reason.code if reason else "None" for reason in error.cancellation_reasons]


def condition_failed(error: PynamoDBException) -> bool:
    """A single-item write whose condition did not hold (the other causes are real failures)."""
    return error.cause_response_code == "ConditionalCheckFailedException"


_forgetters: list[Callable[[], None]] = []


def forget_on_rebind(forget: Callable[[], None]) -> None:
    """Have ``forget`` run on ``rebind()``: a cache of what one stack holds (a model, copies of
    features) must not answer for the next stack in the same process."""
    _forgetters.append(forget)


def rebind() -> None:
    """Follow the environment to another stack: the next use of any model or cache reads it again."""
    reset_clients()
    for forget in _forgetters:
        forget()


def ttl(epoch_seconds: float) -> datetime:
    """A TTLAttribute's value: DynamoDB's TTL takes whole seconds, so round up (it deletes late)."""
    return datetime.fromtimestamp(math.ceil(epoch_seconds), tz=UTC)
