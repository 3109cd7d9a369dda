"""Idempotent creates: Powertools' idempotency utility on DynamoDB, keyed per caller and route.

The same key and body return the first response for 24 hours; the same key with another body is
refused (422); a request still running under the key is refused (409), so a double tap makes
one post.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from aperture.core.aws import client
from aperture.core.config import resource_name
from aperture.core.errors import BadRequest, Conflict, Unprocessable

IDEMPOTENCY = "IDEMPOTENCY_TABLE"
KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,128}$")
DAY = 86_400


def once(
    scope: str,
    user_id: str,
    key: str | None,
    body: dict[str, Any],
    create: Callable[[str | None], dict[str, Any]],
    *,
    lambda_context: Any = None,
) -> dict[str, Any]:
    """``create(request_key)``'s result, computed at most once per (scope, user, key).

    Powertools forgets a key whose request raised, so a retry runs ``create`` again: it names what
    it writes from ``request_key`` (``ids.item_id``) and so finds, and finishes, the first try's
    item instead of making a second one."""
    if key is None:
        return create(None)
    if not KEY.fullmatch(key):
        raise BadRequest("Idempotency-Key must be 8 to 128 letters, digits or . _ : -")
    config = IdempotencyConfig(
        event_key_jmespath="[scope, user, key]",
        payload_validation_jmespath="body",
        expires_after_seconds=DAY,
        raise_on_no_idempotency_key=True,
    )
    if lambda_context is not None and hasattr(lambda_context, "get_remaining_time_in_millis"):
        config.register_lambda_context(lambda_context)  # a crashed request frees its key at timeout
    store = DynamoDBPersistenceLayer(table_name=resource_name(IDEMPOTENCY), boto3_client=client("dynamodb"))

    @idempotent_function(data_keyword_argument="request", config=config, persistence_store=store)
    def run(request: dict[str, Any]) -> dict[str, Any]:
        return create(f"{scope}\x1f{user_id}\x1f{key}")

    try:
        response: dict[str, Any] = run(request={"scope": scope, "user": user_id, "key": key, "body": body})
    except IdempotencyValidationError as error:
        raise Unprocessable("this Idempotency-Key was used with a different request body") from error
    except IdempotencyAlreadyInProgressError as error:
        raise Conflict("a request with this Idempotency-Key is still in progress") from error
    return response
