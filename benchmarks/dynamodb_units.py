"""DynamoDB's request units, worked out from the items a request wrote or read.

moto answers no consumed capacity, so ``bench cost`` sizes each item as DynamoDB's pricing pages
say: attribute names plus values, a write unit per started KB, a read unit per started 4 KB
(strongly consistent; half that eventually consistent), twice either in a transaction.
"""

from __future__ import annotations

import math
from collections import defaultdict
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


def write_units(operation: str, params: dict[str, Any]) -> dict[str, float]:
    """Write request units: a unit per started KB written (an update: of the key and values
    written), twice that in a transaction."""
    units: dict[str, float] = defaultdict(float)
    if operation == "PutItem":
        units[params["TableName"]] += _write_kb(params["Item"])
    elif operation in ("UpdateItem", "DeleteItem"):
        values = {**params["Key"], **params.get("ExpressionAttributeValues", {})}
        units[params["TableName"]] += _write_kb(values if operation == "UpdateItem" else params["Key"])
    elif operation == "BatchWriteItem":
        for table, requests in params["RequestItems"].items():
            for request in requests:
                written = request.get("PutRequest", {}).get("Item") or request["DeleteRequest"]["Key"]
                units[table] += _write_kb(written)
    elif operation == "TransactWriteItems":
        for entry in params["TransactItems"]:
            ((_, body),) = entry.items()
            written = body.get("Item") or {**body["Key"], **body.get("ExpressionAttributeValues", {})}
            units[body["TableName"]] += 2 * _write_kb(written)
    return units


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
