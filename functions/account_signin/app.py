"""Cognito's post-authentication trigger: a user who signs in during their account's grace
period keeps the account. Cognito needs the event back; a failure here must not block the
sign-in, so it is logged and counted, never raised."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field, ValidationError

from aperture.accounts.deletion import cancel_deletion
from aperture.core.identity import USER_ID
from aperture.core.observability import powertools

logger, tracer, metrics = powertools("account_signin")


class _Attributes(BaseModel):
    sub: str = Field(pattern=USER_ID.pattern)


class _Request(BaseModel):
    userAttributes: _Attributes


class PostAuthentication(BaseModel):
    """What this trigger needs of Cognito's event: the user who signed in."""

    request: _Request


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: Any, context: LambdaContext) -> Any:
    try:
        user_id = PostAuthentication.model_validate(event).request.userAttributes.sub
    except ValidationError as error:
        logger.error("permanent failure: not a post-authentication event", extra={"problem": str(error)})
        metrics.add_metric(name="PermanentFailures", unit=MetricUnit.Count, value=1)
        return event
    try:
        cancelled = cancel_deletion(user_id)
    except Exception:
        logger.exception("the pending deletion could not be checked; the sign-in goes ahead")
        metrics.add_metric(name="CancelFailures", unit=MetricUnit.Count, value=1)
        return event
    if cancelled:
        logger.info("sign-in cancelled the account's deletion", extra={"user_id": user_id})
        metrics.add_metric(name="DeletionsCancelled", unit=MetricUnit.Count, value=1)
    return event
