"""The capacity model: measured unit costs x a workload x AWS's prices and quotas.

A unit cost (``ActionCost``) is what one action costs the deployment, as ``bench cost`` measured
it on the local stack: each function's invocations and CPU-seconds, the AWS requests made, the
DynamoDB request units, the bytes stored and delivered. A ``Workload`` says how many of each
action a day brings. ``estimate`` multiplies them out and prices the result; nothing here measures.

A function's billed duration is its CPU time spread over the threads it keeps busy (at most the
vCPUs its memory buys) plus the time it waits on AWS (requests x ``request_latency_s``); its
concurrency is Little's law on that duration. Peak is the day's average times ``peak_factor``.
Each service's bill is priced on the month's total (volume tiers apply to the total) and shared
among the actions by the units each used.
"""

from __future__ import annotations

import math
import operator
from collections import defaultdict
from dataclasses import dataclass, field, replace
from functools import reduce
from typing import Any

from . import aws_prices as prices

DAY = 86_400
REFRESHES_PER_DAY = DAY / 600  # explore_refresh runs every ten minutes
MONTH_DAYS = 30.4375
GB = 1e9
FEED_PAGE_POSTS = 25
SLICE_FOLLOWERS = 1_000  # followers one fan-out slice delivers (feed.fanout's slice size)
INVALIDATION_SECONDS = 60.0  # how long a path stays in progress (assumed: CloudFront publishes none)
LIKES_PER_COUNTER_WRITE = 100  # the counters function folds a stream batch into one write per post


@dataclass(frozen=True)
class FunctionUse:
    """One function's part in one action."""

    invocations: float
    cpu_s: float
    aws_requests: float = 0.0  # requests the function waited on
    parallelism: float = 1.0  # threads it keeps busy (CPU time over wall time, measured)

    def scaled(self, by: float) -> FunctionUse:
        return replace(
            self,
            invocations=self.invocations * by,
            cpu_s=self.cpu_s * by,
            aws_requests=self.aws_requests * by,
        )

    def __add__(self, other: FunctionUse) -> FunctionUse:
        cpu = self.cpu_s + other.cpu_s
        return FunctionUse(
            invocations=self.invocations + other.invocations,
            cpu_s=cpu,
            aws_requests=self.aws_requests + other.aws_requests,
            parallelism=(self.parallelism * self.cpu_s + other.parallelism * other.cpu_s) / cpu
            if cpu
            else 1.0,
        )


@dataclass(frozen=True)
class ActionCost:
    """What one action costs, as measured."""

    functions: dict[str, FunctionUse] = field(default_factory=dict)
    requests: dict[str, float] = field(default_factory=dict)  # "sqs.SendMessage" -> per action
    read_units: dict[str, float] = field(default_factory=dict)  # table -> read request units
    write_units: dict[str, float] = field(default_factory=dict)  # table -> write request units
    bytes_stored: float = 0.0  # S3 bytes the action adds to the library for good
    byte_days: float = 0.0  # S3 bytes kept a while, times the days they are kept
    bytes_delivered: float = 0.0  # CDN bytes the action sends to clients
    cdn_requests: float = 0.0
    invalidation_paths: float = 0.0
    moderation_images: float = 0.0  # Rekognition DetectModerationLabels calls
    api_requests: float = 0.0  # requests through API Gateway

    def scaled(self, by: float) -> ActionCost:
        def times(counts: dict[str, float]) -> dict[str, float]:
            return {key: value * by for key, value in counts.items()}

        return ActionCost(
            functions={name: use.scaled(by) for name, use in self.functions.items()},
            requests=times(self.requests),
            read_units=times(self.read_units),
            write_units=times(self.write_units),
            bytes_stored=self.bytes_stored * by,
            byte_days=self.byte_days * by,
            bytes_delivered=self.bytes_delivered * by,
            cdn_requests=self.cdn_requests * by,
            invalidation_paths=self.invalidation_paths * by,
            moderation_images=self.moderation_images * by,
            api_requests=self.api_requests * by,
        )

    def __add__(self, other: ActionCost) -> ActionCost:
        def plus(mine: dict[str, float], theirs: dict[str, float]) -> dict[str, float]:
            return {key: mine.get(key, 0.0) + theirs.get(key, 0.0) for key in mine | theirs}

        functions = dict(self.functions)
        for name, use in other.functions.items():
            functions[name] = functions[name] + use if name in functions else use
        return ActionCost(
            functions=functions,
            requests=plus(self.requests, other.requests),
            read_units=plus(self.read_units, other.read_units),
            write_units=plus(self.write_units, other.write_units),
            **{
                name: getattr(self, name) + getattr(other, name)
                for name in (
                    "bytes_stored",
                    "byte_days",
                    "bytes_delivered",
                    "cdn_requests",
                    "invalidation_paths",
                    "moderation_images",
                    "api_requests",
                )
            },
        )

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> ActionCost:
        uses = {name: FunctionUse(**use) for name, use in document.get("functions", {}).items()}
        return cls(**{**document, "functions": uses})


