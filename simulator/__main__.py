"""``pipenv run simulate``: generate a world, save it, and optionally evaluate Explore on it.

The saved world is what the rest of the system reads: ``catalogue.npz`` (the posts),
``interactions.jsonl.gz`` (the log, in the offline store's line format), ``follows.json``, and
``truth.npz`` (the latent interests and qualities, for evaluation only).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np

import aperture_local  # noqa: F401  (puts the domain layer on the path, as Lambda does)
from aperture.explore.catalogue import Action, Catalogue

from .evaluation import evaluate
from .world import Truth, World, WorldSpec, generate, log_rows


def save(world: World, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        folder / "catalogue.npz", **{f.name: getattr(world.catalogue, f.name) for f in fields(Catalogue)}
    )
    np.savez_compressed(folder / "truth.npz", **{f.name: getattr(world.truth, f.name) for f in fields(Truth)})
    (folder / "follows.json").write_text(json.dumps({u: sorted(f) for u, f in world.follows.items()}))
    with gzip.open(folder / "interactions.jsonl.gz", "wt") as out:
        for row in log_rows(world.interactions):
            out.write(json.dumps(row) + "\n")
    (folder / "world.json").write_text(json.dumps({**asdict(world.spec), "now": world.now}, indent=2))


def main() -> int:
    defaults = WorldSpec()
    parser = argparse.ArgumentParser(prog="pipenv run simulate", description=__doc__)
    parser.add_argument("--users", type=int, default=defaults.users)
    parser.add_argument("--posts", type=int, default=defaults.posts)
    parser.add_argument("--days", type=float, default=defaults.days)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--out", type=Path, default=Path(".aperture/world"))
    parser.add_argument("--evaluate", action="store_true", help="train on all but the last 2 days and score")
    args = parser.parse_args()
    spec = WorldSpec(users=args.users, posts=args.posts, days=args.days, seed=args.seed)
    started = time.perf_counter()
    print(f"simulating {spec.users:,} users and {spec.posts:,} posts over {spec.days:g} days", flush=True)
    world = generate(spec)
    counts = np.bincount(world.interactions.action, minlength=len(Action))
    print(", ".join(f"{counts[a]:,} {a.name.lower()}s" for a in Action), flush=True)
    save(world, args.out)
    print(f"saved to {args.out}/ in {time.perf_counter() - started:.1f} s", flush=True)
    if args.evaluate:
        print("training on all but the last 2 days, then scoring the held-out days", flush=True)
        for scores in evaluate(world):
            quality = f"NDCG@50 {scores.ndcg_at_50:.4f}  recall@200 {scores.recall_at_200:.4f}"
            print(f"  {scores.ranker:22s} {quality}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
