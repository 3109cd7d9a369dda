"""The README's commands, run the way a developer runs them."""

from __future__ import annotations

import gzip
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, eventually

pytestmark = pytest.mark.slow(seconds=40)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _health(url: str) -> dict[str, object] | None:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            body: dict[str, object] = json.loads(response.read())
            return body
    except OSError:
        return None


def test_the_local_stack_serves_health_within_30_seconds_and_stops_cleanly(tmp_path: Path) -> None:
    # Given the local stack started as `pipenv run local` starts it
    port = _free_port()
    state_file = tmp_path / "local.json"
    command = [
        sys.executable,
        "-m",
        "aperture_local",
        "--port",
        str(port),
        "--moto-port",
        "0",
        "--app-port",
        "0",
    ]
    process = subprocess.Popen(
        [*command, "--state-file", str(state_file)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        # When a client asks for its health, then it answers within 30 s
        started = time.monotonic()
        body = eventually(lambda: _health(f"http://127.0.0.1:{port}/health"), timeout=30, interval=0.2)
        assert body["status"] == "ok"
        assert time.monotonic() - started < 30
        assert json.loads(state_file.read_text())["api"] == f"http://127.0.0.1:{port}"
        # And the web client is served, told where the API is
        app = json.loads(state_file.read_text())["app"]
        with urllib.request.urlopen(app.replace("index.html", "config.json")) as reply:
            assert json.load(reply)["api"] == f"http://127.0.0.1:{port}"
    finally:
        # When it is interrupted, then it stops cleanly and removes its state file
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    lines = output.splitlines()
    assert f"API                http://127.0.0.1:{port}" in lines  # the URLs on plain lines of their own
    assert f"API document       http://127.0.0.1:{port}/docs" in lines
    assert f"media (the CDN)    http://127.0.0.1:{port}/cdn" in lines
    assert any(line.startswith("web app            http://127.0.0.1:") for line in lines)
    assert output.rstrip().endswith("stopped.")
    assert not state_file.exists()


def test_invoke_runs_one_handler_on_a_sample_event(tmp_path: Path) -> None:
    # Given no running stack, when a sample event is invoked, then the handler's response is printed
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "aperture_local.invoke",
            "media_router",
            "events/media_router/s3_object_created.json",
            "--state-file",
            str(tmp_path / "none.json"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout[result.stdout.rindex("{\n") :]) == {"batchItemFailures": []}


def test_simulate_writes_a_world_the_batch_can_read(tmp_path: Path) -> None:
    # When `pipenv run simulate` makes a small world
    command = [sys.executable, "-m", "simulator", "--users", "200", "--posts", "1500", "--days", "8"]
    finished = subprocess.run(
        [*command, "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    # Then it says what it made, and wrote the catalogue, the log in the offline store's format, the
    # follows and the ground truth
    assert "views" in finished.stdout
    assert f"saved to {tmp_path}/" in finished.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "catalogue.npz",
        "follows.json",
        "interactions.jsonl.gz",
        "truth.npz",
        "world.json",
    ]
    with gzip.open(tmp_path / "interactions.jsonl.gz", "rt") as log:
        first = json.loads(log.readline())
    assert set(first) == {"event_id", "user_id", "post_id", "action", "watch_seconds", "at", "network"}
