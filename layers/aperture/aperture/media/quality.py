"""Perceptual compression: the smallest encoding whose SSIM against the source stays above a target.

SSIM is measured on luma the way x264 and FFmpeg's ``ssim`` filter measure it: 8x8 windows at a
stride of 4, each window's sums built from four 4x4 block sums. That is a few block sums per
encode instead of eleven-tap convolutions, so checking a candidate costs less than encoding it,
and the source's own sums are computed once per rendition, not once per candidate.

SSIM rises with the encoder's quality, so the lowest quality that meets the target gives the
smallest file that does. Each encode is aimed where log(1 - SSIM), close to a line in the quality,
meets the target: along the curve of the same picture at another size when there is one (about
three encodes where a bisection of 30..95 takes seven), along its own probes otherwise.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image

Plane = NDArray[np.float64]

_WINDOW = 64  # pixels in an 8x8 window
_C1 = 0.01**2 * 255**2 * _WINDOW
_C2 = 0.03**2 * 255**2 * _WINDOW * (_WINDOW - 1)
LOWEST, HIGHEST = 30, 95


def luma(image: Image.Image) -> Plane:
    return np.asarray(image.convert("L"), dtype=np.float64)


def _window_sums(plane: Plane) -> Plane:
    """Sums over every 8x8 window at a stride of 4 (x264's overlapping windows)."""
    height, width = plane.shape[0] // 4 * 4, plane.shape[1] // 4 * 4
    columns = np.add.reduceat(plane[:height, :width], np.arange(0, width, 4), axis=1)
    blocks = np.add.reduceat(columns, np.arange(0, height, 4), axis=0)
    return np.asarray(blocks[:-1, :-1] + blocks[1:, :-1] + blocks[:-1, 1:] + blocks[1:, 1:])


class Reference:
    """A source's luma and its window sums, kept to score many candidates against it."""

    def __init__(self, plane: Plane) -> None:
        self.plane = plane
        self._tiny = min(plane.shape) < 8
        if not self._tiny:
            self._sum = _window_sums(plane)
            self._squares = _window_sums(plane * plane)

    def ssim(self, candidate: Plane) -> float:
        """Mean SSIM of a candidate of the same size against this reference."""
        if self._tiny:  # too small for one window: one minus the mean absolute error
            return 1.0 - float(np.abs(self.plane - candidate).mean()) / 255
        s1, s2 = self._sum, _window_sums(candidate)
        squares = self._squares + _window_sums(candidate * candidate)
        cross = _window_sums(self.plane * candidate)
        variances = squares * _WINDOW - s1 * s1 - s2 * s2
        covariance = cross * _WINDOW - s1 * s2
        score = ((2 * s1 * s2 + _C1) * (2 * covariance + _C2)) / (
            (s1 * s1 + s2 * s2 + _C1) * (variances + _C2)
        )
        return float(score.mean())


def ssim(reference: Plane, candidate: Plane) -> float:
    return Reference(reference).ssim(candidate)


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
            "subsampling": "4:2:0",
        }
    elif fmt == "WEBP":
        options |= {"method": 4}
    elif fmt == "AVIF":
        options |= {"speed": 8}
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


class QualitySearch:
    """Encodes of one image in one format, each scored once, searched for the smallest that passes."""

    def __init__(self, image: Image.Image, fmt: str) -> None:
        self.image, self.format = image, fmt
        self.reference = Reference(luma(image))
        self.tried: dict[int, Encoded] = {}

    @property
    def scores(self) -> dict[int, float]:
        """SSIM by quality, for every quality tried: the curve a similar image will roughly follow."""
        return {quality: encoded.ssim for quality, encoded in self.tried.items()}

    def at(self, quality: int) -> Encoded:
        if quality not in self.tried:
            data = encode(self.image, self.format, quality)
            with Image.open(io.BytesIO(data)) as decoded:
                self.tried[quality] = Encoded(data, quality, self.reference.ssim(luma(decoded)))
        return self.tried[quality]

    def smallest_above(self, target: float, like: Mapping[int, float] | None = None) -> Encoded:
        """The lowest quality in LOWEST..HIGHEST whose SSIM is at least ``target`` (or HIGHEST, the
        best we can do, when none is). ``like`` is the SSIM-by-quality curve of a similar image
        (the same picture at another size): where it met the target is the first probe, and its
        slope predicts the next.

        Each probe is aimed where log(1 - SSIM), close to a line in the quality, meets the target.
        Safeguards keep the worst case near a bisection's: on one side of the answer the steps
        at least double (a gallop); once it is bracketed, a probe that did not halve the bracket
        is followed by a plain bisection.
        """
        fail, ok = LOWEST - 1, HIGHEST + 1  # known to fail / to pass; the ends are nominal
        slope = _slope(like) if like else None
        aim = min((q for q, score in like.items() if score >= target), default=max(like)) if like else None
        halved, gallop = True, 1
        while ok - fail > 1:
            width = ok - fail
            if aim is None or not halved:
                aim = (fail + ok) // 2
            probe = min(max(aim, fail + 1), ok - 1)
            if self.at(probe).ssim >= target:
                ok = probe
            else:
                fail = probe
            bracketed = fail in self.tried and ok in self.tried
            halved = not bracketed or ok - fail <= width // 2
            aim = self._aim(target, fail, ok, slope)
            if aim is not None and not bracketed:
                edge = ok if ok in self.tried else fail
                reach = max(abs(aim - edge), gallop if len(self.tried) > 2 else 1)
                aim, gallop = edge + (-reach if edge == ok else reach), gallop * 2
        return self.at(min(ok, HIGHEST))

    def _aim(self, target: float, fail: int, ok: int, slope: float | None) -> int | None:
        """Where the line through the bracket's measured ends (or through one end, with ``slope``)
        meets the target, rounded up: the lowest quality predicted to pass."""
        known = [(q, _miss(self.tried[q].ssim)) for q in (fail, ok) if q in self.tried]
        if len(known) == 2:
            (q0, m0), (q1, m1) = known
            slope = (m1 - m0) / (q1 - q0)
        if not known or slope is None or slope >= 0:
            return None
        q0, m0 = known[-1]
        return int(q0 + np.ceil((_miss(target) - m0) / slope - 1e-9))


def _miss(score: float) -> float:
    return float(np.log(max(1 - score, 1e-6)))


def _slope(curve: Mapping[int, float]) -> float | None:
    """The least-squares slope of log(1 - SSIM) per quality step."""
    if len(curve) < 2:
        return None
    return float(np.polyfit(list(curve), [_miss(score) for score in curve.values()], 1)[0])


def smallest_above(image: Image.Image, fmt: str, target: float) -> Encoded:
    """The smallest encoding of ``image`` whose SSIM is at least ``target``: see QualitySearch."""
    return QualitySearch(image, fmt).smallest_above(target)