@dataclass(frozen=True)
class Workload:
    """A day of use. ``posts_by_followers`` maps an author's follower count to the share of posts
    written by authors that size."""

    name: str
    uploads_per_day: float  # feed posts (the seed's 95 million a day)
    daily_active_users: float
    video_share: float = 0.2
    video_seconds: float = 20.0
    stories_per_upload: float = 5.3  # the seed: 350,000 expiries a minute beside 95M uploads
    feed_pages_per_user: float = 8.0
    explore_requests_per_user: float = 3.0
    likes_per_user: float = 10.0
    comments_per_user: float = 1.0
    story_views_per_user: float = 20.0  # each one marks the Story seen
    tray_opens_per_user: float = 5.0
    video_watch_seconds_per_user: float = 120.0
    posts_by_followers: dict[int, float] = field(
        default_factory=lambda: {150: 0.70, 1_000: 0.20, 10_000: 0.085, 50_000: 0.0135, 2_000_000: 0.0015}
    )
    peak_factor: float = 3.0  # the seed: 1,100 uploads a second on average, 3,300 at peak
    library_days: float = 365.0  # the media library a month's storage bill covers, in days of uploads


@dataclass(frozen=True)
class Design:
    """Which of the seed's optimisations are on; each off is its naive version."""

    celebrity_threshold: int | None = 100_000  # None: fan out on write for everyone
    av1_ladder: bool = True  # False: H.264 at every rung, no fast path and no AV1
    perceptual_images: bool = True  # False: JPEG q85 renditions only
    hybrid_expiry: bool = True  # False: a schedule and a message per Story, a write per ring


@dataclass(frozen=True)
class UnitCosts:
    """Every action's measured cost, and what the model needs to know about the functions."""

    actions: dict[str, ActionCost]
    memory_mb: dict[str, int]  # each function's configured MemorySize
    request_latency_s: float = 0.008  # one AWS request's round trip from Lambda (assumed)
    av1_bytes_ratio: float = 1.0  # AV1 bytes over H.264 bytes at equal VMAF (measured)
    av1_watch_share: float = 0.7  # the seed: 70% of watch time uses AV1
    q85_bytes_ratio: float = 1.0  # JPEG q85 bytes over the design's, per delivered image (measured)


def daily_actions(workload: Workload, design: Design = Design()) -> dict[str, float]:
    """How many of each measured action a day of ``workload`` brings under ``design``."""
    uploads, users = workload.uploads_per_day, workload.daily_active_users
    videos = uploads * workload.video_share
    stories = uploads * workload.stories_per_upload
    slices_per_post = sum(
        share * followers / SLICE_FOLLOWERS
        for followers, share in workload.posts_by_followers.items()
        if design.celebrity_threshold is None or followers < design.celebrity_threshold
    )
    likes, comments = users * workload.likes_per_user, users * workload.comments_per_user
    photo_views = (
        users * workload.feed_pages_per_user * FEED_PAGE_POSTS * (1 - workload.video_share)
        + users * workload.story_views_per_user
    )
    logged = likes + comments + photo_views  # the actions Explore's batch and refresh count
    encoding = {
        "video_fastpath_second": videos * workload.video_seconds if design.av1_ladder else 0.0,
        "video_ladder_second" if design.av1_ladder else "video_h264_ladder_second": videos
        * workload.video_seconds,
    }
    expiry = "" if design.hybrid_expiry else "_naive"
    return {
        "photo_upload": uploads - videos,
        "story_upload": stories,
        "video_upload": videos,
        **encoding,
        "post": uploads,
        "fanout_slice": uploads * slices_per_post,
        "feed_page" if design.celebrity_threshold is not None else "feed_page_fanned_out": users
        * workload.feed_pages_per_user,
        "explore_request": users * workload.explore_requests_per_user,
        "like": likes,
        "tray_open": users * workload.tray_opens_per_user,
        "story_view": users * workload.story_views_per_user,
        "comment": comments,
        "story_post": stories,
        "story_tray_slice": stories * slices_per_post,
        f"story_expiry{expiry}": stories,
        f"story_expiry_slice{expiry}": stories * slices_per_post,
        "photo_view": photo_views,
        "video_view_second": users * workload.video_watch_seconds_per_user,
        "feature_batch_interaction": logged,
        "explore_refresh_run": REFRESHES_PER_DAY,
        # each run recounts every action since the batch: half a day's, on average over the day
        "explore_refresh_interaction": REFRESHES_PER_DAY * logged / 2,
    }


