"""Users and their profiles. Usernames are unique: each is claimed by an item of its own."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pynamodb.exceptions import TransactWriteError

from aperture.core import clock
from aperture.core.config import settings
from aperture.core.errors import Conflict, Forbidden, NotFound
from aperture.core.identity import Caller
from aperture.core.tables import CONDITION_FAILED, reasons, transaction
from aperture.social.tables import User, UsernameClaim

USERNAME = r"^[a-z0-9._]{3,30}$"  # letters, digits, periods and underscores, as Instagram allows


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("username", mode="before", check_fields=False)
    @classmethod
    def _lowercase(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value


class NewProfile(_Body):
    username: str = Field(pattern=USERNAME)
    display_name: str = Field(default="", max_length=64)
    bio: str = Field(default="", max_length=300)
    archive_stories: bool = Field(default=True, description="keep expired Stories for highlights")


class ProfileChanges(_Body):
    username: str | None = Field(default=None, pattern=USERNAME)
    display_name: str | None = Field(default=None, max_length=64)
    bio: str | None = Field(default=None, max_length=300)
    archive_stories: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> ProfileChanges:
        if not self.model_fields_set:
            raise ValueError("name at least one of username, display_name, bio, archive_stories")
        return self


def create_profile(caller: Caller, profile: NewProfile) -> dict[str, Any]:
    now = clock.now()
    user = User(
        caller.user_id,
        **profile.model_dump(),
        created_at=now,
        updated_at=now,
        follower_count=0,
        following_count=0,
    )
    claim = UsernameClaim(UsernameClaim.key(profile.username), owner_id=caller.user_id)
    try:
        with transaction() as write:
            write.save(user, condition=User.user_id.does_not_exist())
            write.save(claim, condition=UsernameClaim.user_id.does_not_exist())
    except TransactWriteError as error:
        codes = reasons(error)
        if codes[0] == CONDITION_FAILED:
            raise Conflict("you already have a profile") from error
        if codes[1] == CONDITION_FAILED:
            raise Conflict(f"the username {profile.username} is taken") from error
        raise
    return user.to_dict()


PROFILE_FIELDS = (
    "user_id",
    "username",
    "display_name",
    "bio",
    "archive_stories",
    "follower_count",
    "following_count",
    "created_at",
    "updated_at",
)


def is_large_account(user: dict[str, Any]) -> bool:
    """At or above CelebrityFollowerThreshold: merged on read, and first in the priority queues."""
    return int(user.get("follower_count", 0)) >= settings().celebrity_follower_threshold


def get_profile(user_id: str) -> dict[str, Any]:
    return _user(user_id).to_dict()


def _user(user_id: str) -> User:
    """The user's profile fields only: the item also holds the service's own state (merge listing,
    the merged head of post keys, activity), which is nobody's to read."""
    try:
        if not user_id.startswith("username#"):
            return User.get(user_id, consistent_read=True, attributes_to_get=list(PROFILE_FIELDS))
    except User.DoesNotExist:
        pass
    raise NotFound(f"there is no user {user_id}")


def update_profile(caller: Caller, user_id: str, changes: ProfileChanges) -> dict[str, Any]:
    if caller.user_id != user_id:
        raise Forbidden("you can only change your own profile")
    current = _user(user_id)
    values = changes.model_dump(exclude_unset=True)
    values["updated_at"] = clock.now()
    actions = [getattr(User, name).set(value) for name, value in values.items()]
    renamed = values.get("username", current.username) != current.username
    try:
        with transaction() as write:  # DynamoDB sees: the old claim's delete, the new claim, the profile
            write.update(
                current,
                actions,
                condition=User.user_id.exists() & (User.username == current.username),
            )
            if renamed:
                old = UsernameClaim(UsernameClaim.key(current.username or ""))
                write.delete(old, condition=UsernameClaim.owner_id == user_id)
                new = UsernameClaim(UsernameClaim.key(values["username"]), owner_id=user_id)
                write.save(new, condition=UsernameClaim.user_id.does_not_exist())
    except TransactWriteError as error:
        if renamed and reasons(error)[1] == CONDITION_FAILED:
            raise Conflict(f"the username {values['username']} is taken") from error
        raise Conflict("the profile changed meanwhile: read it again and retry") from error
    return get_profile(user_id)
