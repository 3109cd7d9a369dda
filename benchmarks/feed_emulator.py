"""Where a feed page's time goes against moto: each read's server time, and the emulator's collector.

``bench fanout`` times ``GET /feed``'s domain call against a moto server in its own process. This
splits one cold page at 0 and 1,000 celebrities into its reads, each timed alone; shares out a
Query's time inside moto (run in-process under cProfile) between answering it and serializing the
answer; and times cold pages at 0, 10 and 100 celebrities against two moto servers in one run: as
``bench fanout`` starts it (the yardstick) and with its garbage collector's thresholds raised, so
what the collector adds to the tail shows apart from what the reads cost.
"""

from __future__ import annotations

import cProfile
import pstats
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from typing import Any

import boto3
from moto import mock_aws

from aperture.feed import home
from aperture.social import blocks
from aperture.social.posts import posts_by_id
from aperture_local.motoserver import STARTUP_SECONDS, answers, free_port
from aperture_local.stack import LocalStack

from . import report
from .fanout import _read_world, _timed

READS = 60
CALLS = 40  # timings of each read alone
RAISED = (100_000, 50, 100)  # gc.set_threshold in the second server
SERVERS = {"as bench fanout starts it (yardstick)": None, f"collector thresholds {RAISED}": RAISED}


@contextmanager
def _server(thresholds: tuple[int, int, int] | None) -> Iterator[str]:
    """``moto.server`` in a process of its own, its collector's thresholds set first if given."""
    port = free_port()
    tuned = f"import gc; gc.set_threshold{thresholds}; " if thresholds else ""
    code = f"{tuned}import runpy, sys; sys.argv = ['moto.server', '-H', '127.0.0.1', '-p', '{port}']; "
    code += "runpy.run_module('moto.server', run_name='__main__')"
    server = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not answers(port):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"moto.server did not start on port {port}")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def _median_ms(call: Callable[[], Any]) -> float:
    samples = []
    for _ in range(CALLS):
        home.clear_caches()
        begun = time.perf_counter()
        call()
        samples.append((time.perf_counter() - begun) * 1000)
    return round(sorted(samples)[len(samples) // 2], 1)


def _reads(viewer: str) -> dict[str, float]:
    """A cold page's reads of ``viewer``, each alone, median ms."""
    page_posts = {post["post_id"] for post in home.read_feed(viewer, 25, None)["items"]}
    followed = home.followed_authors(viewer)
    merged = home.merged_authors(time.time())
    with ThreadPoolExecutor(max_workers=16) as pool:
        return {
            "whole page": _median_ms(partial(home.read_feed, viewer, 25, None)),
            "follows": _median_ms(partial(home.followed_authors, viewer)),
            "blocks": _median_ms(partial(blocks.blocked_by, viewer)),
            "merged-author list": _median_ms(partial(home.merged_authors, time.time())),
            "heads of followed celebrities": _median_ms(
                partial(home.merged_heads, sorted(followed & merged), pool)
            ),
            "feed rows (26, keys only)": _median_ms(lambda: home._row_source(viewer, None, 25).head()),
            "posts (25)": _median_ms(partial(posts_by_id, page_posts)),
        }


def _serializer_share() -> float:
    """Of moto's time answering a Query of 26 items (4 attributes each), the share spent serializing."""
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        keys = [{"AttributeName": "u", "KeyType": "HASH"}, {"AttributeName": "k", "KeyType": "RANGE"}]
        types = [{"AttributeName": name, "AttributeType": "S"} for name in ("u", "k")]
        dynamodb.create_table(
            TableName="t", KeySchema=keys, AttributeDefinitions=types, BillingMode="PAY_PER_REQUEST"
        )
        for n in range(100):
            item = {"u": "v", "k": f"{n:013d}#p_{n}", "post_id": f"p_{n}", "author_id": "a" * 20}
            dynamodb.put_item(TableName="t", Item={name: {"S": value} for name, value in item.items()})
        query = partial(
            dynamodb.query,
            TableName="t",
            KeyConditionExpression="u = :v",
            ExpressionAttributeValues={":v": {"S": "v"}},
            ScanIndexForward=False,
            Limit=26,
        )
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(50):
            query()
        profile.disable()
    cumulative = {
        (path.rsplit("/moto/", 1)[-1], name): entry[3]
        for (path, _, name), entry in pstats.Stats(profile).stats.items()  # type: ignore[attr-defined]
    }
    answering = cumulative[("dynamodb/responses.py", "call_action")]
    return round(cumulative[("core/serialize.py", "serialize")] / answering, 3)


def run() -> None:
    share = _serializer_share()  # first: the stacks below point this process's clients at their servers
    rows: list[dict[str, Any]] = []
    reads: dict[str, dict[str, float]] = {}
    for name, thresholds in SERVERS.items():
        print(f"  moto server {name}", flush=True)
        with _server(thresholds) as endpoint, LocalStack(endpoint=endpoint, event_sources=False) as stack:
            for celebrities in (0, 10, 100, 1_000) if thresholds is None else (0, 10, 100):
                viewer = f"u_viewer_{celebrities}"
                _read_world(stack, celebrities, viewer)
                home.read_feed(viewer, 25, None)
                if thresholds is None and celebrities in (0, 1_000):
                    reads[f"{celebrities} celebrities"] = _reads(viewer)
                if celebrities < 1_000:
                    latency, requests = _timed(partial(home.read_feed, viewer, 25, None), READS, cold=True)
                    rows.append(
                        {
                            "server": name,
                            "celebrities_followed": celebrities,
                            **{key: round(value, 1) for key, value in latency.items()},
                            "dynamodb_requests": requests,
                        }
                    )
    baseline = {row["celebrities_followed"]: row for row in rows if row["server"] == next(iter(SERVERS))}
    tuned = {row["celebrities_followed"]: row for row in rows if row["server"] != next(iter(SERVERS))}
    tails = ", ".join(
        f"{count}: {baseline[count]['p99_ms']:.0f} -> {tuned[count]['p99_ms']:.0f} ms"
        for count in sorted(tuned)
    )
    alone = reads["0 celebrities"]
    parts = sum(ms for read, ms in alone.items() if read != "whole page")
    path = report.write(
        "feed_emulator",
        f"A cold feed page against moto's server, {READS} pages a row: its reads' server time, each alone"
        f" (median of {CALLS}; at 0 celebrities they add to {parts:.0f} ms against the page's"
        f" {alone['whole page']:.0f}); moto spends"
        f" {share:.0%} of a Query's time serializing the answer; raising the server's collector"
        f" thresholds moves p99 by celebrities followed {tails}.",
        rows,
        {"reads": READS, "calls": CALLS, "raised_thresholds": RAISED},
        headline={"read_ms": reads, "serializer_share_of_query": share},
    )
    print(path.read_text())