@dataclass
class Estimate:
    workload: str
    monthly_usd: dict[str, float]  # by service
    stage_usd: dict[str, float]  # monthly, by action
    peak_concurrency: dict[str, int]
    average_concurrency: dict[str, float]
    table_peak_units: dict[str, dict[str, float]]
    quota_use: dict[str, float]  # quota name -> peak demand over the quota

    @property
    def total_usd(self) -> float:
        return round(sum(self.monthly_usd.values()), 2)

    @property
    def first_quota_hit(self) -> dict[str, Any]:
        """The quota this workload presses hardest; ``hit`` when its demand is over the limit."""
        name, use = max(self.quota_use.items(), key=lambda item: item[1])
        quota = prices.QUOTAS[name]
        return {
            "quota": name,
            "hit": use > 1.0,
            "demand_over_limit": round(use, 4),
            "limit": quota.limit,
            "unit": quota.unit,
            "adjustable": quota.adjustable,
        }


@dataclass
class _Usage:
    """The month's billable units of every service, by action."""

    units: dict[str, dict[str, float]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(float))
    )

    def add(self, action: str, service: str, amount: float) -> None:
        self.units[service][action] += amount

    def total(self, service: str) -> float:
        return sum(self.units[service].values())


BILLED_UNITS = {  # service -> the kinds of unit it bills
    "lambda": ("lambda_gb_s", "lambda_invocations"),
    "dynamodb": ("dynamodb_rru", "dynamodb_wru"),
    "sqs": ("sqs_requests",),
    "scheduler": ("scheduler_invocations",),
    "s3": ("s3_gb_month", "s3_puts", "s3_gets"),
    "cloudfront": ("cdn_gb", "cdn_requests", "invalidation_paths"),
    "api_gateway": ("api_requests",),
    "rekognition": ("moderation_images",),
}


def _price(unit: str, total: float) -> float:
    """The month's price of ``total`` units of one kind."""
    linear = {
        "lambda_gb_s": prices.LAMBDA_GB_SECOND,
        "lambda_invocations": prices.LAMBDA_REQUEST,
        "dynamodb_rru": prices.DYNAMODB_READ_REQUEST_UNIT,
        "dynamodb_wru": prices.DYNAMODB_WRITE_REQUEST_UNIT,
        "sqs_requests": prices.SQS_REQUEST,
        "scheduler_invocations": prices.SCHEDULER_INVOCATION,
        "s3_puts": prices.S3_PUT,
        "s3_gets": prices.S3_GET,
        "cdn_requests": prices.CLOUDFRONT_HTTPS_REQUEST,
    }
    tiers = {
        "s3_gb_month": prices.S3_STORAGE_GB_MONTH,
        "cdn_gb": prices.CLOUDFRONT_EGRESS_GB,
        "invalidation_paths": prices.CLOUDFRONT_INVALIDATION_PATH,
        "api_requests": prices.API_GATEWAY_REQUEST,
        "moderation_images": prices.REKOGNITION_IMAGE,
    }
    return total * linear[unit] if unit in linear else prices.tiered(total, tiers[unit])


def _design_costs(units: UnitCosts, design: Design) -> dict[str, ActionCost]:
    """The measured actions, with delivery scaled to the design's codecs and image formats."""
    actions = dict(units.actions)
    av1_share = units.av1_watch_share if design.av1_ladder else 0.0
    view = actions["video_view_second"]  # measured as H.264 bytes
    actions["video_view_second"] = replace(
        view, bytes_delivered=view.bytes_delivered * (1 - av1_share + av1_share * units.av1_bytes_ratio)
    )
    if not design.perceptual_images:
        photo = actions["photo_view"]
        actions["photo_view"] = replace(photo, bytes_delivered=photo.bytes_delivered * units.q85_bytes_ratio)
    return actions


