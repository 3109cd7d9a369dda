"""Ids: time-ordered when new, and one id per request key when a create carries an Idempotency-Key."""

from __future__ import annotations

import re

from aperture.core.clock import ManualClock
from aperture.core.ids import item_id, new_id

SHAPE = re.compile(r"^p_[0-9A-HJKMNP-TV-Z]{26}$")  # Crockford's base32, as a ULID


def test_new_ids_sort_by_creation_time(manual_clock: ManualClock) -> None:
    first = new_id("p")
    manual_clock.advance(0.001)
    assert first < new_id("p")
    assert SHAPE.fullmatch(first)


def test_a_request_key_always_gives_the_same_id_and_another_key_another(manual_clock: ManualClock) -> None:
    key = "POST /posts\x1fu_alice\x1fk-123"
    first = item_id("p", key)
    manual_clock.advance(3600)
    assert item_id("p", key) == first
    assert item_id("p", key + "4") != first
    assert item_id("p", "POST /posts\x1fu_bob\x1fk-123") != first
    assert SHAPE.fullmatch(first)


def test_without_a_request_key_every_id_is_new() -> None:
    assert item_id("p", None) != item_id("p", None)
