"""Cognito's post-authentication trigger: a user who signs in during their account's grace
period keeps the account. Cognito needs the event back; a failure here must not block the
sign-in, so it is logged and counted, never raised."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture.accounts.deletion import cancel_deletion
from aperture.core.identity import USER_ID
from aperture.core.observability import powertools

logger, tracer, metrics = powertools("account_signin")


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    attributes = (event.get("request") or {}).get("userAttributes") or {} if isinstance(event, dict) else {}
    user_id = str(attributes.get("sub", ""))
    if not USER_ID.fullmatch(user_id):
        logger.error(
            "permanent failure: not a post-authentication event",
            extra={"trigger": event.get("triggerSource") if isinstance(event, dict) else None},
        )
        metrics.add_metric(name="PermanentFailures", unit=MetricUnit.Count, value=1)
        return event if isinstance(event, dict) else {}
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
