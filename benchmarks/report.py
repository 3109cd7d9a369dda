"""Writes a benchmark's results as JSON and as a short markdown table under benchmarks/results/."""

from __future__ import annotations

import json
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def write(
    name: str,
    summary: str,
    rows: list[dict[str, Any]],
    parameters: dict[str, Any],
    *,
    command: str | None = None,
    headline: dict[str, Any] | None = None,
) -> Path:
    """``headline``: the figures a reader looks for first, as top-level keys of the JSON;
    ``command``: what follows ``pipenv run`` to reproduce it (``bench NAME`` when not given)."""
    RESULTS.mkdir(exist_ok=True)
    document = {
        "benchmark": name,
        "summary": summary,
        **(headline or {}),
        "ran_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpu": platform.processor() or platform.machine()},
        "parameters": parameters,
        "rows": rows,
    }
    (RESULTS / f"{name}.json").write_text(json.dumps(document, indent=2) + "\n")
    columns = list(rows[0])
    table = [
        f"# {name}",
        "",
        summary,
        "",
        "| " + " | ".join(columns) + " |",
        "| " + " | ".join("---" for _ in columns) + " |",
        *("| " + " | ".join(_cell(row[c]) for c in columns) + " |" for row in rows),
        "",
        f"Parameters: {json.dumps(parameters)}. Reproduce: `pipenv run {command or f'bench {name}'}`.",
        "",
    ]
    path = RESULTS / f"{name}.md"
    path.write_text("\n".join(table))
    return path


def _cell(value: Any) -> str:
    if not isinstance(value, float):
        return str(value)
    return f"{value:.4f}" if abs(value) < 1 else f"{value:.2f}"  # fractions (SSIM, recall) need four places
