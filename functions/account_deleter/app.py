"""Deletes an account when its grace period ends: everything it made, and its traces in others'.

One account a try (batch size 1): a try that runs short of time queues the rest and ends well; one
that fails is retried by the queue and finds only what is left, since every step repeats harmlessly.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture.accounts.deletion import AccountDeletion, delete_account
from aperture.core.jobs import consume, parse_job
from aperture.core.observability import powertools

logger, tracer, metrics = powertools("account_deleter")


@tracer.capture_method
def on_deletion_due(record: SQSRecord, context: LambdaContext) -> None:
    job = parse_job(record, AccountDeletion)
    outcome = delete_account(job.user_id, lambda: context.get_remaining_time_in_millis() / 1000)
    logger.info("account deletion", extra=outcome)
    metrics.add_metric(
        name=f"AccountDeletion_{outcome['outcome'].replace(' ', '_')}", unit=MetricUnit.Count, value=1
    )
    for counted in ("items", "objects"):
        metrics.add_metric(name=f"Removed_{counted}", unit=MetricUnit.Count, value=outcome.get(counted, 0))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return consume(event, context, partial(on_deletion_due, context=context), logger=logger, metrics=metrics)
