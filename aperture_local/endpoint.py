"""An AWS-compatible endpoint someone already runs (LocalStack, a moto server): is it able to host us?

Before anything is provisioned, each service the stack uses answers one cheap read; a failure names
the service and the call, so a half-capable endpoint is refused with what it lacks.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError
from botocore.parsers import ResponseParserError

# The services the local stack provisions into or calls, each with one read it must answer.
REQUIRED: dict[str, str] = {
    "sts": "get_caller_identity",
    "cloudformation": "list_stacks",
    "dynamodb": "list_tables",
    "dynamodbstreams": "list_streams",
    "s3": "list_buckets",
    "sqs": "list_queues",
    "scheduler": "list_schedules",
    "cloudfront": "list_distributions",
}
_PROBE = Config(
    connect_timeout=3, read_timeout=10, retries={"max_attempts": 1}, account_id_endpoint_mode="disabled"
)


class EndpointError(RuntimeError):
    pass


def check(endpoint: str, region: str) -> str:
    """Checks every required service at ``endpoint``; returns the account id it reports."""
    answers: dict[str, Any] = {}
    failures = []
    for service, operation in REQUIRED.items():
        probe = boto3.session.Session().client(
            service, region_name=region, endpoint_url=endpoint, config=_PROBE
        )  # type: ignore[call-overload]
        try:
            answers[service] = getattr(probe, operation)()
        except EndpointConnectionError as error:
            raise EndpointError(f"nothing answers at {endpoint}: {error}") from error
        except (ClientError, BotoCoreError, ResponseParserError) as error:
            failures.append(f"{service} {operation}: {error}")
    if failures:
        raise EndpointError(f"{endpoint} lacks what the local stack needs:\n  " + "\n  ".join(failures))
    return str(answers["sts"]["Account"])
