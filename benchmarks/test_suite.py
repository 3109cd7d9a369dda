"""The test suite's wall time against its budgets: the whole suite (the README's test command) within
300 s and the unit tests (``pipenv run test-fast``) within 60 s on this 2-core machine.

Each command runs as a developer types it; its slowest modules (test time summed from pytest's
durations) are listed, since one long module started late sets the whole run's length.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

from . import report

ROOT = Path(__file__).resolve().parent.parent

BUDGETS = {"test": 300.0, "test-fast": 60.0}  # seconds (issue 23)
_DURATION = re.compile(r"^([\d.]+)s (?:call|setup|teardown)\s+(\S+?)::")
_COUNT = re.compile(r"(\d+) (passed|failed|skipped|errors?)")


def _forget_bytecode() -> None:
    """As on a fresh clone: the project's own modules start uncompiled (the installed packages keep
    the bytecode pip wrote)."""
    tops = [path for path in ROOT.iterdir() if path.is_dir() and not path.name.startswith(".")]
    for cache in [cache for top in tops for cache in top.rglob("__pycache__")]:
        shutil.rmtree(cache)


def measure(script: str) -> dict[str, Any]:
    print(f"  pipenv run {script} ...", flush=True)
    _forget_bytecode()
    started = time.monotonic()
    done = subprocess.run(
        ["pipenv", "run", script, "-q", "-p", "no:cacheprovider", "--durations=0"],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.monotonic() - started
    lines = done.stdout.splitlines()
    counts = {kind.rstrip("s"): int(n) for n, kind in _COUNT.findall(lines[-1] if lines else "")}
    by_module: Counter[str] = Counter()
    for line in lines:
        if found := _DURATION.match(line):
            by_module[found[2]] += float(found[1])
    return {
        "command": f"pipenv run {script}",
        "wall_s": round(wall, 1),
        "budget_s": BUDGETS[script],
        "within_budget": wall <= BUDGETS[script],
        "passed": counts.get("passed", 0),
        "failed": counts.get("failed", 0) + counts.get("error", 0),
        "skipped": counts.get("skipped", 0),
        "slowest_modules": ", ".join(f"{path} {seconds:.0f}s" for path, seconds in by_module.most_common(5)),
    }


def run() -> None:
    rows = [measure(script) for script in BUDGETS]
    for row in rows:
        print(f"  {row['command']}: {row['wall_s']} s (budget {row['budget_s']:.0f}), {row['passed']} passed")
    report.write(
        "test_suite",
        "Wall time of the README's test command and of the unit tests, against their budgets.",
        rows,
        {"budgets_s": BUDGETS},
        headline={row["command"]: row["wall_s"] for row in rows},
    )
