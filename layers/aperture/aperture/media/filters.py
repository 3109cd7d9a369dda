"""Named looks a user can pick at upload: tone curves and colour matrices, in numpy.

Each look is a per-channel tone curve (control points, interpolated into a 256-entry lookup
table), then a 3x3 colour matrix, then a saturation change: the building blocks of the
Instagram-style filters, none of them a copy of another's recipe.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image

_LUMA = np.array([0.2126, 0.7152, 0.0722])
_IDENTITY_CURVE = ((0, 0), (255, 255))


@dataclass(frozen=True)
class Look:
    red: tuple[tuple[int, int], ...] = _IDENTITY_CURVE
    green: tuple[tuple[int, int], ...] = _IDENTITY_CURVE
    blue: tuple[tuple[int, int], ...] = _IDENTITY_CURVE
    matrix: tuple[tuple[float, float, float], ...] = ((1, 0, 0), (0, 1, 0), (0, 0, 1))
    saturation: float = 1.0


LOOKS: dict[str, Look] = {
    # Cool highlights, deeper shadows, a little extra colour.
    "clarendon": Look(
        red=((0, 0), (64, 56), (192, 204), (255, 255)), blue=((0, 20), (128, 140), (255, 255)), saturation=1.2
    ),
    # Washed-out and warm: lifted blacks, softened whites, less colour.
    "gingham": Look(
        red=((0, 38), (128, 140), (255, 236)),
        green=((0, 34), (128, 132), (255, 232)),
        blue=((0, 40), (128, 124), (255, 220)),
        saturation=0.8,
    ),
    # Warm and punchy: reds and yellows pushed, blues held back.
    "juno": Look(
        red=((0, 0), (128, 142), (255, 255)),
        blue=((0, 0), (128, 116), (255, 240)),
        matrix=((1.08, -0.04, -0.04), (-0.02, 1.04, -0.02), (-0.02, -0.02, 1.0)),
        saturation=1.15,
    ),
    # Bright and airy: brighter mids, desaturated reds.
    "lark": Look(
        red=((0, 10), (128, 150), (255, 255)),
        green=((0, 12), (128, 152), (255, 255)),
        blue=((0, 14), (128, 150), (255, 255)),
        saturation=0.9,
    ),
    # Black and white with a lifted, filmic toe.
    "moon": Look(
        red=((0, 24), (96, 96), (255, 248)),
        green=((0, 24), (96, 96), (255, 248)),
        blue=((0, 24), (96, 96), (255, 248)),
        saturation=0.0,
    ),
    # Vintage: faded and creamy.
    "reyes": Look(
        red=((0, 60), (128, 160), (255, 240)),
        green=((0, 56), (128, 150), (255, 232)),
        blue=((0, 50), (128, 138), (255, 214)),
        saturation=0.75,
    ),
    # Sepia-toned warmth through a colour matrix.
    "valencia": Look(
        matrix=((0.95, 0.1, 0.0), (0.05, 0.88, 0.05), (0.0, 0.1, 0.78)),
        red=((0, 24), (255, 255)),
        saturation=0.9,
    ),
}


def _lut(points: tuple[tuple[int, int], ...]) -> NDArray[np.float64]:
    xs, ys = zip(*points, strict=True)
    return np.asarray(np.interp(np.arange(256), xs, ys), dtype=np.float64)


def apply_look(image: Image.Image, name: str) -> Image.Image:
    """``image`` (RGB or RGBA) with the look applied; alpha is left as it was."""
    look = LOOKS[name]
    pixels = np.asarray(image, dtype=np.uint8)
    rgb = pixels[..., :3]
    toned = np.stack(
        [_lut(curve)[rgb[..., c]] for c, curve in enumerate((look.red, look.green, look.blue))], -1
    )
    mixed = toned @ np.asarray(look.matrix, dtype=np.float64).T
    grey = (mixed @ _LUMA)[..., None]
    out = np.clip(grey + (mixed - grey) * look.saturation, 0, 255).round().astype(np.uint8)
    if pixels.shape[-1] == 4:
        out = np.concatenate([out, pixels[..., 3:]], axis=-1)
    return Image.fromarray(out, image.mode)
