"""Published AWS prices and default quotas the capacity model prices a deployment with.

us-east-1, on-demand list prices, no free tier and no negotiated discount. Each figure names the
page it was read from; all were read on 2026-12-01. A price that changes is changed here, once.
"""

from __future__ import annotations

from dataclasses import dataclass

READ_ON = "2026-12-01"


@dataclass(frozen=True)
class Tier:
    """A price per unit that holds up to ``up_to`` units a month (``None``: beyond every tier)."""

    up_to: float | None
    usd: float


def tiered(units: float, tiers: tuple[Tier, ...]) -> float:
    """The monthly price of ``units`` under volume tiers, each tier priced at its own rate."""
    total, below = 0.0, 0.0
    for tier in tiers:
        ceiling = units if tier.up_to is None else min(units, tier.up_to)
        if ceiling > below:
            total += (ceiling - below) * tier.usd
        if tier.up_to is None or units <= tier.up_to:
            break
        below = tier.up_to
    return total


# https://aws.amazon.com/lambda/pricing/ (x86, first 6 billion GB-seconds a month tier)
LAMBDA_GB_SECOND = 0.0000166667
LAMBDA_REQUEST = 0.20 / 1e6
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html: one vCPU at 1,769 MB
LAMBDA_MB_PER_VCPU = 1769
LAMBDA_MAX_VCPUS = 6

# https://aws.amazon.com/dynamodb/pricing/on-demand/ (after the November 2024 halving)
DYNAMODB_WRITE_REQUEST_UNIT = 0.625 / 1e6
DYNAMODB_READ_REQUEST_UNIT = 0.125 / 1e6
DYNAMODB_GB_MONTH = 0.25
# https://aws.amazon.com/dynamodb/pricing/provisioned/
DYNAMODB_WCU_HOUR = 0.00065
DYNAMODB_RCU_HOUR = 0.00013

# https://aws.amazon.com/sqs/pricing/ (standard queues; each 64 KB chunk of a request is a request)
SQS_REQUEST = 0.40 / 1e6

# https://aws.amazon.com/eventbridge/pricing/ (Scheduler: invocations after the free 14 million)
SCHEDULER_INVOCATION = 1.00 / 1e6

# https://aws.amazon.com/s3/pricing/ (S3 Standard)
S3_STORAGE_GB_MONTH = (Tier(50_000, 0.023), Tier(500_000, 0.022), Tier(None, 0.021))
S3_PUT = 0.005 / 1000
S3_GET = 0.0004 / 1000

# https://aws.amazon.com/cloudfront/pricing/ (United States, Mexico and Canada; GB a month)
CLOUDFRONT_EGRESS_GB = (
    Tier(10_000, 0.085),
    Tier(50_000, 0.080),
    Tier(150_000, 0.060),
    Tier(500_000, 0.040),
    Tier(1_024_000, 0.030),
    Tier(5_120_000, 0.025),
    Tier(None, 0.020),
)
CLOUDFRONT_HTTPS_REQUEST = 0.0100 / 10_000
CLOUDFRONT_INVALIDATION_PATH = (Tier(1_000, 0.0), Tier(None, 0.005))

# https://aws.amazon.com/api-gateway/pricing/ (REST APIs, requests a month)
API_GATEWAY_REQUEST = (
    Tier(333e6, 3.50 / 1e6),
    Tier(1e9, 2.80 / 1e6),
    Tier(20e9, 2.38 / 1e6),
    Tier(None, 1.51 / 1e6),
)

# https://aws.amazon.com/rekognition/pricing/ (Image, group 2 APIs: DetectModerationLabels)
REKOGNITION_IMAGE = (
    Tier(1e6, 0.001),
    Tier(5e6, 0.0008),
    Tier(35e6, 0.0006),
    Tier(None, 0.00025),
)


@dataclass(frozen=True)
class Quota:
    name: str
    limit: float
    unit: str
    adjustable: bool
    source: str


QUOTAS = {
    quota.name: quota
    for quota in (
        Quota(
            "lambda_concurrent_executions",
            1_000,
            "concurrent executions in the Region",
            True,
            "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html",
        ),
        Quota(
            "lambda_scaling_rate",
            1_000,
            "new execution environments per function every 10 s",
            False,
            "https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html",
        ),
        Quota(
            "lambda_timeout",
            900,
            "seconds per invocation",
            False,
            "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html",
        ),
        Quota(
            "dynamodb_table_write_throughput",
            40_000,
            "write request units per second per on-demand table",
            True,
            "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html",
        ),
        Quota(
            "dynamodb_table_read_throughput",
            40_000,
            "read request units per second per on-demand table",
            True,
            "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html",
        ),
        Quota(
            "dynamodb_partition_write_throughput",
            1_000,
            "write units per second per partition (one key's item collection)",
            False,
            "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html",
        ),
        Quota(
            "sqs_in_flight_messages",
            120_000,
            "in-flight messages per standard queue",
            False,
            "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html",
        ),
        Quota(
            "scheduler_create_schedule_rate",
            5_000,
            "CreateSchedule requests per second",
            True,
            "https://docs.aws.amazon.com/scheduler/latest/UserGuide/scheduler-quotas.html",
        ),
        Quota(
            "scheduler_invocation_rate",
            1_000,
            "schedule invocations per second",
            True,
            "https://docs.aws.amazon.com/scheduler/latest/UserGuide/scheduler-quotas.html",
        ),
        Quota(
            "cloudfront_invalidation_paths_in_progress",
            3_000,
            "explicit paths in progress per distribution",
            False,
            "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/InvalidationLimits.html",
        ),
        Quota(
            "api_gateway_requests",
            10_000,
            "requests per second per account in the Region (steady rate)",
            True,
            "https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html",
        ),
        # The page lists this per Region in a table its stored copy did not carry: 50 is the
        # us-east-1 default as remembered, to be checked in Service Quotas before relying on it.
        Quota(
            "rekognition_moderation_tps",
            50,
            "DetectModerationLabels transactions per second",
            True,
            "https://docs.aws.amazon.com/general/latest/gr/rekognition.html",
        ),
    )
}
