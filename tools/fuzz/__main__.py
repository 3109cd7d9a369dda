"""``pipenv run fuzz media --seconds N``: mutated media through the real processors."""

from __future__ import annotations

import argparse
import sys

import aperture_local  # noqa: F401  (puts the domain layer on the path, as Lambda does)

from . import media


def main() -> int:
    parser = argparse.ArgumentParser(prog="pipenv run fuzz", description=__doc__)
    parser.add_argument("target", choices=["media"])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to fuzz")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    report = media.run(args.seconds, seed=args.seed, workers=args.workers)
    media.write(report)
    return 1 if report["crashes"] else 0


if __name__ == "__main__":
    sys.exit(main())
