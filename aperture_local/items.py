"""DynamoDB items from plain values, for tests and benchmarks that seed or inspect a stack's tables
directly (the service itself goes through its pynamodb models)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    """An item in DynamoDB's JSON; floats become exact decimals, ``None`` values are left out."""
    return {
        key: _serializer.serialize(_decimals(value)) for key, value in values.items() if value is not None
    }


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}


def _decimals(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decimals(v) for v in value]
    return value
