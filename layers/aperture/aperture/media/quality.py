"""Perceptual compression: the smallest encoding whose SSIM against the source stays above a target.

SSIM (Wang et al. 2004) on luma, with the usual 11-tap Gaussian window, computed with numpy.
The quality search is a bisection over the encoder's quality: SSIM rises with quality, so the
lowest quality that meets the target gives the smallest file that does.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray
from PIL import Image

_C1, _C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
_KERNEL = np.exp(-0.5 * ((np.arange(11) - 5) / 1.5) ** 2)
_KERNEL /= _KERNEL.sum()


def _blur(plane: NDArray[np.float64]) -> NDArray[np.float64]:
    """Separable Gaussian filter over the 'valid' region, as two sliding-window dot products."""
    rows = sliding_window_view(plane, _KERNEL.size, axis=1) @ _KERNEL
    return np.asarray(sliding_window_view(rows, _KERNEL.size, axis=0) @ _KERNEL)


def luma(image: Image.Image) -> NDArray[np.float64]:
    return np.asarray(image.convert("L"), dtype=np.float64)


def ssim(reference: NDArray[np.float64], candidate: NDArray[np.float64]) -> float:
    """Mean SSIM of two luma planes of the same size."""
    if min(reference.shape) < 11:
        return 1.0 - float(np.abs(reference - candidate).mean()) / 255
    mu_x, mu_y = _blur(reference), _blur(candidate)
    sigma_x = _blur(reference * reference) - mu_x**2
    sigma_y = _blur(candidate * candidate) - mu_y**2
    sigma_xy = _blur(reference * candidate) - mu_x * mu_y
    score = ((2 * mu_x * mu_y + _C1) * (2 * sigma_xy + _C2)) / (
        (mu_x**2 + mu_y**2 + _C1) * (sigma_x + sigma_y + _C2)
    )
    return float(score.mean())


@dataclass(frozen=True)
class Encoded:
    data: bytes
    quality: int
    ssim: float


def encode(image: Image.Image, fmt: str, quality: int) -> bytes:
    buffer = io.BytesIO()
    options: dict[str, object] = {"quality": quality}
    if fmt == "JPEG":
        options |= {
            "optimize": True,
            "progressive": True,
            "subsampling": "4:2:0" if quality < 90 else "4:4:4",
        }
    elif fmt == "WEBP":
        options |= {"method": 4}
    elif fmt == "AVIF":
        options |= {"speed": 8}
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def smallest_above(image: Image.Image, fmt: str, target: float, *, low: int = 30, high: int = 95) -> Encoded:
    """The lowest-quality encoding in [low, high] whose SSIM is at least ``target``."""
    reference = luma(image)
    best: Encoded | None = None
    while low <= high:
        quality = (low + high) // 2
        data = encode(image, fmt, quality)
        with Image.open(io.BytesIO(data)) as decoded:
            score = ssim(reference, luma(decoded))
        if score >= target:
            best, high = Encoded(data, quality, score), quality - 1
        else:
            low = quality + 1
    if best is None:  # even the top quality misses the target: keep the best we can do
        data = encode(image, fmt, high)
        with Image.open(io.BytesIO(data)) as decoded:
            best = Encoded(data, high, ssim(reference, luma(decoded)))
    return best
