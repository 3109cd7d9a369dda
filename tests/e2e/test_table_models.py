"""The table models bind to their table when used: one process follows one stack after another."""

from __future__ import annotations

import pytest

from aperture.social.tables import User
from aperture_local.stack import LocalStack, use_endpoint


def _read(user_id: str) -> dict[str, object] | None:
    try:
        return User.get(user_id, consistent_read=True).to_dict()
    except User.DoesNotExist:
        return None


def test_two_stacks_in_one_process_each_keep_their_own_rows() -> None:
    with (
        LocalStack(stack_name="aperture-first", event_sources=False) as first,
        # A stage of its own: bucket names are per stage, and one account holds both stacks.
        LocalStack(
            stack_name="aperture-second", parameters={"Stage": "second"}, event_sources=False
        ) as second,
    ):
        assert first.environment["USERS_TABLE"] != second.environment["USERS_TABLE"]
        # Given a user written through the model while the process points at the second stack
        User("u_second", username="second", follower_count=0).save()
        # When the process points back at the first stack and writes another there
        use_endpoint(first.endpoint, first.environment)
        User("u_first", username="first", follower_count=0).save()
        # Then each stack holds only its own user
        assert _read("u_first") == {"user_id": "u_first", "username": "first", "follower_count": 0}
        assert _read("u_second") is None
        use_endpoint(second.endpoint, second.environment)
        assert _read("u_second") == {"user_id": "u_second", "username": "second", "follower_count": 0}
        assert _read("u_first") is None


def test_a_model_used_without_its_table_in_the_environment_says_which_variable_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("USERS_TABLE", raising=False)
    with pytest.raises(RuntimeError, match="USERS_TABLE is not set"):
        User.get("anyone")
