"""Identifiers: a type prefix, then time-ordered so they sort by creation, then randomness."""

from __future__ import annotations

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
