"""Builds an account's export: a zip of its data in the exports bucket, for a presigned GET.

A try that fails is retried by the queue (building again replaces the zip); when the last try
fails, a marker says so where the client looks, so no export stays pending for ever.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture.accounts.export import AccountExport, build_export, mark_failed
from aperture.core.jobs import MAX_ATTEMPTS, PermanentError, attempt, consume, parse_job
from aperture.core.observability import powertools

logger, tracer, metrics = powertools("account_exporter")


@tracer.capture_method
def on_export_asked(record: SQSRecord) -> None:
    job = parse_job(record, AccountExport)
    try:
        written = build_export(job)
    except PermanentError as error:  # the account is gone: there is nothing to export
        mark_failed(job, str(error))
        raise
    except Exception as error:
        if attempt(record) >= MAX_ATTEMPTS:
            mark_failed(job, f"the export failed {MAX_ATTEMPTS} times: {type(error).__name__}")
        raise
    logger.info("account exported", extra={"user_id": job.user_id, "export_id": job.export_id, **written})
    metrics.add_metric(name="ExportedMedia", unit=MetricUnit.Count, value=written.get("media", 0))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return consume(event, context, on_export_asked, logger=logger, metrics=metrics)
