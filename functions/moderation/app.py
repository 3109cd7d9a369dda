"""Checks finished media before it is published: blocklist by PDQ hash, then the classifier."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture.core.jobs import MAX_ATTEMPTS, PermanentError, attempt, consume, parse_job
from aperture.core.messages import ModerationJob
from aperture.core.observability import powertools
from aperture.moderation.checks import ClassifierUnavailable, hold_for_review, moderate

logger, tracer, metrics = powertools("moderation")


@tracer.capture_method
def check(record: SQSRecord) -> None:
    job = parse_job(record, ModerationJob)
    try:
        outcome = moderate(job.media_id)
    except ClassifierUnavailable:
        metrics.add_metric(name="ClassifierUnavailable", unit=MetricUnit.Count, value=1)
        raise  # held for review meanwhile; the queue retries after 1 s, 5 s, 30 s, 30 s
    except PermanentError:
        raise
    except Exception:
        if attempt(record) >= MAX_ATTEMPTS:  # its last try: a moderator decides instead
            hold_for_review(job.media_id, f"the automatic checks failed {MAX_ATTEMPTS} times")
        raise
    metrics.add_metric(name=f"Verdict_{outcome['verdict']}", unit=MetricUnit.Count, value=1)
    logger.info("moderation verdict", extra=outcome)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return consume(event, context, check, logger=logger, metrics=metrics)
