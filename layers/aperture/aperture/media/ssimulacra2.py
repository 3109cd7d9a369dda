"""SSIMULACRA2: how visible an encoding's damage is, on a scale people can read.

100 is identical; 90 visually lossless; 85 not noticeable in a flip test; 80 not noticeable side
by side at 1:1; 70 high quality. It is the metric of the JPEG XL project (reference: libjxl's
``tools/ssimulacra2.cc``): SSIM and two edge maps (ringing, blur) in the XYB colour space at six
scales, each pooled by its mean and 4-norm, weighted by a fit to human ratings (CID22).

This is a float32 numpy port of that algorithm, following the ``ssimulacra2`` package's choices
where the reference's recursive Gaussian is replaced by a true one (sigma 1.5, zero padding
left and right, mirrored at the top and bottom); tests hold it within a point of that package. The source's
half of every scale is computed once (``Reference``), so scoring another candidate against the
same source costs about two thirds of a fresh pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from PIL import Image

Planes = NDArray[np.float32]

SCALES = 6
_C2 = np.float32(0.0009)
_OPSIN = np.array(
    [
        [0.30, 0.622, 0.078],
        [0.23, 0.692, 0.078],
        [0.24342268924547819, 0.20476744424496821, 1 - 0.24342268924547819 - 0.20476744424496821],
    ],
    np.float32,
)
_BIAS = np.float32(0.0037930732552754493)
_CBRT_BIAS = np.cbrt(_BIAS)
_SIGMA = 1.5
_RADIUS = int(3.33 * _SIGMA + 0.5)
_TAPS = np.exp(-0.5 * (np.arange(-_RADIUS, _RADIUS + 1) / _SIGMA) ** 2)
_KERNEL = (_TAPS / _TAPS.sum()).astype(np.float32)
_STRIP = 16  # rows or columns a product makes: measured fastest at 16 to 48
_LINEAR = np.where(
    (codes := np.arange(256) / 255) <= 0.04045, codes / 12.92, ((codes + 0.055) / 1.055) ** 2.4
).astype(np.float32)
# 108 weights, by channel (X, Y, B), scale (1 to 6), norm (mean, 4-norm), term (SSIM, ringing, blur).
_WEIGHTS = np.array(
    [
        0.0, 0.0007376606707406586, 0.0, 0.0, 0.0007793481682867309, 0.0,
        0.0, 0.0004371155730107379, 0.0, 1.1041726426657346, 0.00066284834129271, 0.00015231632783718752,
        0.0, 0.0016406437456599754, 0.0, 1.8422455520539298, 11.441172603757666, 0.0,
        0.0007989109436015163, 0.000176816438078653, 0.0, 1.8787594979546387, 10.94906990605142, 0.0,
        0.0007289346991508072, 0.9677937080626833, 0.0, 0.00014003424285435884, 0.9981766977854967,
        0.00031949755934435053, 0.0004550992113792063, 0.0, 0.0, 0.0013648766163243398, 0.0, 0.0,
        0.0, 0.0, 0.0, 7.466890328078848, 0.0, 17.445833984131262,
        0.0006235601634041466, 0.0, 0.0, 6.683678146179332, 0.00037724407979611296, 1.027889937768264,
        225.20515300849274, 0.0, 0.0, 19.213238186143016, 0.0011401524586618361, 0.001237755635509985,
        176.39317598450694, 0.0, 0.0, 24.43300999870476, 0.28520802612117757, 0.0004485436923833408,
        0.0, 0.0, 0.0, 34.77906344483772, 44.835625328877896, 0.0,
        0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
        0.0, 0.0008680556573291698, 0.0, 0.0, 0.0, 0.0,
        0.0, 0.0005313191874358747, 0.0, 0.00016533814161379112, 0.0, 0.0,
        0.0, 0.0, 0.0, 0.0004179171803251336, 0.0017290828234722833, 0.0,
        0.0020827005846636437, 0.0, 0.0, 8.826982764996862, 23.19243343998926, 0.0,
        95.1080498811086, 0.9863978034400682, 0.9834382792465353, 0.0012286405048278493,
        171.2667255897307, 0.9807858872435379, 0.0, 0.0, 0.0, 0.0005130064588990679, 0.0,
        0.00010854057858411537,
    ]
)  # fmt: skip


def linear_rgb(image: Image.Image) -> Planes:
    """Linear-light R, G and B planes of an 8-bit sRGB picture (any transparency over mid grey)."""
    if image.mode in ("RGBA", "LA"):
        grey = Image.new("RGBA", image.size, (128, 128, 128, 255))
        image = Image.alpha_composite(grey, image.convert("RGBA"))
    return np.ascontiguousarray(_LINEAR[np.asarray(image.convert("RGB"))].transpose(2, 0, 1))


def _xyb(linear: Planes) -> Planes:
    """The positive XYB planes the metric compares: cone responses, cube-rooted, opponent-coded."""
    mixed = np.tensordot(_OPSIN, linear, axes=1) + _BIAS  # linear >= 0, so mixed > 0
    np.log(mixed, out=mixed)
    mixed *= np.float32(1 / 3)
    np.exp(mixed, out=mixed)  # the cube root, a third of np.cbrt's time
    mixed -= _CBRT_BIAS
    l_cone, m_cone, s_cone = mixed
    y = 0.5 * (l_cone + m_cone)
    return np.stack([7 * (l_cone - m_cone) + 0.42, y + 0.01, s_cone - y + 0.55])


@lru_cache(maxsize=16)
def _band(length: int, mirrored: bool) -> Planes:
    """The Gaussian along one axis as a banded matrix, its edge rule folded in: mirrored
    (``dcb|abcd``) or zero outside."""
    rows = np.repeat(np.arange(length), _KERNEL.size)
    columns = rows + np.tile(np.arange(-_RADIUS, _RADIUS + 1), length)
    if mirrored:
        columns = np.where(
            columns < 0, -columns - 1, np.where(columns >= length, 2 * length - columns - 1, columns)
        )
    inside = (columns >= 0) & (columns < length)
    band = np.zeros((length, length), np.float32)
    np.add.at(band, (rows[inside], columns[inside]), np.tile(_KERNEL, length)[inside])
    return band


def _blur(planes: Planes) -> Planes:
    """The separable Gaussian as small matrix products over strips of rows, then of columns: BLAS
    does the multiply-adds, about twice as fast as a direct convolution in numpy or SciPy."""
    _, height, width = planes.shape
    down, across = _band(height, True), _band(width, False).T
    vertical = np.empty_like(planes)
    for start in range(0, height, _STRIP):
        end = min(height, start + _STRIP)
        low, high = max(0, start - _RADIUS), min(height, end + _RADIUS)
        np.matmul(down[start:end, low:high], planes[:, low:high, :], out=vertical[:, start:end, :])
    blurred = np.empty_like(planes)
    for start in range(0, width, _STRIP):
        end = min(width, start + _STRIP)
        low, high = max(0, start - _RADIUS), min(width, end + _RADIUS)
        np.matmul(vertical[:, :, low:high], across[low:high, start:end], out=blurred[:, :, start:end])
    return blurred


def _halve(linear: Planes) -> Planes:
    """2x2 box averages; an odd last row or column averages what it has (edge-replicated)."""
    _, height, width = linear.shape
    if height % 2 or width % 2:
        linear = np.pad(linear, ((0, 0), (0, height % 2), (0, width % 2)), mode="edge")
    return (
        linear[:, 0::2, 0::2] + linear[:, 1::2, 0::2] + linear[:, 0::2, 1::2] + linear[:, 1::2, 1::2]
    ) * 0.25


def _pooled(values: Planes) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per plane: the mean and the 4-norm over the picture."""
    flat = values.reshape(len(values), -1)
    squared = flat * flat
    return flat.mean(axis=1, dtype=np.float64), (
        np.einsum("ij,ij->i", squared, squared) / flat.shape[1]
    ) ** 0.25


