"""Opaque cursors: a DynamoDB ``LastEvaluatedKey`` that clients pass back without reading it."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from aperture.core.errors import BadRequest

MAX_PAGE = 100
_NUMBER = re.compile(r"-?[0-9]{1,20}(\.[0-9]{1,20})?")
_LIMIT = re.compile(r"[0-9]{1,3}")  # ASCII only: str.isdigit() takes "²" and fullwidth digits


def encode_cursor(last_key: dict[str, Any] | None) -> str | None:
    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(last_key, sort_keys=True).encode()).decode().rstrip("=")


def decode_cursor(
    cursor: str | None,
    key_names: set[str],
    numeric: frozenset[str] = frozenset(),
    *,
    partition: dict[str, str] | None = None,
) -> dict[str, Any] | None:
    """The key a cursor stands for; a cursor that is not one of ours is a 400, never a 500.

    Key attributes named in ``numeric`` are numbers; the others are strings. ``partition`` is the
    query's partition key and value: DynamoDB refuses a start key from another partition (moto
    answers an empty page), so a cursor taken from another list is refused here."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError) as error:
        raise BadRequest("cursor is not valid") from error
    if not (isinstance(key, dict) and set(key) == key_names):
        raise BadRequest("cursor is not valid")
    if not all(_is_attribute(value, "N" if name in numeric else "S") for name, value in key.items()):
        raise BadRequest("cursor is not valid")
    if any(key[name] != {"S": value} for name, value in (partition or {}).items()):
        raise BadRequest("cursor is not valid for this list")
    return dict(key)


def _is_attribute(value: Any, kind: str) -> bool:
    if not (isinstance(value, dict) and set(value) == {kind} and isinstance(value[kind], str)):
        return False
    return kind == "S" or _NUMBER.fullmatch(value[kind]) is not None


def page_size(limit: str | None, default: int = 25) -> int:
    if limit is None:
        return default
    if not _LIMIT.fullmatch(limit) or not 1 <= int(limit) <= MAX_PAGE:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_PAGE}")
    return int(limit)
