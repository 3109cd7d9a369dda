"""Where moto's server differs from AWS in ways Aperture depends on, made to behave as AWS does.

DynamoDB applies each write atomically and runs transactions serializably. moto's backend has
no locking, and a transaction that fails restores a snapshot of whole tables, which silently
undoes writes other threads made meanwhile (lost likes, lost follows). The local stack therefore
runs moto's DynamoDB writes one at a time.

The snapshot a failed transaction restores also replaces the tables' stream shards with copies,
which strands every shard iterator already open: a stream consumer then sees nothing more from
that table (the likes stream went silent after the first duplicate like). In AWS a failed
transaction changes nothing and the stream goes on, so the original shards are put back.
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


def _keeping_streams(transact: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(transact)
    def transact_write_items(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> Any:
        names = {op.get("TableName") for item in transact_items for op in item.values()}
        shards = {
            name: (table.stream_shard, len(table.stream_shard.items))
            for name, table in backend.tables.items()
            if name in names and table.stream_shard is not None
        }
        try:
            return transact(backend, transact_items)
        finally:
            for name, (shard, length) in shards.items():
                restored = backend.tables.get(name)
                if restored is not None and restored.stream_shard is not shard:
                    del shard.items[length:]  # what the failed transaction wrote is undone
                    shard.table, restored.stream_shard = restored, shard

    return transact_write_items


def serialize_dynamodb_writes() -> None:
    """Idempotent: wraps each write of moto's DynamoDB backend in one process-wide lock, and keeps
    the stream shards of the tables a failed transaction restores."""
    for name in _WRITES:
        method = getattr(DynamoDBBackend, name)
        if not getattr(method, "__aperture_serialized__", False):
            if name == "transact_write_items":
                method = _keeping_streams(method)
            setattr(DynamoDBBackend, name, _serialized(method))