@dataclass(frozen=True)
class _Scale:
    xyb: Planes
    mean: Planes
    variance: Planes
    detail: Planes  # 1 + |xyb - mean|: the source's local contrast, for the edge maps


class Reference:
    """A source picture at every scale, ready to score many candidates of its size against."""

    def __init__(self, image: Image.Image) -> None:
        self.size = image.size
        self._scales = [self._scale(xyb) for xyb in _pyramid(linear_rgb(image))]

    @staticmethod
    def _scale(xyb: Planes) -> _Scale:
        mean, squares = np.split(_blur(np.concatenate([xyb, xyb * xyb])), 2)
        return _Scale(xyb, mean, squares - mean * mean, 1 + np.abs(xyb - mean))

    def score(self, candidate: Image.Image) -> float:
        if candidate.size != self.size:
            raise ValueError(f"candidate is {candidate.size}, the source {self.size}")
        terms = np.zeros((3, SCALES, 2, 3))  # plane, scale, norm, (SSIM, ringing, blur)
        for index, (source, xyb) in enumerate(
            zip(self._scales, _pyramid(linear_rgb(candidate)), strict=True)
        ):
            mean, squares, cross = np.split(_blur(np.concatenate([xyb, xyb * xyb, source.xyb * xyb])), 3)
            difference = source.mean - mean
            covariance = cross - source.mean * mean
            ssim = 1 - (1 - difference * difference) * (2 * covariance + _C2) / (
                source.variance + (squares - mean * mean) + _C2
            )
            edges = (1 + np.abs(xyb - mean)) / source.detail - 1
            for term, values in enumerate((np.maximum(ssim, 0), np.maximum(edges, 0), np.maximum(-edges, 0))):
                terms[:, index, 0, term], terms[:, index, 1, term] = _pooled(values)
        return _final(terms, len(self._scales))


def _pyramid(linear: Planes) -> list[Planes]:
    """XYB at full size, then halved while the result is 8 pixels or more, six at most."""
    if min(linear.shape[1:]) < 8:
        return []
    scales = [_xyb(linear)]
    while len(scales) < SCALES and (min(linear.shape[1:]) + 1) // 2 >= 8:
        linear = _halve(linear)
        scales.append(_xyb(linear))
    return scales


def _final(terms: NDArray[np.float64], scales: int) -> float:
    """The weighted sum, mapped to the 0..100 scale. With fewer than six scales the weights are
    taken in order, as the reference does."""
    used = np.abs(terms[:, :scales].reshape(-1))
    distortion = float(used @ _WEIGHTS[: used.size]) * 0.9562382616834844
    distortion = (
        2.326765642916932 * distortion
        - 0.020884521182843837 * distortion**2
        + 6.248496625763138e-05 * distortion**3
    )
    return 100.0 - 10.0 * distortion**0.6276336467831387 if distortion > 0 else 100.0


def score(source: Image.Image, candidate: Image.Image) -> float:
    """SSIMULACRA2 of ``candidate`` against ``source`` (same size)."""
    return Reference(source).score(candidate)
