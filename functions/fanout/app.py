"""Delivers a published post to feeds, or a new Story to trays (plans, then writes each slice), and
drops an expired Story's author from one slice of trays."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture.core.jobs import body_json, consume, parse_job
from aperture.core.messages import FanoutJob, TrayJob, TrayRemoval
from aperture.core.observability import powertools
from aperture.feed.fanout import fan_out

logger, tracer, metrics = powertools("fanout")


@tracer.capture_method
def deliver(record: SQSRecord) -> None:
    body = body_json(record)
    fields = body if isinstance(body, dict) else {}
    job: FanoutJob | TrayJob | TrayRemoval
    if "removed_until" in fields:
        job = parse_job(record, TrayRemoval)
    elif "story_id" in fields:
        job = parse_job(record, TrayJob)
    else:
        job = parse_job(record, FanoutJob)
    outcome = fan_out(job)
    if "delivered" in outcome:
        metrics.add_metric(name="FeedRowsWritten", unit=MetricUnit.Count, value=outcome["delivered"])
    logger.info("fan-out step done", extra=outcome)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return consume(event, context, deliver, logger=logger, metrics=metrics)