def billed_seconds(use: FunctionUse, memory_mb: int, request_latency_s: float) -> float:
    vcpus = min(prices.LAMBDA_MAX_VCPUS, memory_mb / prices.LAMBDA_MB_PER_VCPU)
    threads = max(min(use.parallelism, vcpus), min(vcpus, 1.0))
    return use.cpu_s / threads + use.aws_requests * request_latency_s


def estimate(workload: Workload, units: UnitCosts, design: Design = Design()) -> Estimate:
    actions = _design_costs(units, design)
    per_day = daily_actions(workload, design)
    usage = _Usage()
    busy_s: dict[str, float] = defaultdict(float)  # function -> billed seconds a day
    requests: dict[str, float] = defaultdict(float)  # per day
    reads: dict[str, float] = defaultdict(float)
    writes: dict[str, float] = defaultdict(float)
    month = MONTH_DAYS
    for action, count in per_day.items():
        cost = actions[action].scaled(count)
        for name, use in cost.functions.items():
            if not use.invocations and not use.cpu_s:
                continue
            memory = units.memory_mb[name]
            seconds = billed_seconds(use, memory, units.request_latency_s)
            busy_s[name] += seconds
            usage.add(action, "lambda_gb_s", seconds * memory / 1024 * month)
            usage.add(action, "lambda_invocations", use.invocations * month)
        for key, value in cost.requests.items():
            requests[key] += value
        for table, value in cost.read_units.items():
            reads[table] += value
        for table, value in cost.write_units.items():
            writes[table] += value
        usage.add(action, "dynamodb_rru", sum(cost.read_units.values()) * month)
        usage.add(action, "dynamodb_wru", sum(cost.write_units.values()) * month)
        usage.add(action, "sqs_requests", _of_service(cost.requests, "sqs") * month)
        usage.add(action, "scheduler_invocations", cost.requests.get("scheduler.CreateSchedule", 0.0) * month)
        usage.add(action, "s3_puts", _of_service(cost.requests, "s3", exclude=("s3.GetObject",)) * month)
        usage.add(action, "s3_gets", cost.requests.get("s3.GetObject", 0.0) * month)
        usage.add(action, "s3_gb_month", (cost.bytes_stored * workload.library_days + cost.byte_days) / GB)
        usage.add(action, "cdn_gb", cost.bytes_delivered * month / GB)
        usage.add(action, "cdn_requests", cost.cdn_requests * month)
        usage.add(action, "invalidation_paths", cost.invalidation_paths * month)
        usage.add(action, "api_requests", cost.api_requests * month)
        usage.add(action, "moderation_images", cost.moderation_images * month)
    monthly: dict[str, float] = {}
    stage: dict[str, float] = defaultdict(float)
    for service, kinds in BILLED_UNITS.items():
        monthly[service] = 0.0
        for kind in kinds:
            total = usage.total(kind)
            bill = _price(kind, total)
            monthly[service] += bill
            for action, amount in usage.units[kind].items():
                stage[action] += bill * amount / total if total else 0.0
    peak = workload.peak_factor
    average = {name: seconds / DAY for name, seconds in busy_s.items()}
    peak_concurrency = {name: math.ceil(value * peak) for name, value in average.items()}
    table_peak = {
        table: {
            "read_units_per_s": round(reads.get(table, 0.0) / DAY * peak, 3),
            "write_units_per_s": round(writes.get(table, 0.0) / DAY * peak, 3),
        }
        for table in sorted(set(reads) | set(writes))
    }
    day_actions = per_day["feature_batch_interaction"]  # what the batch learns from, and a refresh recounts
    demand = {
        "lambda_concurrent_executions": sum(peak_concurrency.values()),
        # the busiest function reaching its peak from nothing within 100 s (ten 10-second steps)
        "lambda_scaling_rate": max(peak_concurrency.values(), default=0) / 10,
        "lambda_timeout": max(  # the daily batch, and the refresh just before the next batch
            _run_seconds(units, "feature_batch", {"feature_batch_interaction": day_actions}),
            _run_seconds(
                units,
                "explore_refresh",
                {"explore_refresh_run": 1, "explore_refresh_interaction": day_actions},
            ),
        ),
        "dynamodb_table_write_throughput": max(
            (t["write_units_per_s"] for t in table_peak.values()), default=0
        ),
        "dynamodb_table_read_throughput": max(
            (t["read_units_per_s"] for t in table_peak.values()), default=0
        ),
        "dynamodb_partition_write_throughput": _hottest_counter_writes(workload),
        # each of the busiest consumer's environments holds a batch of up to 10 from its queue
        "sqs_in_flight_messages": max(peak_concurrency.values(), default=0) * 10,
        "scheduler_create_schedule_rate": requests.get("scheduler.CreateSchedule", 0.0) / DAY * peak,
        "scheduler_invocation_rate": requests.get("scheduler.CreateSchedule", 0.0) / DAY * peak,
        "cloudfront_invalidation_paths_in_progress": usage.total("invalidation_paths")
        / month
        / DAY
        * peak
        * INVALIDATION_SECONDS,
        "api_gateway_requests": usage.total("api_requests") / month / DAY * peak,
        "rekognition_moderation_tps": usage.total("moderation_images") / month / DAY * peak,
    }
    return Estimate(
        workload=workload.name,
        monthly_usd={service: round(usd, 2) for service, usd in monthly.items()},
        stage_usd={action: round(usd, 2) for action, usd in sorted(stage.items(), key=lambda kv: -kv[1])},
        peak_concurrency=dict(sorted(peak_concurrency.items())),
        average_concurrency={name: round(value, 4) for name, value in sorted(average.items())},
        table_peak_units=table_peak,
        quota_use={name: value / prices.QUOTAS[name].limit for name, value in demand.items()},
    )


