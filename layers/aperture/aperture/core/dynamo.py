"""DynamoDB items as plain Python values, and the tables the template passes by name."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from aperture.core.aws import client
from aperture.core.config import resource_name

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def dynamodb() -> Any:
    return client("dynamodb")


def table(env_var: str) -> str:
    """A table's physical name, read when used so one process can serve several stacks."""
    return resource_name(env_var)


def query_items(**query: Any) -> list[dict[str, Any]]:
    """Every item a query matches, across all its pages, as plain values."""
    pages = dynamodb().get_paginator("query").paginate(**query)
    return [from_item(item) for page in pages for item in page["Items"]]


def get_items(
    table_name: str, keys: list[dict[str, Any]], projection: str | None = None
) -> list[dict[str, Any]]:
    """The items that exist among ``keys``, as plain values: BatchGetItem in batches of 100,
    asking again for whatever DynamoDB left unprocessed."""
    found = []
    for start in range(0, len(keys), 100):
        batch: dict[str, Any] = {"Keys": keys[start : start + 100]}
        if projection:
            batch["ProjectionExpression"] = projection
        request: dict[str, Any] = {table_name: batch}
        while request:
            result = dynamodb().batch_get_item(RequestItems=request)
            found += [from_item(item) for item in result["Responses"].get(table_name, [])]
            request = result.get("UnprocessedKeys") or {}
    return found


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {
        key: _serializer.serialize(_decimals(value)) for key, value in values.items() if value is not None
    }


def to_value(value: Any) -> Any:
    return _serializer.serialize(_decimals(value))


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _plain(_deserializer.deserialize(value)) for key, value in item.items()}


def _decimals(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decimals(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [_plain(v) for v in value]
    return value


def cancellation_reasons(error: Exception) -> list[str]:
    """The per-item codes of a cancelled transaction ("None" for items that were fine)."""
    response = getattr(error, "response", {})
    return [reason.get("Code", "None") for reason in response.get("CancellationReasons", [])]
