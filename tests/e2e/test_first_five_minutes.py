"""What a newcomer runs first: the quickstart against a fresh stack, then the seed that makes
Explore personal on day one."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from aperture.core.aws import client
from aperture.explore import batch
from aperture.explore.offline import read_log
from aperture_client import Aperture
from aperture_local.stack import LocalStack
from simulator.world import generate, log_rows
from tests.conftest import ROOT
from tests.e2e.conftest import UNHURRIED_EXPLORE, ApiStack, serving
from tools.seed import WORLD, seed

pytestmark = pytest.mark.slow(seconds=20)


@pytest.fixture(scope="module")
def api() -> Iterator[ApiStack]:
    """A fresh stack, with Explore's budgets a loaded test machine meets."""
    with LocalStack(parameters=UNHURRIED_EXPLORE) as stack, serving(stack) as served:
        yield served


def test_the_quickstart_runs_against_a_fresh_stack(api: ApiStack) -> None:
    # When the quickstart runs as the README says, against the stack's API
    run = subprocess.run(
        [sys.executable, str(ROOT / "examples/quickstart.py"), "--api", api.client.base_url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    # Then it exits 0 having done every step, the double like counted once
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == f"API {api.client.base_url}: ok"
    assert "  upload ready" in lines
    assert "liked twice: like_count 1 (changed True, then False)" in lines
    assert any(line.startswith("story s_") and "bob's tray: ['u_alice_" in line for line in lines)
    assert any(line.startswith("bob's feed: ['p_") for line in lines)
    assert "bob's explore: 0 posts, fallbacks ['no_model']" in lines  # until the first batch
    assert any(line.startswith("GET ") and ": 200, " in line and "image/jpeg" in line for line in lines)
    assert "  Cache-Control: public, max-age=31536000, immutable" in lines


def test_seeding_gives_explore_personal_pages_with_reasons(
    api: ApiStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a world a fifth of the demo's size, and a batch that learns from as few posts and actions
    world = generate(replace(WORLD, users=16, posts=40, sessions_per_user=1.5))
    monkeypatch.setattr(batch, "MIN_INTERACTIONS", 100)
    monkeypatch.setattr(batch, "MIN_POSTS", 30)
    posts = api.stack.environment["POSTS_TABLE"]
    posts_before = client("dynamodb").scan(TableName=posts, Select="COUNT")["Count"]
    logged_before = len(read_log(time.time() - 3600, time.time() + 60))  # the quickstart's like, say

    # When it is seeded through the API and the batch runs
    report = seed(Aperture(api.client.base_url), api.stack.function("feature_batch").invoke, world)

    # Then a model is published from every action sent, and a seeded person's Explore is personal
    rows = list(log_rows(world.interactions))
    likes = {(row["user_id"], row["post_id"]) for row in rows if row["action"] == "like"}
    assert report["published"] is True, report
    assert report["posts"] == posts_before + 40
    assert report["interactions"] == logged_before + sum(row["action"] != "like" for row in rows) + len(likes)
    page = api.as_user(str(world.user_ids[0])).explore_page()
    assert page.fallbacks == []
    assert page.items
    assert {"interest", "community"} & {item.reason.source for item in page.items}