def _run_seconds(units: UnitCosts, function: str, actions: dict[str, float]) -> float:
    """Billed seconds of one run of ``function`` made of ``actions`` (each measured action: how many)."""
    uses = [units.actions[action].functions[function].scaled(count) for action, count in actions.items()]
    return billed_seconds(reduce(operator.add, uses), units.memory_mb[function], units.request_latency_s)


def _of_service(requests: dict[str, float], service: str, exclude: tuple[str, ...] = ()) -> float:
    return sum(
        value for key, value in requests.items() if key.startswith(f"{service}.") and key not in exclude
    )


def _hottest_counter_writes(workload: Workload) -> float:
    """Writes a second to the busiest post's counter row: the largest author's post, liked by its
    followers at the workload's like rate within an hour, folded into one write per stream batch."""
    audience = max(workload.posts_by_followers)
    liked_per_follower = workload.likes_per_user / max(workload.feed_pages_per_user * FEED_PAGE_POSTS, 1)
    return audience * liked_per_follower / 3600 / LIKES_PER_COUNTER_WRITE


def savings_pct(workload: Workload, units: UnitCosts) -> dict[str, float]:
    """What each of the seed's optimisations saves against its naive version, as a share of the
    naive cost of the stages it changes."""
    design = estimate(workload, units, Design())
    changes = {
        "fanout": (
            replace(Design(), celebrity_threshold=None),
            ("fanout_slice", "feed_page", "feed_page_fanned_out"),
        ),
        "video_encoding": (
            replace(Design(), av1_ladder=False),
            ("video_fastpath_second", "video_ladder_second", "video_h264_ladder_second", "video_view_second"),
        ),
        "video_encoding_compute": (
            replace(Design(), av1_ladder=False),
            ("video_fastpath_second", "video_ladder_second", "video_h264_ladder_second"),
        ),
        "image_bytes": (replace(Design(), perceptual_images=False), ("photo_view",)),
        "stories_expiry": (
            replace(Design(), hybrid_expiry=False),
            ("story_expiry", "story_expiry_slice", "story_expiry_naive", "story_expiry_slice_naive"),
        ),
    }
    result = {}
    for name, (naive_design, stages) in changes.items():
        naive = estimate(workload, units, naive_design)
        ours = sum(design.stage_usd.get(stage, 0.0) for stage in stages)
        theirs = sum(naive.stage_usd.get(stage, 0.0) for stage in stages)
        result[name] = round(100 * (1 - ours / theirs), 1) if theirs else 0.0
    return result
