"""Blocklist matching: PDQ with crop variants against plain PDQ, on disguised copies and strangers.

Yardstick: plain PDQ, one hash per blocklisted picture. Each of 20 blocklisted pictures is
disguised five ways (cropped by 5% centred, at one edge or at a corner, halved, saved at JPEG
quality 50); 300 unrelated pictures are checked against the same blocklist. A match is a Hamming
distance of at most MATCH_DISTANCE bits of 256.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from aperture.moderation.checks import MATCH_DISTANCE, crop_variants, hamming, pdq_hash
from tests.pictures import CROPS_OF_5_PERCENT, disguised, scene

from . import report

BLOCKLISTED, STRANGERS = 20, 300


def run() -> None:
    print(f"  hashing {BLOCKLISTED} blocklisted pictures", flush=True)
    pictures = [scene(seed) for seed in range(1, BLOCKLISTED + 1)]
    started = time.perf_counter()
    variants = [crop_variants(picture) for picture in pictures]
    variant_ms = (time.perf_counter() - started) * 1000 / BLOCKLISTED
    plain = [hashes[0] for hashes in variants]  # the first variant is the whole picture
    both = {"plain PDQ (yardstick)": [[h] for h in plain], "PDQ + 11 crop variants": variants}

    copies = {
        crop: [pdq_hash(disguised(p, box))[0] for p in pictures] for crop, box in CROPS_OF_5_PERCENT.items()
    }
    print(f"  hashing {STRANGERS} unrelated pictures", flush=True)
    unrelated = [scene(seed) for seed in range(1000, 1000 + STRANGERS)]
    started = time.perf_counter()
    strangers = [pdq_hash(picture)[0] for picture in unrelated]
    check_ms = (time.perf_counter() - started) * 1000 / STRANGERS

    rows: list[dict[str, Any]] = []
    for method, entries in both.items():
        copy_distances = [
            min(hamming(copy, h) for h in entries[index])
            for hashes in copies.values()
            for index, copy in enumerate(hashes)
        ]
        stranger_distances = [min(hamming(s, h) for hashes in entries for h in hashes) for s in strangers]
        rows.append(
            {
                "method": method,
                "copies_matched": f"{sum(d <= MATCH_DISTANCE for d in copy_distances)}/{len(copy_distances)}",
                "copy_distance_mean": statistics.mean(copy_distances),
                "copy_distance_max": max(copy_distances),
                "false_matches": f"{sum(d <= MATCH_DISTANCE for d in stranger_distances)}/{STRANGERS}",
                "closest_stranger": min(stranger_distances),
            }
        )
    path = report.write(
        "pdq",
        f"Disguised copies (5% crop, halved, JPEG q50; 5 crops x {BLOCKLISTED} pictures) and"
        f" {STRANGERS} unrelated pictures against a blocklist of {BLOCKLISTED}; a match is <="
        f" {MATCH_DISTANCE} bits of 256. Hashing an 800x600 picture: {check_ms:.1f} ms;"
        f" a blocklist entry (11 hashes): {variant_ms:.0f} ms.",
        rows,
        {"blocklisted": BLOCKLISTED, "strangers": STRANGERS, "match_distance": MATCH_DISTANCE},
    )
    print(path.read_text())
