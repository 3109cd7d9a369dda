"""PDQ matching with crop variants: disguised copies match, unrelated pictures do not."""

from __future__ import annotations

import numpy as np
import pytest

from aperture.moderation.checks import MATCH_DISTANCE, crop_variants, hamming, pdq_hash
from tests.pictures import CROPS_OF_5_PERCENT, disguised, scene

SIZE = (400, 300)


def _closest(pdq: str, hashes: list[str]) -> int:
    return min(hamming(pdq, other) for other in hashes)


@pytest.mark.parametrize("crop", sorted(CROPS_OF_5_PERCENT))
def test_a_copy_cropped_by_5_percent_halved_and_saved_at_quality_50_still_matches(crop: str) -> None:
    for seed in range(1, 9):
        # Given a blocklisted picture
        original = scene(seed)
        blocklisted = crop_variants(original)
        # When someone posts it cropped, halved and re-encoded at quality 50
        copy, _ = pdq_hash(disguised(original, CROPS_OF_5_PERCENT[crop]))
        # Then it is within the match distance of the blocklist entry
        assert _closest(copy, blocklisted) <= MATCH_DISTANCE, (crop, seed)


def test_plain_pdq_alone_misses_cropped_copies_which_is_why_variants_exist() -> None:
    original = scene(3)
    copy, _ = pdq_hash(disguised(original, CROPS_OF_5_PERCENT["left edge"]))
    assert hamming(copy, pdq_hash(original)[0]) > MATCH_DISTANCE


def test_a_hundred_unrelated_pictures_match_nothing_on_a_blocklist_of_thirty() -> None:
    # Given a blocklist of 30 pictures (11 hashes each), at 400x300: PDQ hashes a 64x64 reduction,
    # so the size changes the margin by a few bits and the time sixfold (bench pdq uses 800x600)
    blocklist = [pdq for seed in range(1, 31) for pdq in crop_variants(scene(seed, SIZE))]
    # When 100 unrelated pictures are checked (bench pdq checks 300)
    distances = np.array([_closest(pdq_hash(scene(seed, SIZE))[0], blocklist) for seed in range(1000, 1100)])
    # Then none matches: the false-match rate is 0 of 100, with a wide margin
    assert int((distances <= MATCH_DISTANCE).sum()) == 0
    assert distances.min() > 2 * MATCH_DISTANCE
