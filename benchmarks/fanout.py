"""Feed cost: DynamoDB requests and write units per post by follower count, and feed-read latency.

Writes: each post goes through the real fan-out function (plan, then every slice it queued)
against moto's server, counting every DynamoDB and SQS request the function makes. Audiences up
to 10K are real edges; at 100K and 1M the follower count is simulated (those authors are
celebrities, whose fan-out never lists followers). Yardstick: fan-out on write for every author,
ceil(followers / 25) BatchWriteItem requests (measured where the audience is real, computed above).

Reads: ``GET /feed``'s domain call for viewers following 0, 10, 100 and 1,000 celebrities (plus
20 fanned-out authors), cold (fresh caches) and warm, against a moto server in its own process (so
its CPU is not the reader's). Yardstick: fan-out on read, one query per followed author, merged in
memory.
"""

from __future__ import annotations

import heapq
import json
import math
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from aperture.core.aws import client
from aperture.core.config import settings
from aperture.core.tables import write_batch
from aperture.feed.home import (
    FEED_WINDOW_SECONDS,
    MERGE_GROUP,
    clear_caches,
    feed_key,
    feed_row,
    followed_authors,
    read_feed,
)
from aperture.feed.tables import FeedRow
from aperture.social.posts import posts_by_id
from aperture.social.tables import Post
from aperture_local.items import to_item
from aperture_local.motoserver import moto_server_process
from aperture_local.stack import LocalStack

from . import report

FOLLOWER_COUNTS = (10, 1_000, 10_000, 100_000, 1_000_000)
CELEBRITY_COUNTS = (0, 10, 100, 1_000)
READS = 60
COUNTED = ("dynamodb", "sqs")  # the services whose requests the counts include
NAIVE_QUERIES = 6_000  # the yardstick's queries per row: it makes one per followed author and read


class RequestCounter:
    """Every AWS request the shared clients make, by service and operation, with write units."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.write_units = 0

    def __call__(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.requests[f"{model.service_model.service_name}.{model.name}"] += 1
        if model.name == "BatchWriteItem":
            self.write_units += sum(
                _units(request) for requests in params["RequestItems"].values() for request in requests
            )
        elif model.name in ("PutItem", "UpdateItem", "DeleteItem"):
            self.write_units += _units(params)

    def total(self, service: str) -> int:
        return sum(count for name, count in self.requests.items() if name.startswith(service))


def _units(request: dict[str, Any]) -> int:
    """Write units: one per started KB of the item (an estimate from its serialised size)."""
    item = request.get("PutRequest", {}).get("Item") or request.get("Item") or {}
    return max(1, math.ceil(len(json.dumps(item)) / 1024))


@contextmanager
def counting(
    counter: RequestCounter | None = None, services: tuple[str, ...] = COUNTED
) -> Iterator[RequestCounter]:
    counter = counter or RequestCounter()
    clients = [client(service) for service in services]
    for each in clients:
        each.meta.events.register("before-parameter-build.*.*", counter)
    try:
        yield counter
    finally:
        for each in clients:
            each.meta.events.unregister("before-parameter-build.*.*", counter)


def _put(table: str, items: list[dict[str, Any]]) -> None:
    """Seed a table (not counted)."""
    requests = [{"PutRequest": {"Item": to_item(item)}} for item in items]
    for start in range(0, len(requests), 25):
        client("dynamodb").batch_write_item(RequestItems={table: requests[start : start + 25]})


def _sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for message in messages
        ]
    }


def _drain(stack: LocalStack, counter: RequestCounter, services: tuple[str, ...] = COUNTED) -> int:
    """Run the fan-out function on everything queued, as its event source would; returns messages.

    Only the function's own requests (to ``services``) are counted, not the event source's polling."""
    queue_url = stack.environment["FANOUT_QUEUE_URL"]
    queue_arn = client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    handled = 0
    while True:
        messages = (
            client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        )
        if not messages:
            return handled
        with counting(counter, services):
            response = stack.function("fanout").invoke(_sqs_event(messages, queue_arn))
        assert response == {"batchItemFailures": []}, response
        client("sqs").delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )
        handled += len(messages)


def _author(stack: LocalStack, author_id: str, followers: int, real: bool) -> None:
    env = stack.environment
    _put(env["USERS_TABLE"], [{"user_id": author_id, "follower_count": followers, "following_count": 0}])
    if real:
        _put(env["GRAPH_TABLE"], follower_edges(author_id, followers))


def follower_edges(author_id: str, followers: int) -> list[dict[str, Any]]:
    """Follow edges of ``followers`` made-up users to the author, as following writes them."""
    return [
        {
            "follower_id": f"{author_id}_f{i:07d}",
            "followee_id": author_id,
            "following": True,
            "updated_at": 1,
            "active_followee_id": author_id,
            "audience_of": author_id,
        }
        for i in range(followers)
    ]


def _write_cost(stack: LocalStack) -> list[dict[str, Any]]:
    threshold = settings().celebrity_follower_threshold
    rows = []
    for followers in FOLLOWER_COUNTS:
        author_id = f"u_author_{followers}"
        celebrity = followers >= threshold
        print(f"  writes: {followers:>9,} followers ({'celebrity' if celebrity else 'normal'})", flush=True)
        _author(stack, author_id, followers, real=not celebrity)
        post = {
            "post_id": f"p_bench_{followers}",
            "author_id": author_id,
            "created_at": time.time(),
            "state": "published",
        }
        _put(stack.environment["POSTS_TABLE"], [post])
        job = {k: post[k] for k in ("post_id", "author_id", "created_at")}
        client("sqs").send_message(
            QueueUrl=stack.environment["FANOUT_QUEUE_URL"], MessageBody=json.dumps(job)
        )
        counter = RequestCounter()
        messages = _drain(stack, counter)
        writes = counter.requests["dynamodb.BatchWriteItem"] + sum(
            counter.requests[f"dynamodb.{op}"] for op in ("PutItem", "UpdateItem", "DeleteItem")
        )
        goal = 5 if celebrity else math.ceil((followers + 1) / 25) + 5
        rows.append(
            {
                "followers": followers,
                "delivery": "merge on read" if celebrity else "fan-out on write",
                "dynamodb_requests": counter.total("dynamodb"),
                "dynamodb_writes": writes,
                "write_units": counter.write_units,
                "sqs_messages": messages,
                "goal_requests": f"<= {goal}" + (" writes" if celebrity else ""),
                "meets_goal": (writes if celebrity else counter.total("dynamodb")) <= goal,
                "yardstick_fanout_on_write_requests": math.ceil(followers / 25),
            }
        )
    return rows


def _read_world(stack: LocalStack, celebrities: int, viewer_id: str) -> None:
    env = stack.environment
    now = time.time()
    normal = [f"u_rn_{viewer_id}_{i}" for i in range(20)]
    stars = [f"u_rc_{i:03d}" for i in range(celebrities)]
    users = [{"user_id": viewer_id, "follower_count": 0}]
    users += [
        {
            "user_id": s,
            "follower_count": 1_000_000,
            "merge_group": MERGE_GROUP,
            "merge_until": now + FEED_WINDOW_SECONDS,
            "merged_head": {feed_key(_created(now, k, 20 + i), f"p_{s}_{k}") for k in range(5)},
        }
        for i, s in enumerate(stars)
    ]
    _put(env["USERS_TABLE"], users)
    _put(
        env["GRAPH_TABLE"],
        [
            {"follower_id": viewer_id, "followee_id": a, "following": True, "updated_at": 1}
            for a in normal + stars
        ],
    )
    posts = []
    for index, author in enumerate(normal + stars):
        for k in range(5):
            created = _created(now, k, index)
            posts.append(
                {
                    "post_id": f"p_{author}_{k}",
                    "author_id": author,
                    "created_at": created,
                    "state": "published",
                    "delivery": "merge" if author in stars else "fanout",
                    "caption": "x" * 80,
                }
            )
    _put(env["POSTS_TABLE"], posts)
    write_batch(FeedRow, puts=[feed_row(viewer_id, p) for p in posts if p["delivery"] == "fanout"])


def _created(now: float, k: int, author_index: int) -> float:
    """The k-th newest post of the world's author_index-th author: hourly, authors a second apart."""
    return now - 3600 * k - author_index


