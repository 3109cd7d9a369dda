"""``pipenv run bench NAME``: run one benchmark; ``--list`` names them."""

from __future__ import annotations

import argparse
import sys

import aperture_local  # noqa: F401  (puts the domain layer on the path, as Lambda does)

from . import (
    account_deletion,
    cost,
    data_access,
    explore,
    explore_10m,
    explore_quality,
    fanout,
    feed_emulator,
    images,
    local_stack,
    pdq,
    polyglot,
    soak,
    sr,
    sr_deblock,
    stories_expiry,
    test_suite,
    video,
)

BENCHMARKS = {
    "account_deletion": account_deletion,
    "cost": cost,
    "data_access": data_access,
    "explore": explore,
    "explore_10m": explore_10m,
    "explore_quality": explore_quality,
    "fanout": fanout,
    "feed_emulator": feed_emulator,
    "images": images,
    "local_stack": local_stack,
    "pdq": pdq,
    "polyglot": polyglot,
    "soak": soak,
    "sr": sr,
    "sr_deblock": sr_deblock,
    "stories_expiry": stories_expiry,
    "test_suite": test_suite,
    "video": video,
}


def main() -> int:
    parser = argparse.ArgumentParser(prog="pipenv run bench", description=__doc__)
    parser.add_argument("name", nargs="?", choices=sorted(BENCHMARKS))
    parser.add_argument("--list", action="store_true", help="name every benchmark and what it measures")
    args = parser.parse_args()
    if args.list or not args.name:
        for name, module in sorted(BENCHMARKS.items()):
            print(f"{name:14s} {(module.__doc__ or '').strip().splitlines()[0]}")
        return 0
    BENCHMARKS[args.name].run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
