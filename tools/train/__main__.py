"""``pipenv run train NAME``: train a shipped model from its documented corpus."""

from __future__ import annotations

import argparse
import sys

import aperture_local  # noqa: F401  (puts the domain layer on the path, as Lambda does)

from . import quality, sr

MODELS = {"quality": quality, "sr": sr}


def main() -> int:
    parser = argparse.ArgumentParser(prog="pipenv run train", description=__doc__)
    parser.add_argument("name", choices=sorted(MODELS))
    args = parser.parse_args()
    MODELS[args.name].run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
