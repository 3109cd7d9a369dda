"""Unit costs measured on the local stack; the monthly AWS bill at 1k, 1m and 95m uploads a day.

Every action a user or the system takes runs through the real functions, against a moto server in
a process of its own, one invocation at a time so this process's CPU time is the invocation's:
uploads of natural photos (three sizes) and a natural clip through the whole pipeline, posts
fanned out to 10 and 2,000 real followers, feed pages, likes, comments, Stories posted, viewed,
read in the tray and expired by their schedules, Explore served from a model the daily batch
trained. Each invocation's CPU-seconds
and the AWS requests it made are recorded by function, with DynamoDB's request units worked out
from the items read and written (DynamoDB's own sizing rules) and S3 bytes from what was stored.
Peak memory is measured in a fresh process per media job. ``benchmarks/capacity.py`` turns the
units into concurrency, capacity, quotas and a monthly bill.

Yardsticks, in the same run: fan-out on write for every author (the feed page then reads only its
own rows), the H.264 ladder alone, JPEG q85 for every image, and a schedule per Story.
"""

from __future__ import annotations

import io
import json
import resource
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import matplotlib
from chalice.app import Chalice
from PIL import Image

from aperture.core.aws import client
from aperture.core.clock import now, set_clock
from aperture.explore.offline import append_log
from aperture.social.tables import day_partition
from aperture_local.motoserver import moto_server_process
from aperture_local.runtime import LocalFunction
from aperture_local.stack import LocalStack
from aperture_local.template import Template
from simulator.world import World, WorldSpec, generate, log_rows
from tests.conftest import ROOT, load_event
from tests.e2e.conftest import UNHURRIED_EXPLORE, ApiStack, post_to_s3, serving

from . import aws_prices, report
from .capacity import (
    DAY,
    SLICE_FOLLOWERS,
    ActionCost,
    Design,
    Estimate,
    FunctionUse,
    UnitCosts,
    Workload,
    daily_actions,
    estimate,
    savings_pct,
)
from .dynamodb_units import Index, read_units, write_units
from .fanout import _put, follower_edges
from .natural import natural, natural_clip
from .soak import queues_empty

matplotlib.use("Agg")
from matplotlib import pyplot

# The photos: a small one, a 1,411 px one and a 12 MP camera original (a natural photo resampled
# up: no bundled photo is that large), weighted as uploads arrive (assumed).
PHOTOS = {"640 px": ("rocket", None), "1411 px": ("retina", None), "12 MP": ("motorcycle", (4032, 3024))}
PHOTO_MIX = {"640 px": 0.1, "1411 px": 0.6, "12 MP": 0.3}
CLIP = "bikes"  # 640 x 272, 10 s of street footage
# Which image a view fetches, by what the client decodes (assumed shares of views).
CLIENT_CLASSES = {"avif": 0.75, "webp": 0.20, "jpeg": 0.05}
FOLLOWERS = (10, 2_000)  # two authors: the fixed cost of a post, and what each slice adds
QUIET_SECONDS = 2.5  # no invocation for this long: the stack has settled
WORLD = WorldSpec(users=300, posts=1_500, communities=6, days=10.0, sessions_per_user=8.0, seed=5)
SCALES = {"1k": 1_000, "1m": 1_000_000, "95m": 95_000_000}
USERS_PER_UPLOAD = 500 / 95  # the seed: 500 million daily users, 95 million uploads a day
REPEATS = 3
# Explore refreshes measured, by when after the batch: before the replayed actions, and after them
REFRESHES = {"early": (600, 1200, 1800), "late": (DAY - 1200, DAY - 600, DAY)}
REFRESH_TICK = load_event("explore_refresh/tick.json")
API_FUNCTION = "api"
METERED_SERVICES = ("dynamodb", "s3", "sqs", "scheduler", "cloudfront")
# Explore's budgets a loaded machine meets; the CDN invalidator's window short, as the bench waits
# it out after each action (the cost per path does not depend on it).
PARAMETERS = UNHURRIED_EXPLORE | {"CdnInvalidationWindowSeconds": "1", "LogLevel": "WARNING"}


# ---------------------------------------------------------------- the meter
@dataclass
class Tally:
    """One function's share of one action."""

    invocations: int = 0
    cpu_s: float = 0.0
    wall_s: float = 0.0
    requests: Counter[str] = field(default_factory=Counter)
    read_units: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    write_units: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    s3_bytes: int = 0
    invalidation_paths: int = 0