def _naive_read(viewer_id: str, limit: int) -> list[str]:
    """Fan-out on read: every followed author's newest posts, one query each, merged in memory."""
    newest: list[tuple[float, str]] = []
    for author in followed_authors(viewer_id):
        posts = Post.by_author.query(author, scan_index_forward=False, limit=limit)
        newest += [(float(post.created_at), post.post_id) for post in posts]
    top = [post_id for _, post_id in heapq.nlargest(limit, newest)]
    found = posts_by_id(top)
    return [post_id for post_id in top if post_id in found]


def _timed(read: Any, reads: int, cold: bool) -> tuple[dict[str, float], float]:
    samples = []
    with counting() as counter:
        for _ in range(reads):
            if cold:
                clear_caches()
            begun = time.perf_counter()
            read()
            samples.append((time.perf_counter() - begun) * 1000)
    cuts = statistics.quantiles(samples, n=100)
    return {"p50_ms": cuts[49], "p95_ms": cuts[94], "p99_ms": cuts[98]}, counter.total("dynamodb") / reads


def _read_cost(stack: LocalStack) -> list[dict[str, Any]]:
    rows = []
    for celebrities in CELEBRITY_COUNTS:
        viewer = f"u_viewer_{celebrities}"
        print(f"  reads: viewer following {celebrities} celebrities", flush=True)
        _read_world(stack, celebrities, viewer)
        page = read_feed(viewer, 25, None)
        assert len(page["items"]) == 25, len(page["items"])
        naive_reads = min(READS, NAIVE_QUERIES // (celebrities + 20))
        for name, read, cold, reads in (
            ("merge on read, cold caches", partial(read_feed, viewer, 25, None), True, READS),
            ("merge on read, warm caches", partial(read_feed, viewer, 25, None), False, READS),
            ("yardstick: fan-out on read", partial(_naive_read, viewer, 25), True, naive_reads),
        ):
            latency, requests = _timed(read, reads, cold)
            rows.append(
                {
                    "celebrities_followed": celebrities,
                    "read": name,
                    "reads": reads,
                    **latency,
                    "dynamodb_requests": requests,
                }
            )
    return rows


def run() -> None:
    with moto_server_process() as endpoint, LocalStack(endpoint=endpoint, event_sources=False) as stack:
        read_rows = _read_cost(stack)  # first: moto's queries slow down as its tables grow
        write_rows_table = _write_cost(stack)
    report.write(
        "fanout",
        "DynamoDB requests and write units per post by follower count (goal: a celebrity post at most"
        " 5 writes; a normal post at most ceil(followers/25) + 5 requests).",
        write_rows_table,
        {"celebrity_threshold": settings().celebrity_follower_threshold, "slice": 1000},
    )
    path = report.write(
        "feed_read",
        f"GET /feed (25 posts) against a moto server in its own process, {READS} reads per row;"
        " viewers also follow 20 fanned-out authors.",
        read_rows,
        {"reads": READS, "page": 25},
        command="bench fanout",
    )
    print((report.RESULTS / "fanout.md").read_text())
    print(path.read_text())
