"""Identifiers: a type prefix, then time-ordered so they sort by creation, then randomness; or,
for a create that carries an Idempotency-Key, derived from the key, so every try names one item."""

from __future__ import annotations

import hashlib
import secrets

from aperture.core import clock

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32, as ULIDs use


def _base32(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, remainder = divmod(number, 32)
        digits.append(_ALPHABET[remainder])
    return "".join(reversed(digits))


def new_id(prefix: str) -> str:
    """``p_01JDQAB2C4...``: 10 characters of milliseconds, then 16 of randomness."""
    return f"{prefix}_{_base32(clock.now_ms(), 10)}{_base32(secrets.randbits(80), 16)}"


def item_id(prefix: str, request_key: str | None) -> str:
    """A new id, or, when the create has a request key (its scope, caller and Idempotency-Key), the
    one id that key always gives: a retry after a try that failed half-way finds what it wrote."""
    if request_key is None:
        return new_id(prefix)
    digest = int.from_bytes(hashlib.sha256(request_key.encode()).digest()[:17], "big") >> 6
    return f"{prefix}_{_base32(digest, 26)}"


def timed_id(prefix: str, at_ms: int, seed: str) -> str:
    """An id that sorts at ``at_ms`` and that ``seed`` always gives: a time-ordered row written
    again by a retry (a notification of a comment) lands on itself."""
    digest = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:10], "big")
    return f"{prefix}_{_base32(at_ms, 10)}{_base32(digest, 16)}"
