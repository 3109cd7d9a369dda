"""ThumbHash: byte for byte the reference's, and decodes back to a recognisable placeholder."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from PIL import Image

from aperture.media.thumbhash import aspect_ratio, rgba_to_thumbhash, thumbhash_of, thumbhash_to_image
from tests.conftest import ROOT
from tools.thumbhash_vectors import reference_images

VECTORS = json.loads((ROOT / "tests/fixtures/thumbhash_vectors.json").read_text())["hashes"]
IMAGES = reference_images()


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_hashes_match_the_reference_implementation_byte_for_byte(name: str) -> None:
    assert base64.b64encode(rgba_to_thumbhash(IMAGES[name])).decode() == VECTORS[name]


@pytest.mark.parametrize("name", ["sunset", "portrait", "disc_alpha"])
def test_the_placeholder_has_the_images_shape_and_colour(name: str) -> None:
    image = IMAGES[name]
    placeholder = thumbhash_to_image(rgba_to_thumbhash(image))
    height, width = image.shape[:2]
    assert aspect_ratio(rgba_to_thumbhash(image)) == pytest.approx(width / height, rel=0.25)
    assert max(placeholder.size) == 32
    source = np.asarray(
        Image.fromarray(image, "RGBA").resize(placeholder.size, Image.Resampling.BOX), np.float64
    )
    decoded = np.asarray(placeholder, np.float64)
    visible = source[..., 3] > 128
    assert np.abs(decoded[..., :3][visible] - source[..., :3][visible]).mean() < 25  # recognisably the same
    assert (decoded[..., 3] > 128).mean() == pytest.approx(visible.mean(), abs=0.15)


def test_large_images_are_scaled_to_fit_first() -> None:
    big = Image.fromarray(np.tile(IMAGES["sunset"], (8, 8, 1)), "RGBA")
    assert len(thumbhash_of(big)) >= 20
    with pytest.raises(ValueError, match="does not fit"):
        rgba_to_thumbhash(np.asarray(big))


def test_a_truncated_hash_is_refused() -> None:
    with pytest.raises(ValueError, match=r"truncated|at least 5 bytes"):
        thumbhash_to_image(rgba_to_thumbhash(IMAGES["noise"])[:8])
