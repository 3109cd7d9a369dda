"""Natural photographs that ship inside installed packages: scikit-image's bundled images, and
matplotlib's portrait of Grace Hopper.

Public domain or CC0 (see skimage/data/README.txt), small (300 to 1411 px) but real: film grain,
fur, skin, stars, a retina. Split once, by name: the benchmark's photos are never in the quality
model's training corpus. Each is returned as the file's own bytes (PNG or JPEG), as an upload.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import skimage.data

FOLDER = Path(skimage.data.__file__).parent
MATPLOTLIB_SAMPLES = Path(matplotlib.get_data_path()) / "sample_data"
BENCHMARK = {
    "astronaut": "astronaut.png",
    "coffee": "coffee.png",
    "chelsea": "chelsea.png",
    "rocket": "rocket.jpg",
    "motorcycle": "motorcycle_left.png",
    "hubble": "hubble_deep_field.jpg",
    "retina": "retina.jpg",
}
# The rest of the bundled pictures of the world: textures, a micrograph, grey photos and scans.
# (motorcycle_right.png is left out: it is the other eye of the benchmark's stereo pair.)
TRAINING = {
    "ihc": "ihc.png",
    "brick": "brick.png",
    "grass": "grass.png",
    "gravel": "gravel.png",
    "camera": "camera.png",
    "coins": "coins.png",
    "moon": "moon.png",
    "page": "page.png",
    "color": "color.png",
    "grace_hopper": str(MATPLOTLIB_SAMPLES / "grace_hopper.jpg"),
}


def natural(name: str) -> bytes:
    return (FOLDER / (BENCHMARK | TRAINING)[name]).read_bytes()
