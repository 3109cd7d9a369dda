"""How much the local stack's wiring costs: uploads through S3 -> SQS -> router, against the handler alone.

Yardstick: the router handler invoked directly on the same S3 notification, which is the floor
any event source can reach. The difference is what moto and the SQS mapping add per upload.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

from aperture.core.aws import client
from aperture.media.uploads import is_test_event, uploaded_objects
from aperture_local.stack import LocalStack

from . import report


def _percentiles(samples_ms: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples_ms, n=100)
    return {"p50_ms": cuts[49], "p95_ms": cuts[94], "max_ms": max(samples_ms)}


def run(uploads: int = 200) -> None:
    with LocalStack() as stack:
        bucket = stack.physical_id("UploadsBucket")
        router = stack.function("media_router")
        s3 = client("s3")

        put_at: dict[str, float] = {}
        started = time.monotonic()
        for index in range(uploads):
            key = f"uploads/u_bench/m_{index:05d}/photo.jpg"
            put_at[key] = time.monotonic()
            s3.put_object(Bucket=bucket, Key=key, Body=b"\xff\xd8\xff")
            if (index + 1) % 50 == 0:
                print(f"  uploaded {index + 1}/{uploads}", flush=True)
        delivered = _wait_for_deliveries(stack, set(put_at), timeout=120)
        elapsed = max(delivered.values()) - started
        wired = [(delivered[key] - put_at[key]) * 1000 for key in put_at]

        sample = stack.log.of("media_router")[-1].event
        direct = []
        for _ in range(uploads):
            begun = time.perf_counter()
            router.invoke(sample)
            direct.append((time.perf_counter() - begun) * 1000)

    rows: list[dict[str, Any]] = [
        {
            "path": "S3 put -> SQS -> mapping -> router (local stack)",
            **_percentiles(wired),
            "uploads_per_s": uploads / elapsed,
        },
        {
            "path": "router handler invoked directly (yardstick)",
            **_percentiles(direct),
            "uploads_per_s": uploads / (sum(direct) / 1000),
        },
    ]
    path = report.write(
        "local_stack",
        "Latency from an upload landing in S3 to the router handling it, against the handler alone.",
        rows,
        {"uploads": uploads, "batch_size": 10},
    )
    print(path.read_text())


def _wait_for_deliveries(stack: LocalStack, keys: set[str], timeout: float) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen: dict[str, float] = {}
        for invocation in stack.log.of("media_router"):
            for record in invocation.event["Records"]:
                notification = json.loads(record["body"])
                if not is_test_event(notification):
                    for upload in uploaded_objects(notification):
                        seen.setdefault(upload.key, invocation.finished_at)
        if keys <= set(seen):
            return {key: seen[key] for key in keys}
        time.sleep(0.05)
    raise TimeoutError(f"{len(keys - set(seen))} uploads were not delivered within {timeout}s")
