"""DynamoDB's request units, worked out from the items a request wrote or read.

moto answers no consumed capacity, so ``bench cost`` sizes each item as DynamoDB's pricing pages
say: attribute names plus values, a write unit per started KB, a read unit per started 4 KB
(strongly consistent; half that eventually consistent), twice either in a transaction.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any


def attribute_bytes(value: dict[str, Any]) -> int:
    """An attribute value's size as DynamoDB counts it (numbers: about a byte per two digits)."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return len(str(inner).lstrip("-").replace(".", "")) // 2 + 1
    if kind == "B":
        return len(inner)
    if kind in ("SS", "NS", "BS"):
        return sum(attribute_bytes({kind[0]: each}) for each in inner)
    if kind == "L":
        return 3 + sum(1 + attribute_bytes(each) for each in inner)
    if kind == "M":
        return 3 + item_bytes(inner) + len(inner)
    return 1  # BOOL, NULL


def item_bytes(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + attribute_bytes(value) for name, value in item.items())


def _write_kb(item: dict[str, Any] | None) -> int:
    return max(1, math.ceil(item_bytes(item or {}) / 1024))


@dataclass(frozen=True)
class Index:
    """A secondary index: the attributes of its key, and whether it copies the whole item."""

    keys: frozenset[str]
    projects_all: bool


_NAME = re.compile(r"#?[A-Za-z_][A-Za-z0-9_]*")


def _updated_names(body: dict[str, Any]) -> set[str]:
    """The attribute names an update expression writes or removes."""
    aliases = body.get("ExpressionAttributeNames", {})
    expression = body.get("UpdateExpression", "")
    return {aliases.get(token, token) for token in _NAME.findall(expression)}


def write_units(
    operation: str, params: dict[str, Any], indexes: dict[str, list[Index]] | None = None
) -> dict[str, float]:
    """Write request units: a unit per started KB written (an update: of the key and values
    written), twice that in a transaction; and the same again on each secondary index the write
    puts an entry in (a put holding the index's key, an update naming one of its key attributes).
    Deletes are charged on the table only: the deleted item is not known here."""
    units: dict[str, float] = defaultdict(float)
    for table, body, kind, factor in _writes(operation, params):
        written = (
            body.get("Item")
            if kind == "put"
            else {**body["Key"], **body.get("ExpressionAttributeValues", {})}
        )
        units[table] += factor * _write_kb(written if kind != "delete" else body["Key"])
        for index in (indexes or {}).get(table, []):
            if kind == "put" and index.keys <= set(body["Item"]):
                units[table] += factor * (_write_kb(body["Item"]) if index.projects_all else 1)
            elif kind == "update" and index.keys & _updated_names(body):
                units[table] += factor
    return units


def _writes(operation: str, params: dict[str, Any]) -> list[tuple[str, dict[str, Any], str, int]]:
    """Each item a write request writes: its table, its request body, put/update/delete, and the
    unit multiplier (2 in a transaction)."""
    if operation == "PutItem":
        return [(params["TableName"], params, "put", 1)]
    if operation in ("UpdateItem", "DeleteItem"):
        return [(params["TableName"], params, "update" if operation == "UpdateItem" else "delete", 1)]
    if operation == "BatchWriteItem":
        return [
            (
                table,
                request.get("PutRequest") or request["DeleteRequest"],
                "put" if "PutRequest" in request else "delete",
                1,
            )
            for table, requests in params["RequestItems"].items()
            for request in requests
        ]
    if operation == "TransactWriteItems":
        kinds = {"Put": "put", "Update": "update", "Delete": "delete"}
        return [
            (body["TableName"], body, kinds[kind], 2)
            for entry in params["TransactItems"]
            for kind, body in entry.items()
            if kind in kinds
        ]
    return []


def read_units(
    operation: str, table: str | None, parsed: dict[str, Any], consistent: bool
) -> dict[str, float]:
    """Read request units: a unit per started 4 KB (per item got; per page queried, summed over
    every item the page examined), half that when eventually consistent, twice it in a
    transaction. Items a filter dropped are sized like those it kept (or 100 bytes if none)."""
    units: dict[str, float] = defaultdict(float)
    factor = 1.0 if consistent else 0.5
    if operation == "GetItem" and table:
        units[table] += max(1, math.ceil(item_bytes(parsed.get("Item", {})) / 4096)) * factor
    elif operation in ("Query", "Scan") and table:
        items = parsed.get("Items", [])
        kept = sum(item_bytes(item) for item in items)
        examined = parsed.get("ScannedCount", len(items))
        size = kept * examined / len(items) if items else 100 * examined
        units[table] += max(1, math.ceil(size / 4096)) * factor
    elif operation == "BatchGetItem":
        for name, items in parsed.get("Responses", {}).items():
            for item in items:
                units[name] += max(1, math.ceil(item_bytes(item) / 4096)) * factor
    elif operation == "TransactGetItems":
        for response in parsed.get("Responses", []):
            # the response names no table: the request's first is charged (transactions here read one)
            units[table or "transactions"] += 2 * max(
                1, math.ceil(item_bytes(response.get("Item", {})) / 4096)
            )
    return units
