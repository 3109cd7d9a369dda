"""Where moto's server differs from AWS in ways Aperture depends on, made to behave as AWS does.

DynamoDB applies each write atomically and runs transactions serializably. moto's backend has
no locking, and a transaction that fails restores a snapshot of whole tables, which silently
undoes writes other threads made meanwhile (lost likes, lost follows). The local stack therefore
runs moto's DynamoDB writes one at a time.

That snapshot is also a deep copy of every table a transaction names, made before each one: with
ten thousand likes in the table, each like's transaction copied them all (an account's deletion
of 10,000 likes ran for hours and took 20 GB). Here a transaction's snapshot is the items it
names; a failed one puts those back, and its stream records are dropped, since the copy that
moto restores would also strand every shard iterator already open (the likes stream went silent
after the first duplicate like). In AWS a failed transaction changes nothing; so here.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable
from typing import Any

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table

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


def _touched(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> list[tuple[str, Any, Any]]:
    """Each item a transaction names, as it is now: (table, key, attributes or None)."""
    found = []
    for entry in transact_items:
        _, op = next(iter(entry.items()))
        table = backend.tables.get(op.get("TableName"))
        if table is None:
            continue
        key = op.get("Key")
        if key is None and "Item" in op:
            names = [table.hash_key_attr, *([table.range_key_attr] if table.range_key_attr else [])]
            key = {name: op["Item"][name] for name in names if name in op["Item"]}
        try:
            current = backend.get_item(op["TableName"], key)
        except Exception:  # a malformed key: the transaction itself refuses it, touching nothing
            continue
        found.append((op["TableName"], key, current.to_json()["Attributes"] if current else None))
    return found


class _TablesNotCopied:
    """moto's ``copy`` as its transactions see it here: a table is not copied (its snapshot is
    the items the transaction names, kept by ``_atomic``); anything else is, as before."""

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _atomic(transact: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(transact)
    def transact_write_items(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> Any:
        before = _touched(backend, transact_items)
        shards = [
            (table.stream_shard, len(table.stream_shard.items))
            for name, table in backend.tables.items()
            if name in {name for name, _, _ in before} and table.stream_shard is not None
        ]
        setattr(dynamodb_models, "copy", _TablesNotCopied)  # noqa: B010 (moto's module global)
        try:
            return transact(backend, transact_items)
        except Exception:
            for name, key, attributes in before:  # put back exactly what it wrote, nothing else
                if attributes is not None:
                    backend.put_item(name, attributes)
                elif backend.get_item(name, key) is not None:
                    backend.delete_item(name, key)
            for shard, length in shards:
                del shard.items[length:]  # its records, and the restoring writes', are undone
            raise
        finally:
            setattr(dynamodb_models, "copy", copy)  # noqa: B010

    return transact_write_items


def serialize_dynamodb_writes() -> None:
    """Idempotent: wraps each write of moto's DynamoDB backend in one process-wide lock, and keeps
    the stream shards of the tables a failed transaction restores."""
    for name in _WRITES:
        method = getattr(DynamoDBBackend, name)
        if not getattr(method, "__aperture_serialized__", False):
            if name == "transact_write_items":
                method = _atomic(method)
            setattr(DynamoDBBackend, name, _serialized(method))
