"""``pipenv run seed``: Explore on day one. With ``pipenv run local`` running, this loads a small
simulated world through the API (people, follows, posts, views, likes, saves...) and runs the daily
Explore batch on it, so ``/explore`` answers personal pages with reasons.

Everything but the batch goes through the API with the Python client, as apps would; the batch
runs as its schedule would run it. Seeding twice is harmless: posts carry idempotency keys and
interactions event ids derived from the world, so a second run adds nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

import aperture_local  # noqa: F401  (puts the domain layer on the path, as Lambda does)
from aperture.core import clock
from aperture.explore.catalogue import KINDS
from aperture.explore.offline import read_log
from aperture_client import Aperture, ApiError
from aperture_local.stack import ROOT
from simulator.world import World, WorldSpec, generate, log_rows

# About 1,250 actions (the batch learns from 1,000 or more), sent in about two minutes. People
# follow two of the fifteen creators, so most of the catalogue is Explore's to recommend.
WORLD = WorldSpec(
    users=50,
    posts=150,
    communities=4,
    creators_share=0.3,
    days=3.0,
    sessions_per_user=2.0,
    views_per_session=10,
    follows_per_user=2,
    flagged_share=0.0,
    unmoderated_share=0.0,
    seed=11,
)
Item = TypeVar("Item")


def seed(
    api: Aperture, run_batch: Callable[[dict[str, Any]], dict[str, Any]], world: World, workers: int = 8
) -> dict[str, Any]:
    """Load ``world`` through ``api`` (a client with no token), then run the batch; the batch's report."""
    started = clock.now()
    people = {user: api.as_user(api.dev_token(user).id_token) for user in map(str, world.user_ids)}
    with ThreadPoolExecutor(workers) as pool:

        def each(stage: str, items: list[Item], call: Callable[[Item], Any]) -> list[Any]:
            return _reported(stage, len(items), pool.map(call, items))

        each("people", list(people), lambda user: _create_profile(people[user], user))
        follows = [
            (user, creator) for user, creators in world.follows.items() for creator in sorted(creators)
        ]
        each("follows", follows, lambda edge: people[edge[0]].set_follow(edge[0], edge[1], True))
        catalogue = world.catalogue
        posted = each(
            "posts",
            list(range(len(catalogue))),
            lambda n: people[str(catalogue.author_id[n])].create_post(
                caption=f"simulated {KINDS[int(catalogue.kind[n])]} {n}",
                idempotency_key=f"seed-{catalogue.post_id[n]}",
            ),
        )
        post_ids = {str(catalogue.post_id[n]): post.post_id for n, post in enumerate(posted)}
        rows = list(log_rows(world.interactions))
        each(
            "interactions", rows, lambda row: _interact(people[row["user_id"]], post_ids[row["post_id"]], row)
        )
    likes = {(row["user_id"], row["post_id"]) for row in rows if row["action"] == "like"}
    _wait_for_log(sum(row["action"] != "like" for row in rows) + len(likes), since=started - 60)
    return run_batch(_daily_tick(clock.now()))


def _create_profile(person: Aperture, user_id: str) -> None:
    try:
        person.create_user(user_id.removeprefix("u_"), display_name=f"Simulated {user_id[-4:]}")
    except ApiError as error:
        if error.status != 409:  # 409: seeded before
            raise


def _interact(person: Aperture, post_id: str, row: dict[str, Any]) -> None:
    if row["action"] == "like":
        person.like_post(post_id)
    else:
        person.record_interaction(
            post_id, row["action"], watch_seconds=row["watch_seconds"], event_id=f"seed-{row['event_id']}"
        )


def _reported(stage: str, total: int, results: Iterable[Item]) -> list[Item]:
    """The results, with a progress line every tenth of the way."""
    done: list[Item] = []
    started = time.monotonic()
    for result in results:
        done.append(result)
        if len(done) % max(1, total // 10) == 0 or len(done) == total:
            print(f"  {stage:13} {len(done):5d}/{total} ({time.monotonic() - started:.1f} s)", flush=True)
    return done


def _wait_for_log(expected: int, since: float, quiet_seconds: float = 10.0) -> None:
    """The stream writes the batch's log asynchronously: wait until it holds what was sent, or has
    stopped growing (a second seeding sends only what was logged already)."""
    logged, grew_at = -1, time.monotonic()
    while logged < expected and time.monotonic() - grew_at < quiet_seconds:
        if (now_logged := len(read_log(since, clock.now() + 60))) > logged:
            logged, grew_at = now_logged, time.monotonic()
        time.sleep(0.5)
    print(f"  logged        {logged:5d}", flush=True)


def _daily_tick(now: float) -> dict[str, Any]:
    """The daily schedule's event, for now: its time is the model's version."""
    event: dict[str, Any] = json.loads((ROOT / "events/feature_batch/daily.json").read_text())
    return {**event, "time": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}


def main(argv: list[str] | None = None) -> int:
    from aperture_local.invoke import attached, running_stack

    parser = argparse.ArgumentParser(prog="pipenv run seed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=8, help="API calls in flight")
    args = parser.parse_args(argv)
    state = running_stack()
    if state is None:
        print("no local stack is running: start one with `pipenv run local`", file=sys.stderr)
        return 2
    batch = attached("feature_batch", state)
    world = generate(WORLD)
    print(f"seeding {state['api']}: {len(world.user_ids)} people, {len(world.catalogue)} posts", flush=True)
    report = seed(
        Aperture(state["api"]), lambda event: batch.invoke(event, source="seed"), world, args.workers
    )
    if not report.get("published"):
        print(f"the batch published no model: {report}", file=sys.stderr)
        return 1
    user = str(world.user_ids[0])
    page = Aperture(state["api"]).as_user(Aperture(state["api"]).dev_token(user).id_token).explore_page()
    print(f"model {report['version']}: {report['interactions']} interactions, {report['posts']} posts")
    sources = Counter(item.reason.source for item in page.items)
    print(f"explore for {user}: {len(page.items)} posts, by source {dict(sources.most_common())}")
    print(
        f"try it:  curl -H 'Authorization: Bearer <token>' {state['api']}/explore  (POST /auth/token for one)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
