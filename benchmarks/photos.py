"""Seeded 12-megapixel test photographs of the kinds people post.

Natural images have a 1/f amplitude spectrum, but not everywhere at once: a photograph mixes
in-focus texture with out-of-focus background, smooth sky, hard edges, and sensor noise that
grows in the dark. Each scene here is built from 1/f fields (blurred in the frequency domain
where the lens would blur them), composited the way those scenes are, softened by the lens,
given shot noise, and saved as a camera would (JPEG quality 92). ``texture`` is in focus edge to
edge, the hardest case for any encoder.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray
from PIL import Image

Array = NDArray[np.float32]
WIDTH, HEIGHT = 4000, 3000


class _Scene:
    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        fy = np.fft.fftfreq(HEIGHT).astype(np.float32)[:, None]
        fx = np.fft.rfftfreq(WIDTH).astype(np.float32)[None, :]
        self.radius = np.hypot(fx, fy)
        self.y, self.x = np.ogrid[0:HEIGHT, 0:WIDTH]

    def field(self, slope: float = 1.1, blur: float = 0.0) -> Array:
        """A unit-variance 1/f^slope field, blurred by a Gaussian of ``blur`` pixels."""
        amplitude = 1 / np.maximum(self.radius, 1 / WIDTH) ** slope
        if blur:
            amplitude = amplitude * np.exp(-2 * (np.pi * blur * self.radius) ** 2)
        spectrum = amplitude * np.exp(2j * np.pi * self.rng.random(amplitude.shape, dtype=np.float32))
        plane = np.fft.irfft2(spectrum, s=(HEIGHT, WIDTH)).astype(np.float32)
        return np.asarray((plane - plane.mean()) / plane.std(), np.float32)

    def layer(self, colour: tuple[float, float, float], contrast: float, **field: float) -> Array:
        """A coloured layer: a luma field around ``colour`` with a little chroma of its own."""
        luma, chroma = self.field(**field), self.field(**field)
        tint = np.array([0.6, -0.2, -0.4], np.float32)
        shade = contrast * luma[..., None] + 0.3 * contrast * chroma[..., None] * tint
        return np.asarray(np.asarray(colour, np.float32) + shade, np.float32)

    def ellipse(self, cy: float, cx: float, ry: float, rx: float) -> NDArray[np.bool_]:
        return np.asarray(((self.y - cy) / ry) ** 2 + ((self.x - cx) / rx) ** 2 < 1)

    def finish(self, rgb: Array, noise: float) -> bytes:
        """Lens softness, sensor noise, and the camera's JPEG."""
        spectrum = np.fft.rfft2(rgb, axes=(0, 1))
        spectrum *= np.exp(-2 * (np.pi * 0.7 * self.radius) ** 2)[..., None]
        rgb = np.fft.irfft2(spectrum, s=(HEIGHT, WIDTH), axes=(0, 1)).astype(np.float32)
        rgb += self.rng.normal(0, noise, rgb.shape).astype(np.float32)
        buffer = io.BytesIO()
        Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=92)
        return buffer.getvalue()


def portrait(scene: _Scene) -> bytes:
    """A subject in focus against a background the lens melted away."""
    rgb = scene.layer((120, 130, 110), 35, blur=40)
    subject = scene.ellipse(HEIGHT * 0.55, WIDTH * 0.5, HEIGHT * 0.5, WIDTH * 0.18)
    rgb[subject] = scene.layer((190, 150, 130), 12, slope=1.4)[subject]
    return scene.finish(rgb, noise=2.0)


def landscape(scene: _Scene) -> bytes:
    """Sky over hills: a smooth gradient above, detailed ground below."""
    sky = np.linspace(0, 1, HEIGHT, dtype=np.float32)[:, None, None]
    rgb = (1 - sky) * np.array([70, 120, 200], np.float32) + sky * np.array([190, 210, 235], np.float32)
    rgb = rgb + 4 * scene.field(blur=60)[..., None]  # faint cloud
    rgb = np.broadcast_to(rgb, (HEIGHT, WIDTH, 3)).copy()
    horizon = HEIGHT * 0.45 + 150 * scene.field(slope=2.0, blur=80)[0][None, :]
    ground = np.asarray(scene.y > horizon)
    rgb[ground] = scene.layer((90, 110, 60), 30)[ground]
    return scene.finish(rgb, noise=1.5)


def street(scene: _Scene) -> bytes:
    """Buildings, signs and windows: hard edges over moderate texture."""
    rgb = scene.layer((130, 125, 120), 20, slope=1.3)
    for _ in range(40):
        top, left = scene.rng.integers(0, HEIGHT), scene.rng.integers(0, WIDTH)
        tall, wide = scene.rng.integers(50, 900, 2)
        rgb[top : top + tall, left : left + wide] = scene.rng.uniform(20, 235, 3)
    return scene.finish(rgb, noise=1.5)


def night(scene: _Scene) -> bytes:
    """Dark, soft and noisy (high ISO), with a few bright lights."""
    rgb = scene.layer((35, 30, 45), 15, blur=8)
    for _ in range(25):
        light = scene.ellipse(scene.rng.uniform(0, HEIGHT), scene.rng.uniform(0, WIDTH), 40, 40)
        rgb[light] = scene.rng.uniform(180, 255, 3)
    return scene.finish(rgb, noise=6.0)


def food(scene: _Scene) -> bytes:
    """A plate close up: a textured subject, a shallow depth of field around it."""
    rgb = scene.layer((200, 190, 175), 20, blur=25)
    plate = scene.ellipse(HEIGHT * 0.5, WIDTH * 0.5, HEIGHT * 0.38, WIDTH * 0.3)
    rgb[plate] = scene.layer((170, 100, 60), 35, slope=1.0)[plate]
    return scene.finish(rgb, noise=2.0)


def texture(scene: _Scene) -> bytes:
    """Foliage or gravel in focus from edge to edge."""
    return scene.finish(scene.layer((110, 120, 80), 40, slope=1.0), noise=1.5)


KINDS: dict[str, Callable[[_Scene], bytes]] = {
    "portrait": portrait,
    "landscape": landscape,
    "street": street,
    "night": night,
    "food": food,
    "texture": texture,
}


def photo(kind: str, seed: int = 0) -> bytes:
    """A 12 MP JPEG of the given kind; the same pixels for the same seed."""
    return KINDS[kind](_Scene(seed))