class Meter:
    """Runs the stack's invocations one at a time and tallies each by action and function.

    A request counts for the running invocation when it is made on that invocation's thread or a
    pool thread it started; the event sources' own polling is the platform's, and is left out."""

    def __init__(self, stack: LocalStack) -> None:
        self.action = "setup"
        self.tallies: dict[str, dict[str, Tally]] = defaultdict(lambda: defaultdict(Tally))
        self.last_activity = time.monotonic()
        self._lock = threading.Lock()
        self._running: tuple[str, int] | None = None
        self._sending: dict[int, dict[str, Any]] = {}  # thread -> the sizes of its request in flight
        self.tables = {physical: logical for logical, physical in stack.stack.physical_ids.items()}
        self.indexes = {
            stack.physical_id(logical): [
                Index(
                    frozenset(key["AttributeName"] for key in index["KeySchema"]),
                    index["Projection"]["ProjectionType"] == "ALL",
                )
                for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes")
                for index in table.get(kind, [])
            ]
            for logical, table in stack.template.resource_properties("AWS::DynamoDB::Table").items()
        }
        self.invalidation_queue = stack.environment["CDN_INVALIDATION_QUEUE_URL"]
        self.queues = [
            stack.physical_id(queue)
            for queue in stack.template.resource_properties("AWS::SQS::Queue")
            if not queue.endswith("DLQ")
        ]

    @contextmanager
    def invocation(self, function: str) -> Iterator[None]:
        """One invocation of ``function``, alone in the process while it runs."""
        with self._lock:
            self._running = (function, threading.get_ident())
            cpu, wall = _cpu_seconds(), time.perf_counter()
            try:
                yield
            finally:
                tally = self.tallies[self.action][function]
                tally.invocations += 1
                tally.cpu_s += _cpu_seconds() - cpu
                tally.wall_s += time.perf_counter() - wall
                self._running = None
                self.last_activity = time.monotonic()

    @contextmanager
    def installed(self) -> Iterator[Meter]:
        """Meter every function the stack invokes and every API request (the local API server
        calls the Chalice app itself, not through ``LocalFunction.invoke``)."""
        meter, invoke, serve = self, LocalFunction.invoke, Chalice.__call__

        def invoked(function: LocalFunction, event: Any, source: str = "invoke") -> Any:
            with meter.invocation(function.spec.short_name):
                return invoke(function, event, source)

        def served(app: Chalice, event: Any, context: Any) -> Any:
            with meter.invocation(API_FUNCTION):
                return serve(app, event, context)

        LocalFunction.invoke = invoked  # type: ignore[method-assign]
        Chalice.__call__ = served  # type: ignore[method-assign]
        hooks = {"before-parameter-build.*.*": self._before, "after-call.*.*": self._after}
        for service in METERED_SERVICES:
            for event, hook in hooks.items():
                client(service).meta.events.register(event, hook, unique_id=f"cost-meter-{event}")
        try:
            yield self
        finally:
            LocalFunction.invoke = invoke  # type: ignore[method-assign]
            Chalice.__call__ = serve  # type: ignore[method-assign]
            for service in METERED_SERVICES:
                for event in hooks:
                    client(service).meta.events.unregister(event, unique_id=f"cost-meter-{event}")

    def _tally(self) -> Tally | None:
        running = self._running
        if running is None:
            return None
        function, thread = running
        current = threading.current_thread()
        if current.ident != thread and not current.name.startswith("ThreadPoolExecutor"):
            return None
        return self.tallies[self.action][function]

    def _before(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        """Size the request now (botocore turns an S3 body into a stream before sending); count it
        in ``_after``: presigning builds parameters too, but only a request sent comes back."""
        service, operation = model.service_model.service_name, model.name
        sizes: dict[str, Any] = {}
        if service == "dynamodb":
            sizes["written"] = write_units(operation, params, self.indexes)
            sizes["table"] = params.get("TableName") or next(
                (item["Get"]["TableName"] for item in params.get("TransactItems", []) if "Get" in item), None
            )
            sizes["consistent"] = bool(params.get("ConsistentRead"))
        elif service == "s3" and operation == "PutObject":
            body = params.get("Body", b"")
            sizes["stored"] = len(body) if isinstance(body, bytes | str) else 0
        elif service == "sqs" and params.get("QueueUrl") == self.invalidation_queue:
            bodies = [params["MessageBody"]] if "MessageBody" in params else []
            bodies += [entry["MessageBody"] for entry in params.get("Entries", [])]
            sizes["paths"] = sum(len(json.loads(body)["paths"]) for body in bodies)
        self._sending[threading.get_ident()] = sizes

    def _after(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        tally = self._tally()
        if tally is None:
            return
        sizes = self._sending.pop(threading.get_ident(), {})
        service, operation = model.service_model.service_name, model.name
        tally.requests[f"{service}.{operation}"] += 1
        for table, units in sizes.get("written", {}).items():
            tally.write_units[self.tables.get(table, table)] += units
        if service == "dynamodb":
            read = read_units(operation, sizes.get("table"), parsed, sizes.get("consistent", False))
            for table, units in read.items():
                tally.read_units[self.tables.get(table, table)] += units
        tally.s3_bytes += sizes.get("stored", 0)
        tally.invalidation_paths += sizes.get("paths", 0)

    @contextmanager
    def measuring(self, action: str) -> Iterator[None]:
        """Tally everything the stack does for ``action`` until it has settled."""
        self.action = action
        try:
            yield
            self.settle()
        finally:
            self.action = "between actions"

    def settle(self, timeout: float = 600) -> None:
        """Wait until no message waits or is in flight, and no function has run for a while."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            quiet = self._running is None and time.monotonic() - self.last_activity > QUIET_SECONDS
            if quiet and queues_empty(self.queues):
                return
            time.sleep(0.2)
        raise TimeoutError(f"the stack did not settle within {timeout} s")


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# ---------------------------------------------------------------- media jobs in fresh processes
def _photo_job(data: bytes) -> dict[str, Any]:
    from aperture.media.images import process

    started_cpu, started = _cpu_seconds(), time.perf_counter()
    processed = process(data)
    cpu = _cpu_seconds() - started_cpu
    renditions = [
        {"name": r.name, "format": r.format, "bytes": len(r.data), "width": r.width, "height": r.height}
        for r in processed.renditions
    ]
    return {
        "cpu_s": cpu,
        "wall_s": time.perf_counter() - started,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "renditions": renditions,
    }


def _ladder_job(path: str) -> dict[str, Any]:
    """Each codec's ladder, timed apart: the design encodes both, the naive version H.264 only."""
    import tempfile

    from aperture.media.ladder import package, rungs
    from aperture.media.superres import shipped_model
    from aperture.media.video import probe

    source = Path(path)
    info = probe(source, "video/mp4")
    upscaler = shipped_model()  # low rungs are super-resolved, as in the ladder function
    result: dict[str, Any] = {"seconds": info.seconds}
    for codec in ("libsvtav1", "libx264"):
        with tempfile.TemporaryDirectory() as work:
            started = _cpu_seconds()
            variants = [
                package(source, "video/mp4", info, rung, Path(work), upscaler=upscaler)
                for rung in rungs(info, codec)
            ]
            result[codec] = {
                "cpu_s": _cpu_seconds() - started,
                "top_bps": max(v.bits_per_second for v in variants),
            }
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def in_fresh_process(job: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """``job`` in a process of its own, so its peak memory is its own."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(job, *args).result()


# ---------------------------------------------------------------- the scenario
class OffsetClock:
    """Real time, moved on (or back) when told: Stories expire a day on without waiting a day."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def set(self, epoch_seconds: float) -> None:
        self.offset = epoch_seconds - time.time()

    def advance(self, seconds: float) -> None:
        self.offset += seconds


class Scenario:
    """A small world driven through the API and the event sources, one measured action at a time."""

    def __init__(self, api: ApiStack, meter: Meter, manual: OffsetClock) -> None:
        self.api, self.meter, self.manual = api, meter, manual
        self.env = api.stack.environment
        self.counts: Counter[str] = Counter()  # how many times each action ran
        self.stored: dict[str, float] = defaultdict(float)  # bytes clients uploaded, by action

    def call(self, user: str, method: str, path: str, body: Any = None) -> Any:
        reply = self.api.client.call(method, path, body, token=self.api.token(user))
        if reply.status >= 300:
            raise RuntimeError(f"{method} {path} answered {reply.status}: {reply.body}")
        return reply.body

    @contextmanager
    def action(self, name: str) -> Iterator[None]:
        self.counts[name] += 1
        with self.meter.measuring(name):
            yield

    def signup(self, user: str) -> None:
        self.call(user, "POST", "/users", {"username": user.removeprefix("u_")})

    def give_followers(self, author: str, followers: int, real: bool = True) -> None:
        """Followers written straight to the tables (setting up, not measured)."""
        if real:
            _put(self.env["GRAPH_TABLE"], follower_edges(author, followers))
        client("dynamodb").update_item(
            TableName=self.env["USERS_TABLE"],
            Key={"user_id": {"S": author}},
            UpdateExpression="ADD follower_count :n",
            ExpressionAttributeValues={":n": {"N": str(followers)}},
        )

    def upload(self, action: str, owner: str, data: bytes, content_type: str) -> str:
        with self.action(action):
            intent = self.call(owner, "POST", "/uploads", {"content_type": content_type, "size": len(data)})
            post_to_s3(intent["upload"], data)
            self.stored[action] += len(data)
        record = client("dynamodb").get_item(
            TableName=self.env["MEDIA_TABLE"], Key={"media_id": {"S": intent["media_id"]}}
        )["Item"]
        verdict = record.get("moderation", {}).get("M", {}).get("verdict", {}).get("S")
        if record["state"]["S"] != "ready" or verdict != "approved":
            raise RuntimeError(f"{action}: the upload ended {record['state']['S']}, verdict {verdict}")
        return str(intent["media_id"])


def _natural_photo(name: str, size: tuple[int, int] | None) -> bytes:
    data = natural(name)
    if size is None:
        return data
    picture = Image.open(io.BytesIO(data)).convert("RGB").resize(size, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=92)  # what a phone camera writes
    return out.getvalue()


def _explore(scene: Scenario) -> None:
    """The daily batch over ten simulated days, then Explore for users it learned."""
    world: World = generate(WORLD)
    scene.manual.set(world.now)
    catalogue = world.catalogue
    posts = [
        {
            "post_id": str(catalogue.post_id[n]),
            "author_id": str(catalogue.author_id[n]),
            "created_at": float(catalogue.created_at[n]),
            "created_day": day_partition(str(catalogue.post_id[n]), float(catalogue.created_at[n])),
            "state": "published" if catalogue.verdict[n] == "approved" else "pending",
            "caption": "",
        }
        for n in range(len(catalogue))
    ]
    _put(scene.env["POSTS_TABLE"], posts)  # setting up, from this thread: not measured
    rows = list(log_rows(world.interactions))
    _append_by_day(rows)
    with scene.action("feature_batch"):
        outcome = scene.api.stack.function("feature_batch").invoke(load_event("feature_batch/daily.json"))
    assert outcome["published"] is True, outcome
    scene.counts["feature_batch_interaction"] = len(rows)
    for user in world.user_ids[: REPEATS * 2]:
        with scene.action("explore_request"):
            page = scene.call(str(user), "GET", "/explore")
        assert page["fallbacks"] == [], page["fallbacks"]
    _refreshes(scene, world, rows)


def _append_by_day(rows: list[dict[str, Any]]) -> None:
    """Log ``rows`` as the stream consumer does: each day's actions under that day."""
    by_day: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_day[int(row["at"] // DAY)].append(row)
    for day in by_day.values():
        append_log(day, max(row["at"] for row in day))


def _refreshes(scene: Scenario, world: World, rows: list[dict[str, Any]]) -> None:
    """The ten-minute refresh, three runs just after the batch and three at the end of the next day,
    with the world's whole log played again within that day (a day's actions alone are too few to
    show above the runs' noise): the early runs recount nothing, so they are what a run costs, and
    the two ends apart are what each action since the batch adds to every run. ``rows``: the
    world's log, as the batch learned from it."""
    first = min(row["at"] for row in rows)
    squeeze = (DAY - 3600) / (world.now - first)  # the log's days into the day, past the early runs
    replayed = [
        row | {"event_id": f"again-{row['event_id']}", "at": world.now + 1800 + (row["at"] - first) * squeeze}
        for row in rows
    ]
    for name, runs_at in REFRESHES.items():
        if name == "late":
            _append_by_day(replayed)
        for after in runs_at:  # a run no newer than the last publishes nothing: ten minutes apart
            scene.manual.set(world.now + after)
            with scene.action(f"explore_refresh:{name}"):
                outcome = scene.api.stack.function("explore_refresh").invoke(REFRESH_TICK)
            assert outcome["published"] is True, outcome
            assert outcome["interactions"] == (len(replayed) if name == "late" else 0), outcome
    scene.counts["explore_refresh_interaction"] = len(replayed)


SMALL, BIG, READER, LOYAL = "u_cost_small", "u_cost_big", "u_cost_reader", "u_cost_loyal"
CELEBRITIES = ("u_cost_celebrity1", "u_cost_celebrity2")
# Who uploads what: each author's first three for posts, the next three for Stories.
UPLOADS = (
    ("640 px", SMALL),
    ("1411 px", BIG),
    ("12 MP", SMALL),
    ("640 px", BIG),
)


def _people(scene: Scenario) -> None:
    for user in (SMALL, BIG, READER, LOYAL, *CELEBRITIES):
        scene.signup(user)
    scene.give_followers(SMALL, FOLLOWERS[0])
    scene.give_followers(BIG, FOLLOWERS[1])
    follow = {"following": True, "client_timestamp": 1}
    for celebrity in CELEBRITIES:
        scene.give_followers(celebrity, 200_000, real=False)
        scene.call(READER, "PUT", f"/users/{READER}/following/{celebrity}", follow)
    for author in (SMALL, BIG):
        for follower in (READER, LOYAL):
            scene.call(follower, "PUT", f"/users/{follower}/following/{author}", follow)
    scene.meter.settle()


def _uploads(scene: Scenario) -> dict[str, list[str]]:
    """Each photo size uploaded ``REPEATS`` times, and the clip once; media ids by owner."""
    owned: dict[str, list[str]] = defaultdict(list)
    for size, owner in UPLOADS:
        name, resize = PHOTOS[size]
        data = _natural_photo(name, resize)
        for _ in range(REPEATS):
            owned[owner].append(scene.upload(f"photo_upload:{size}", owner, data, "image/jpeg"))
        print(f"  photo uploads ({size}): measured", flush=True)
    scene.upload("video_upload", BIG, natural_clip(CLIP).read_bytes(), "video/mp4")
    print("  video upload: measured", flush=True)
    return owned


def _social(scene: Scenario, owned: dict[str, list[str]]) -> None:
    posts = []
    for author, followers in ((SMALL, FOLLOWERS[0]), (BIG, FOLLOWERS[1])):
        for media_id in owned[author][:REPEATS]:
            with scene.action(f"post:{followers}"):
                body = {"media_id": media_id, "caption": "cost"}
                posts.append(scene.call(author, "POST", "/posts", body)["post_id"])
    for celebrity in CELEBRITIES:
        scene.call(celebrity, "POST", "/posts", {"caption": "to everyone"})
    scene.meter.settle()
    print("  posts and fan-out: measured", flush=True)
    for _ in range(REPEATS * 2):
        with scene.action("feed_page"):
            scene.call(READER, "GET", "/feed")
        with scene.action("feed_page_fanned_out"):
            scene.call(LOYAL, "GET", "/feed")
    for post_id in posts[:REPEATS]:
        with scene.action("like"):
            scene.call(READER, "PUT", f"/posts/{post_id}/like")
        with scene.action("comment"):
            scene.call(READER, "POST", f"/posts/{post_id}/comments", {"text": "lovely light"})
    print("  feed pages, likes and comments: measured", flush=True)
    _stories(scene, {SMALL: owned[SMALL][REPEATS:], BIG: owned[BIG][REPEATS:]})


def _stories(scene: Scenario, media: dict[str, list[str]]) -> None:
    """Stories by a 10-follower and a 2,000-follower author, a minute apart, then each author's
    expired by the schedules the story scheduler leaves (the domain clock moved on to each expiry).
    Each author's Stories are posted back to back, so their expiries share schedules as Stories
    expiring in the same second do at scale."""
    posted: dict[str, float] = {}
    for author, items in media.items():
        followers = FOLLOWERS[0] if author.endswith("small") else FOLLOWERS[1]
        with scene.action(f"story_post:{followers}"):  # together, as Stories arrive at scale
            ids = [scene.call(author, "POST", "/stories", {"media_id": m})["story_id"] for m in items]
        scene.counts[f"story_post:{followers}"] += len(items) - 1  # counted per Story
        for story_id in ids:
            with scene.action("story_view"):
                scene.call(READER, "PUT", f"/stories/{author}/{story_id}/seen")
        posted[author] = now()
        scene.manual.advance(60)
    for _ in range(REPEATS):
        with scene.action("tray_open"):
            scene.call(READER, "GET", "/stories/tray")
    for author, at in posted.items():
        followers = FOLLOWERS[0] if author.endswith("small") else FOLLOWERS[1]
        scene.manual.set(at + 86_400 - 30)
        with scene.action(f"story_expiry:{followers}"):
            scene.api.stack.function("story_scheduler").invoke(
                load_event("story_scheduler/every_minute.json")
            )
            scene.manual.set(at + 86_400 + 5)
        scene.counts[f"story_expiry:{followers}"] += len(media[author]) - 1  # counted per Story
    print("  Stories posted and expired: measured", flush=True)


def measure() -> tuple[dict[str, dict[str, Tally]], Scenario]:
    manual = OffsetClock()
    previous = set_clock(manual)
    try:
        with (
            moto_server_process() as endpoint,
            LocalStack(endpoint=endpoint, parameters=PARAMETERS) as stack,
            Meter(stack).installed() as meter,  # before the API server binds the function
            serving(stack) as api,
            stack.paused("schedule:"),
        ):
            scene = Scenario(api, meter, manual)
            _explore(scene)
            manual.set(time.time())
            _people(scene)
            _social(scene, _uploads(scene))
            return {action: dict(tallies) for action, tallies in meter.tallies.items()}, scene
    finally:
        set_clock(previous)


# ---------------------------------------------------------------- from tallies to unit costs
NUMERIC_FIELDS = ("bytes_stored", "byte_days", "bytes_delivered", "cdn_requests", "invalidation_paths")
CLIENT_UPLOAD = "s3.PostObject"  # each upload's one request straight to S3, made by the client
UPLOADS_KEPT_DAYS = 30  # the uploads bucket's lifecycle rule
STORY_MEDIA_KEPT_DAYS = 1  # a Story's media without an archive, tagged for deletion a day on
REFRESHES_KEPT_DAYS = 2  # the Explore bucket's lifecycle rule for refreshes
HLS_SEGMENT_SECONDS = 4.0  # a player fetches a segment this long per request (assumed)


def _cost(
    tallies: dict[str, Tally], runs: int, *, only: set[str] | None = None, skip: set[str] = frozenset()
) -> ActionCost:
    """One run's average cost, from the functions named (all by default)."""
    chosen = {n: t for n, t in tallies.items() if (only is None or n in only) and n not in skip}
    requests: Counter[str] = Counter()
    reads: dict[str, float] = defaultdict(float)
    writes: dict[str, float] = defaultdict(float)
    for tally in chosen.values():
        requests.update(tally.requests)
        for table, units in tally.read_units.items():
            reads[table] += units
        for table, units in tally.write_units.items():
            writes[table] += units
    return ActionCost(
        functions={
            name: FunctionUse(
                invocations=t.invocations,
                cpu_s=t.cpu_s,
                aws_requests=sum(t.requests.values()),
                parallelism=t.cpu_s / t.wall_s if t.wall_s else 1.0,
            )
            for name, t in chosen.items()
        },
        requests=dict(requests),
        read_units=dict(reads),
        write_units=dict(writes),
        bytes_stored=sum(t.s3_bytes for t in chosen.values()),
        invalidation_paths=sum(t.invalidation_paths for t in chosen.values()),
        api_requests=chosen[API_FUNCTION].invocations if API_FUNCTION in chosen else 0,
    ).scaled(1 / runs)


def _marginal(large: ActionCost, small: ActionCost, slices: float) -> ActionCost:
    """What each slice of followers adds: the difference of two authors' costs, per slice, never
    below zero (CPU time is noisy)."""
    difference = (large + small.scaled(-1)).scaled(1 / slices)
    return ActionCost(
        functions={
            name: FunctionUse(
                invocations=max(0.0, use.invocations),
                cpu_s=max(0.0, use.cpu_s),
                aws_requests=max(0.0, use.aws_requests),
                parallelism=max(1.0, use.parallelism),
            )
            for name, use in difference.functions.items()
        },
        requests={k: max(0.0, v) for k, v in difference.requests.items()},
        read_units={k: max(0.0, v) for k, v in difference.read_units.items()},
        write_units={k: max(0.0, v) for k, v in difference.write_units.items()},
        **{name: max(0.0, getattr(difference, name)) for name in NUMERIC_FIELDS},
    )


def _with(cost: ActionCost, **changes: Any) -> ActionCost:
    return ActionCost(**{**asdict(cost), "functions": cost.functions, **changes})


def _kept(cost: ActionCost, days: float) -> ActionCost:
    """``cost`` with what it stores kept ``days`` days instead of for good."""
    return _with(cost, bytes_stored=0.0, byte_days=cost.byte_days + cost.bytes_stored * days)


def unit_costs(
    tallies: dict[str, dict[str, Tally]],
    scene: Scenario,
    photos: dict[str, dict[str, Any]],
    ladder: dict[str, Any],
) -> tuple[dict[str, ActionCost], dict[str, Any]]:
    """Every action's cost per run, and the facts the delivery figures come from."""
    counts = scene.counts

    def average(action: str, **options: Any) -> ActionCost:
        return _cost(tallies.get(action, {}), counts[action], **options)

    uploads = {}
    for size in PHOTOS:
        action = f"photo_upload:{size}"
        measured = average(action)
        original = scene.stored[action] / counts[action]
        uploads[size] = _with(
            measured,
            requests={**measured.requests, CLIENT_UPLOAD: 1.0},
            byte_days=original * UPLOADS_KEPT_DAYS,
            moderation_images=1.0,
        )
    photo = sum((uploads[size].scaled(share) for size, share in PHOTO_MIX.items()), ActionCost())
    story_upload = _kept(photo, STORY_MEDIA_KEPT_DAYS)

    seconds = ladder["seconds"]
    video = "video_upload"
    original = scene.stored[video]
    video_upload = _with(
        _cost(tallies[video], 1, skip={"video_fastpath", "video_ladder"}),
        byte_days=original * UPLOADS_KEPT_DAYS,
        moderation_images=1.0,
    )
    both = ladder["libsvtav1"]["cpu_s"] + ladder["libx264"]["cpu_s"]
    ladder_second = _cost(tallies[video], 1, only={"video_ladder"}).scaled(1 / seconds)

    small, large = FOLLOWERS
    slices = (large - small) / SLICE_FOLLOWERS

    def per_slice(action: str) -> ActionCost:
        return _marginal(average(f"{action}:{large}"), average(f"{action}:{small}"), slices)

    expiry, expiry_slice = average(f"story_expiry:{small}"), per_slice("story_expiry")
    early, late = (average(f"explore_refresh:{name}") for name in REFRESHES)
    naive_ratio = _naive_expiry_ratio()

    display = {
        size: {r["format"]: r["bytes"] for r in job["renditions"] if r["name"] == "display"}
        for size, job in photos.items()
    }
    view_bytes = sum(
        PHOTO_MIX[size] * sum(share * display[size][fmt.upper()] for fmt, share in CLIENT_CLASSES.items())
        for size in PHOTOS
    )
    q85_bytes = sum(PHOTO_MIX[size] * photos[size]["q85_display_bytes"] for size in PHOTOS)
    actions = {
        "photo_upload": photo,
        "story_upload": story_upload,
        "video_upload": video_upload,
        "video_fastpath_second": _cost(tallies[video], 1, only={"video_fastpath"}).scaled(1 / seconds),
        "video_ladder_second": ladder_second,
        "video_h264_ladder_second": ladder_second.scaled(ladder["libx264"]["cpu_s"] / both),
        "post": average(f"post:{small}"),
        "fanout_slice": per_slice("post"),
        "feed_page": average("feed_page"),
        "feed_page_fanned_out": average("feed_page_fanned_out"),
        "explore_request": average("explore_request"),
        "like": average("like"),
        "tray_open": average("tray_open"),
        "story_view": average("story_view"),
        "comment": average("comment"),
        "story_post": average(f"story_post:{small}"),
        "story_tray_slice": per_slice("story_post"),
        "story_expiry": expiry,
        "story_expiry_slice": expiry_slice,
        "story_expiry_naive": expiry.scaled(naive_ratio),
        "story_expiry_slice_naive": expiry_slice.scaled(naive_ratio),
        "photo_view": ActionCost(bytes_delivered=view_bytes, cdn_requests=1.0),
        "video_view_second": ActionCost(
            bytes_delivered=ladder["libx264"]["top_bps"] / 8, cdn_requests=1 / HLS_SEGMENT_SECONDS
        ),
        "feature_batch_interaction": _cost(tallies["feature_batch"], counts["feature_batch_interaction"]),
        "explore_refresh_run": _kept(early, REFRESHES_KEPT_DAYS),
        "explore_refresh_interaction": _kept(
            _marginal(late, early, counts["explore_refresh_interaction"]), REFRESHES_KEPT_DAYS
        ),
    }
    facts = {
        "per_unit": _per_unit(average, actions, photos, ladder),
        "photo_view_bytes": round(view_bytes),
        "q85_bytes_ratio": q85_bytes / view_bytes,
        "video_seconds_measured": seconds,
        "naive_expiry_ratio": naive_ratio,
        "photo_sizes": {size: photos[size]["size"] for size in PHOTOS},
    }
    return actions, facts


def _per_unit(
    average: Callable[..., ActionCost],
    actions: dict[str, ActionCost],
    photos: dict[str, dict[str, Any]],
    ladder: dict[str, Any],
) -> list[dict[str, Any]]:
    """The issue's list of unit costs: each unit's CPU-seconds, peak memory and the requests made
    by the functions named (``average(action, only=...)`` is one run's cost from those alone)."""

    def row(unit: str, cost: ActionCost, peak_mb: float | None = None) -> dict[str, Any]:
        return {
            "unit": unit,
            "functions": ", ".join(
                sorted(f for f, use in cost.functions.items() if use.invocations or use.cpu_s)
            ),
            "cpu_s": round(sum(use.cpu_s for use in cost.functions.values()), 4),
            "peak_mb": round(peak_mb) if peak_mb else "",
            **{
                f"{service}_requests": round(
                    sum(n for op, n in cost.requests.items() if op.startswith(service)), 2
                )
                for service in ("dynamodb", "s3", "sqs", "scheduler")
            },
            "read_units": round(sum(cost.read_units.values()), 2),
            "write_units": round(sum(cost.write_units.values()), 2),
        }

    seconds = ladder["seconds"]
    small = FOLLOWERS[0]
    rows = [
        row(
            f"photo, {size} ({photos[size]['size']})",
            average(f"photo_upload:{size}", only={"image_processor"}),
            photos[size]["peak_rss_mb"],
        )
        for size in PHOTOS
    ]
    rows += [
        row("moderation check (a 1411 px photo)", average("photo_upload:1411 px", only={"moderation"})),
        row("video second, fast path", actions["video_fastpath_second"]),
        row("video second, both ladders", actions["video_ladder_second"], ladder["peak_rss_mb"]),
        *(
            {
                **row(f"video second, {name} ladder alone", ActionCost()),
                "cpu_s": round(ladder[codec]["cpu_s"] / seconds, 4),
            }
            for name, codec in (("AV1", "libsvtav1"), ("H.264", "libx264"))
        ),
        row(f"post ({small} followers: plan and one slice)", average(f"post:{small}")),
        row("fan-out slice (each 1,000 followers)", actions["fanout_slice"]),
        row("feed page (2 celebrities merged on read)", actions["feed_page"]),
        row("Explore request", actions["explore_request"]),
        row("Explore refresh run (nothing to recount)", actions["explore_refresh_run"]),
        row(
            "Explore refresh, each 1,000 actions since the batch",
            actions["explore_refresh_interaction"].scaled(1000),
        ),
        row("Stories tray", actions["tray_open"]),
        row(f"Story expiry ({small} followers)", actions["story_expiry"]),
        row("Story expiry, each 1,000 followers", actions["story_expiry_slice"]),
    ]
    return rows


def _naive_expiry_ratio() -> float:
    """AWS requests per expiry of a schedule per Story over the design's (``bench stories_expiry``)."""
    rows = json.loads((report.RESULTS / "stories_expiry.json").read_text())["rows"]
    return float(rows[1]["requests_per_expiry"] / rows[0]["requests_per_expiry"])


def _av1_bytes_ratio() -> float:
    """AV1's bytes over H.264's at equal VMAF: the mean BD-rate ``bench video`` measured."""
    rows = json.loads((report.RESULTS / "video.json").read_text())["rows"]
    return 1 + sum(row["AV1 BD-rate vs H.264 %"] for row in rows) / len(rows) / 100


def _media_jobs() -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Each photo size and the clip's ladders in a fresh process: CPU time and peak memory."""
    photos = {}
    for size, (name, resize) in PHOTOS.items():
        data = _natural_photo(name, resize)
        job = in_fresh_process(_photo_job, data)
        picture = Image.open(io.BytesIO(data)).convert("RGB")
        display = next(r for r in job["renditions"] if r["name"] == "display")
        q85 = io.BytesIO()
        picture.resize((display["width"], display["height"]), Image.Resampling.LANCZOS).save(
            q85, "JPEG", quality=85
        )
        photos[size] = {
            **job,
            "size": f"{picture.width}x{picture.height}",
            "q85_display_bytes": len(q85.getvalue()),
        }
        print(
            f"  {size} photo in a fresh process: {job['cpu_s']:.2f} CPU-s, {job['peak_rss_mb']:.0f} MB",
            flush=True,
        )
    ladder = in_fresh_process(_ladder_job, str(natural_clip(CLIP)))
    print(f"  {CLIP} ladders in a fresh process: {ladder['peak_rss_mb']:.0f} MB", flush=True)
    return photos, ladder


# ---------------------------------------------------------------- workloads and the report
def workloads() -> dict[str, Workload]:
    """The three scales; no author has more followers than the service has users."""
    result = {}
    for name, uploads in SCALES.items():
        users = uploads * USERS_PER_UPLOAD
        everyone = users * 2  # monthly users: about twice the daily ones
        shares: dict[int, float] = defaultdict(float)
        for followers, share in Workload(name, uploads, users).posts_by_followers.items():
            shares[int(min(followers, everyone))] += share
        result[name] = Workload(name, uploads, users, posts_by_followers=dict(shares))
    return result


def run() -> None:
    print("measuring media jobs in fresh processes", flush=True)
    photos, ladder = _media_jobs()
    print("measuring actions on the local stack", flush=True)
    tallies, scene = measure()
    actions, facts = unit_costs(tallies, scene, photos, ladder)
    template = Template(ROOT / "template.yaml")
    units = UnitCosts(
        actions=actions,
        memory_mb={spec.short_name: spec.memory_size for spec in template.functions()},
        av1_bytes_ratio=_av1_bytes_ratio(),
        q85_bytes_ratio=facts["q85_bytes_ratio"],
    )
    results = {}
    for name, workload in workloads().items():
        estimated = estimate(workload, units)
        signed = estimate(workload, _without_story_invalidation(units))
        results[name] = {
            "uploads_per_day": workload.uploads_per_day,
            "daily_active_users": round(workload.daily_active_users),
            "monthly_usd": estimated.monthly_usd,
            "monthly_usd_total": estimated.total_usd,
            "stage_share_pct": _shares(estimated),
            "peak_concurrency": estimated.peak_concurrency,
            "first_quota_hit": estimated.first_quota_hit,
            "quota_use": {
                quota: round(use, 5)
                for quota, use in sorted(estimated.quota_use.items(), key=lambda kv: -kv[1])
            },
            "table_peak_units": estimated.table_peak_units,
            "savings_vs_naive_pct": savings_pct(workload, units),
            **_av1_payback(workload, units),
            "monthly_usd_total_without_story_invalidation": signed.total_usd,
            "stage_share_pct_without_story_invalidation": _shares(signed),
        }
    _write(results, units, photos, ladder, facts)


def _shares(estimated: Estimate) -> dict[str, float]:
    return {
        stage: round(100 * usd / estimated.total_usd, 2) for stage, usd in estimated.stage_usd.items() if usd
    }


def _av1_payback(workload: Workload, units: UnitCosts) -> dict[str, float]:
    """How many seconds of watching repay one uploaded second's AV1 encoding (fast path, both
    ladders, against the H.264 ladder alone), at this workload's egress prices."""
    ours, theirs = estimate(workload, units), estimate(workload, units, Design(av1_ladder=False))
    per_day = daily_actions(workload)
    uploaded, watched = per_day["video_ladder_second"], per_day["video_view_second"]
    extra = sum(ours.stage_usd.get(s, 0.0) for s in ("video_fastpath_second", "video_ladder_second"))
    extra -= theirs.stage_usd.get("video_h264_ladder_second", 0.0)
    saved = theirs.stage_usd.get("video_view_second", 0.0) - ours.stage_usd.get("video_view_second", 0.0)
    return {
        "video_watch_seconds_per_uploaded_second": round(watched / uploaded, 1) if uploaded else 0.0,
        "video_watch_seconds_to_repay_av1": round((extra / uploaded) / (saved / watched), 1)
        if saved
        else 0.0,
    }


def _without_story_invalidation(units: UnitCosts) -> UnitCosts:
    """The same design with Story media behind URLs that lapse at expiry (CloudFront signed URLs),
    so an expiry invalidates nothing: what-if only, not built."""
    actions = {
        name: _with(cost, invalidation_paths=0.0) if name.startswith("story_expiry") else cost
        for name, cost in units.actions.items()
    }
    return replace(units, actions=actions)


def _action_rows(units: UnitCosts) -> list[dict[str, Any]]:
    rows = []
    for name, cost in units.actions.items():
        rows.append(
            {
                "action": name,
                "cpu_s": round(sum(use.cpu_s for use in cost.functions.values()), 4),
                "invocations": round(sum(use.invocations for use in cost.functions.values()), 3),
                "aws_requests": round(sum(cost.requests.values()), 2),
                "read_units": round(sum(cost.read_units.values()), 2),
                "write_units": round(sum(cost.write_units.values()), 2),
                "bytes_stored": round(cost.bytes_stored),
                "bytes_delivered": round(cost.bytes_delivered),
            }
        )
    return rows


def _write(
    results: dict[str, Any],
    units: UnitCosts,
    photos: dict[str, dict[str, Any]],
    ladder: dict[str, Any],
    facts: dict[str, Any],
) -> None:
    rows = [
        {
            "workload": name,
            "uploads_per_day": f"{r['uploads_per_day']:,.0f}",
            "monthly_usd": f"{r['monthly_usd_total']:,.0f}",
            **{f"{service}_usd": f"{usd:,.0f}" for service, usd in r["monthly_usd"].items()},
            "peak_concurrency": sum(r["peak_concurrency"].values()),
            "first_quota_hit": r["first_quota_hit"]["quota"] if r["first_quota_hit"]["hit"] else "none",
            **{f"saves_{k}_pct": v for k, v in r["savings_vs_naive_pct"].items()},
        }
        for name, r in results.items()
    ]
    action_rows = _action_rows(units)
    media = {
        "photos": {
            size: {
                "size": job["size"],
                "cpu_s": round(job["cpu_s"], 3),
                "peak_rss_mb": round(job["peak_rss_mb"]),
                "parallelism": round(job["cpu_s"] / job["wall_s"], 2),
            }
            for size, job in photos.items()
        },
        "video_per_second": {
            "av1_ladder_cpu_s": round(ladder["libsvtav1"]["cpu_s"] / ladder["seconds"], 3),
            "h264_ladder_cpu_s": round(ladder["libx264"]["cpu_s"] / ladder["seconds"], 3),
            "ladder_peak_rss_mb": round(ladder["peak_rss_mb"]),
        },
    }
    summary = (
        "Monthly AWS bill (us-east-1 list prices) at three scales, from unit costs measured on the"
        f" local stack in this run. 95m: ${results['95m']['monthly_usd_total']:,.0f} a month; first"
        f" quota hit: {results['95m']['first_quota_hit']['quota']}."
    )
    path = report.write(
        "cost",
        summary,
        rows,
        {
            "request_latency_s": units.request_latency_s,
            "av1_bytes_ratio": round(units.av1_bytes_ratio, 3),
            "av1_watch_share": units.av1_watch_share,
            "q85_bytes_ratio": round(units.q85_bytes_ratio, 3),
            "photo_mix": PHOTO_MIX,
            "client_classes": CLIENT_CLASSES,
            "prices_read_on": aws_prices.READ_ON,
            "workloads": {name: asdict(workload) for name, workload in workloads().items()},
            **{name: value for name, value in facts.items() if name != "per_unit"},
        },
        headline={
            "workloads": results,
            "unit_costs": facts["per_unit"],
            "media": media,
            "units": {name: asdict(cost) for name, cost in units.actions.items()},
        },
    )
    _plot(results)
    table = [
        *_markdown("Unit costs, measured", facts["per_unit"]),
        *_markdown("Per action, as the model multiplies them", action_rows),
        "## Share of the bill by stage (%)",
        "",
    ]
    for name, r in results.items():
        top = list(r["stage_share_pct"].items())[:6]
        table.append(f"- {name}: " + ", ".join(f"{stage} {share}" for stage, share in top))
    table += ["", "![bill by stage](cost.png)", ""]
    path.write_text(path.read_text() + "\n".join(table))
    print(path.read_text())


def _markdown(title: str, rows: list[dict[str, Any]]) -> list[str]:
    return [
        "",
        f"## {title}",
        "",
        "| " + " | ".join(rows[0]) + " |",
        "| " + " | ".join("---" for _ in rows[0]) + " |",
        *("| " + " | ".join(str(v) for v in row.values()) + " |" for row in rows),
        "",
    ]


def _plot(results: dict[str, Any]) -> None:
    figure, (shares, signed, bills) = pyplot.subplots(1, 3, figsize=(18, 5.5))
    for axes, key, title in (
        (shares, "stage_share_pct", "as built"),
        (signed, "stage_share_pct_without_story_invalidation", "Story media behind signed URLs (what-if)"),
    ):
        stages = sorted({s for r in results.values() for s in list(r[key])[:8]})
        bottom = [0.0] * len(results)
        for stage in stages:
            values = [r[key].get(stage, 0.0) for r in results.values()]
            axes.bar(list(results), values, bottom=bottom, label=stage)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        axes.set_title(title, fontsize=10)
        axes.set_ylabel("share of the monthly bill (%)")
        axes.legend(fontsize=7, loc="lower left")
    services = list(next(iter(results.values()))["monthly_usd"])
    width = 0.8 / len(results)
    for n, (name, r) in enumerate(results.items()):
        positions = [i + n * width for i in range(len(services))]
        bills.bar(positions, [max(r["monthly_usd"][s], 0.01) for s in services], width, label=name)
    bills.set_xticks([i + width for i in range(len(services))], services, rotation=45, fontsize=8)
    bills.set_yscale("log")
    bills.set_title("bill by service", fontsize=10)
    bills.set_ylabel("US$ a month")
    bills.legend()
    figure.tight_layout()
    figure.savefig(report.RESULTS / "cost.png", dpi=100)
