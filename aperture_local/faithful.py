"""Where moto's server differs from AWS in ways Aperture depends on, made to behave as AWS does.

DynamoDB applies each write atomically and runs transactions serializably. moto's backend has
no locking, and a transaction that fails restores a snapshot of whole tables, which silently
undoes writes other threads made meanwhile (lost likes, lost follows). The local stack therefore
runs moto's DynamoDB writes one at a time.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb.models import DynamoDBBackend

_WRITES = (
    "put_item",
    "update_item",
    "delete_item",
    "transact_write_items",
    "batch_write_item",
    "execute_statement",
    "execute_transaction",
    "batch_execute_statement",
)
_lock = threading.RLock()


def _serialized(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _lock:
            return method(*args, **kwargs)

    locked.__aperture_serialized__ = True  # type: ignore[attr-defined]
    return locked


def serialize_dynamodb_writes() -> None:
    """Idempotent: wraps each write of moto's DynamoDB backend in one process-wide lock."""
    for name in _WRITES:
        method = getattr(DynamoDBBackend, name)
        if not getattr(method, "__aperture_serialized__", False):
            setattr(DynamoDBBackend, name, _serialized(method))
