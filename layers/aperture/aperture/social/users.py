"""Users and their profiles. Usernames are unique: each is claimed by an item of its own."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from aperture.core import clock
from aperture.core.config import settings
from aperture.core.dynamo import cancellation_reasons, dynamodb, from_item, table, to_item, to_value
from aperture.core.errors import Conflict, Forbidden, NotFound
from aperture.core.identity import Caller

USERS = "USERS_TABLE"
USERNAME = r"^[a-z0-9._]{3,30}$"  # letters, digits, periods and underscores, as Instagram allows


def _claim_key(username: str) -> dict[str, Any]:
    return {"user_id": {"S": f"username#{username}"}}


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
    item = {
        "user_id": caller.user_id,
        **profile.model_dump(),
        "created_at": now,
        "updated_at": now,
        "follower_count": 0,
        "following_count": 0,
    }
    try:
        dynamodb().transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": table(USERS),
                        "Item": to_item(item),
                        "ConditionExpression": "attribute_not_exists(user_id)",
                    }
                },
                {
                    "Put": {
                        "TableName": table(USERS),
                        "Item": {**_claim_key(profile.username), "owner_id": {"S": caller.user_id}},
                        "ConditionExpression": "attribute_not_exists(user_id)",
                    }
                },
            ]
        )
    except dynamodb().exceptions.TransactionCanceledException as error:
        reasons = cancellation_reasons(error)
        if reasons[0] == "ConditionalCheckFailed":
            raise Conflict("you already have a profile") from error
        if reasons[1] == "ConditionalCheckFailed":
            raise Conflict(f"the username {profile.username} is taken") from error
        raise
    return item


def is_large_account(user: dict[str, Any]) -> bool:
    """At or above CelebrityFollowerThreshold: merged on read, and first in the priority queues."""
    return int(user.get("follower_count", 0)) >= settings().celebrity_follower_threshold


def get_profile(user_id: str) -> dict[str, Any]:
    found = dynamodb().get_item(TableName=table(USERS), Key={"user_id": {"S": user_id}}, ConsistentRead=True)
    if "Item" not in found or user_id.startswith("username#"):
        raise NotFound(f"there is no user {user_id}")
    return from_item(found["Item"])


def update_profile(caller: Caller, user_id: str, changes: ProfileChanges) -> dict[str, Any]:
    if caller.user_id != user_id:
        raise Forbidden("you can only change your own profile")
    current = get_profile(user_id)
    values = changes.model_dump(exclude_unset=True)
    values["updated_at"] = clock.now()
    names = {f"#{key}": key for key in values}
    update: dict[str, Any] = {
        "TableName": table(USERS),
        "Key": {"user_id": {"S": user_id}},
        "UpdateExpression": "SET " + ", ".join(f"#{key} = :{key}" for key in values),
        "ConditionExpression": "attribute_exists(user_id) AND #username = :old_username",
        "ExpressionAttributeNames": {**names, "#username": "username"},
        "ExpressionAttributeValues": {
            **{f":{key}": to_value(value) for key, value in values.items()},
            ":old_username": {"S": current["username"]},
        },
    }
    renamed = values.get("username", current["username"]) != current["username"]
    items: list[dict[str, Any]] = [{"Update": update}]
    if renamed:
        items += [
            {
                "Delete": {
                    "TableName": table(USERS),
                    "Key": _claim_key(current["username"]),
                    "ConditionExpression": "owner_id = :me",
                    "ExpressionAttributeValues": {":me": {"S": user_id}},
                }
            },
            {
                "Put": {
                    "TableName": table(USERS),
                    "Item": {**_claim_key(values["username"]), "owner_id": {"S": user_id}},
                    "ConditionExpression": "attribute_not_exists(user_id)",
                }
            },
        ]
    try:
        dynamodb().transact_write_items(TransactItems=items)
    except dynamodb().exceptions.TransactionCanceledException as error:
        reasons = cancellation_reasons(error)
        if renamed and reasons[2] == "ConditionalCheckFailed":
            raise Conflict(f"the username {values['username']} is taken") from error
        raise Conflict("the profile changed meanwhile: read it again and retry") from error
    return get_profile(user_id)
