"""Regenerates tests/fixtures/thumbhash_vectors.json with the reference JavaScript implementation.

Needs Node.js and `npm install thumbhash@0.1.1` in a scratch folder given as the first argument.
The images are synthetic and seeded (``reference_images``), so the tests rebuild them exactly.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

FIXTURE = Path(__file__).resolve().parent.parent / "tests/fixtures/thumbhash_vectors.json"


def reference_images() -> dict[str, NDArray[np.uint8]]:
    """Opaque and transparent, landscape, portrait and square, smooth and noisy.

    Smooth images get a little seeded grain: a perfectly symmetric image puts DCT terms exactly
    on a rounding boundary, where the last bit of cos() decides (see aperture.media.thumbhash).
    """
    rng = np.random.default_rng(20261124)
    y, x = np.mgrid[0:75, 0:100]
    grain = rng.integers(-6, 7, (75, 100))
    sunset = np.stack(
        [200 + 55 * np.sin(x / 30) + grain, 80 + y - grain, 255 - 2 * y, np.full_like(x, 255)], -1
    )
    portrait = np.transpose(sunset, (1, 0, 2))[:, :60]
    noise = rng.integers(0, 256, (64, 64, 4))
    noise[..., 3] = 255
    disc = np.zeros((50, 50, 4))
    yy, xx = np.mgrid[0:50, 0:50]
    inside = (yy - 25) ** 2 + (xx - 25) ** 2 < 400
    disc[inside] = [230, 40, 90, 255]
    ramp = np.tile(np.linspace(0, 255, 90), (40, 1)) + rng.integers(-5, 6, (40, 90))
    tint = rng.integers(-8, 9, (40, 90))
    fade = np.stack([20 + tint, 140 - tint, np.full((40, 90), 220) + tint // 2, ramp], -1)
    one = np.array([[[10, 200, 30, 255]]])
    images = {
        "sunset": sunset,
        "portrait": portrait,
        "noise": noise,
        "disc_alpha": disc,
        "fade_alpha": fade,
        "one_pixel": one,
    }
    return {name: np.clip(image, 0, 255).astype(np.uint8) for name, image in images.items()}


def main(node_folder: str) -> None:
    script = (
        "import {rgbaToThumbHash} from 'thumbhash';"
        "import fs from 'fs';"
        "const input = JSON.parse(fs.readFileSync(0, 'utf8'));"
        "const out = {};"
        "for (const [name, im] of Object.entries(input)) {"
        "  const rgba = Uint8Array.from(Buffer.from(im.rgba, 'base64'));"
        "  out[name] = Buffer.from(rgbaToThumbHash(im.w, im.h, rgba)).toString('base64');"
        "}"
        "console.log(JSON.stringify(out));"
    )
    images = {
        name: {
            "w": int(image.shape[1]),
            "h": int(image.shape[0]),
            "rgba": base64.b64encode(image.tobytes()).decode(),
        }
        for name, image in reference_images().items()
    }
    result = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        input=json.dumps(images),
        capture_output=True,
        text=True,
        cwd=node_folder,
        check=True,
    )
    FIXTURE.write_text(
        json.dumps({"reference": "thumbhash@0.1.1 (npm)", "hashes": json.loads(result.stdout)}, indent=2)
        + "\n"
    )
    print(FIXTURE.read_text())


if __name__ == "__main__":
    main(sys.argv[1])
