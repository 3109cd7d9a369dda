"""CPU time per API call of the data access code, against the tree before pynamodb (the yardstick).

Both trees run the same mix of API calls (``data_access_worker.py``) in processes of their own,
against one moto server in a third process, so each process's CPU time is the API function's and
its data access alone. The yardstick is commit YARDSTICK (boto3's client with hand-built
expressions), checked out with ``git worktree``; the two alternate, REPEATS times each.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from aperture_local.motoserver import moto_server_process

from . import report

ROOT = Path(__file__).resolve().parent.parent
YARDSTICK = (
    "ac31613f8f658bf285dd44bb4e8592056708998b"  # the rooms, before pynamodb: boto3's client throughout
)
ROUNDS, REPEATS = 30, 3
GOAL = 1.10  # at most 10% more CPU per call


def _measure(tree: Path, endpoint: str) -> dict[str, float]:
    worker = [
        sys.executable,
        str(ROOT / "benchmarks/data_access_worker.py"),
        str(tree),
        endpoint,
        str(ROUNDS),
    ]
    done = subprocess.run(worker, capture_output=True, text=True, check=True, cwd=tree)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run() -> None:
    with moto_server_process() as endpoint, tempfile.TemporaryDirectory() as scratch:
        yardstick = Path(scratch) / "yardstick"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(yardstick), YARDSTICK], cwd=ROOT, check=True
        )
        try:
            runs: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
            for repeat in range(REPEATS):
                for side, tree in (("before", yardstick), ("after", ROOT)):
                    print(f"  {side}, run {repeat + 1}/{REPEATS}", flush=True)
                    runs[side].append(_measure(tree, endpoint))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(yardstick)], cwd=ROOT, check=True)
    calls = sorted(runs["after"][0])
    medians = {
        side: {call: statistics.median(run[call] for run in runs[side]) for call in calls} for side in runs
    }
    rows: list[dict[str, Any]] = [
        {
            "call": call,
            "cpu_ms_before": medians["before"][call],
            "cpu_ms_after": medians["after"][call],
            "after_over_before": medians["after"][call] / medians["before"][call],
        }
        for call in calls
    ]
    before = statistics.mean(medians["before"].values())
    after = statistics.mean(medians["after"].values())
    path = report.write(
        "data_access",
        f"CPU ms per API call (mean over the call mix of each call's median of {REPEATS} runs of {ROUNDS}"
        f" rounds), pynamodb models against the yardstick {YARDSTICK[:10]} (boto3's client);"
        f" goal: after at most {GOAL:.2f}x before.",
        rows,
        {"rounds": ROUNDS, "repeats": REPEATS, "yardstick": YARDSTICK},
        headline={
            "cpu_ms_per_call_before": before,
            "cpu_ms_per_call_after": after,
            "after_over_before": after / before,
            "meets_goal": after / before <= GOAL,
        },
    )
    print(path.read_text())
