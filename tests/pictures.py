"""Pictures made in the tests: smooth colour fields with shapes, grain and blur, like small photos."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def scene(seed: int, size: tuple[int, int] = (800, 600)) -> Image.Image:
    """A distinct picture for each seed, with the structure of a photo (regions, edges, grain)."""
    rng = np.random.default_rng(seed)
    width, height = size
    backdrop = Image.fromarray((rng.random((6, 8, 3)) * 255).astype(np.uint8)).resize(
        size, Image.Resampling.BICUBIC
    )
    draw = ImageDraw.Draw(backdrop)
    for _ in range(12):
        x, y, r = int(rng.integers(0, width)), int(rng.integers(0, height)), int(rng.integers(20, 160))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape([x - r, y - r, x + r, y + r], fill=colour)
    grain = rng.normal(0, 8, (height, width, 3))
    pixels = np.clip(np.asarray(backdrop, dtype=float) + grain, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels).filter(ImageFilter.GaussianBlur(1.5))


def jpeg(picture: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def disguised(picture: Image.Image, box: tuple[float, float, float, float]) -> Image.Image:
    """The copy an evader would post: cropped to ``box`` (fractions), halved, re-encoded at quality 50."""
    width, height = picture.size
    left, top, right, bottom = box
    cropped = picture.crop(
        (round(left * width), round(top * height), round(right * width), round(bottom * height))
    )
    halved = cropped.resize((cropped.width // 2, cropped.height // 2), Image.Resampling.LANCZOS)
    return Image.open(io.BytesIO(jpeg(halved, quality=50)))


CROPS_OF_5_PERCENT = {
    "centred": (0.025, 0.025, 0.975, 0.975),
    "left edge": (0.05, 0.0, 1.0, 1.0),
    "bottom edge": (0.0, 0.0, 1.0, 0.95),
    "top-left corner": (0.05, 0.05, 1.0, 1.0),
    "bottom-right corner": (0.0, 0.0, 0.95, 0.95),
}
