"""Shared fixtures. No test reaches the network: AWS is moto, in-process or as a local server."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"

os.environ.update(
    {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
)

from aperture.core.clock import ManualClock, set_clock  # noqa: E402  (after the environment is set)

_original_ast_parse = ast.parse
_ast_parsing = threading.RLock()


def _ast_parse_one_thread_at_a_time(*args: Any, **kwargs: Any) -> Any:
    """pytest parses every module of a pytest plugin's package (schemathesis, hypothesis) with
    ``ast.parse`` when it is first imported, to rewrite its asserts, and such imports happen lazily
    inside tests, beside the local stack's threads. CPython 3.11 keeps ``ast.parse``'s recursion
    count per interpreter, not per thread, so two threads parsing at once can fail one of them with
    "SystemError: AST constructor recursion depth mismatch" (python/cpython#106905)."""
    with _ast_parsing:
        return _original_ast_parse(*args, **kwargs)


ast.parse = _ast_parse_one_thread_at_a_time


def load_event(relative: str) -> dict[str, Any]:
    """A sample event from ``events/``, the same files ``pipenv run invoke`` takes."""
    event: dict[str, Any] = json.loads((EVENTS / relative).read_text())
    return event


def function_module(name: str) -> Any:
    """A function's handler module, loaded from its own folder as Lambda loads ``app.py``."""
    spec = importlib.util.spec_from_file_location(f"{name}_app", ROOT / "functions" / name / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def natural_picture(width: int, height: int, seed: int = 1) -> Image.Image:
    """A photograph's statistics: a 1/f amplitude spectrum (the same at every scale), in colour."""
    rng = np.random.default_rng(seed)
    radius = np.hypot(np.fft.fftfreq(height)[:, None], np.fft.rfftfreq(width)[None, :])
    amplitude = 1 / np.maximum(radius, 1 / width)
    planes = []
    for _ in range(3):
        plane = np.fft.irfft2(amplitude * np.exp(2j * np.pi * rng.random(amplitude.shape)), s=(height, width))
        planes.append(128 + 40 * (plane - plane.mean()) / plane.std())
    return Image.fromarray(np.clip(np.stack(planes, -1), 0, 255).astype(np.uint8))


def eventually(check: Callable[[], Any], timeout: float = 60.0, interval: float = 0.05) -> Any:
    """Poll ``check`` until it returns something truthy; fail with its last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    value = check()
    while not value:
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout}s (last value: {value!r})")
        time.sleep(interval)
        value = check()
    return value


@pytest.fixture
def manual_clock() -> Iterator[ManualClock]:
    """Given the domain clock frozen, to be moved only by the test."""
    clock = ManualClock(start=1_795_000_000.0)
    previous = set_clock(clock)
    yield clock
    set_clock(previous)


def _expected_seconds(item: pytest.Item) -> float:
    marker = item.get_closest_marker("slow")
    return float(marker.kwargs.get("seconds", 10)) if marker else 0.0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest modules first (by their ``slow`` marker's seconds), then the other end-to-end
    ones: the parallel workers, each given whole modules in this order (``--no-loadscope-reorder``),
    then end together instead of waiting on one long module started last."""
    items.sort(key=lambda item: (-_expected_seconds(item), "e2e" not in item.path.parts))
