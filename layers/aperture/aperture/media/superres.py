"""Super-resolution: a 2x upscaler for video luma, hashed filters learned by least squares (RAISR).

Each low-resolution pixel is hashed by its neighbourhood's gradient: the angle, strength and
coherence of the structure tensor over a 5 x 5 window. The hash picks one learned filter that maps
the pixel's 5 x 5 neighbourhood straight to its four high-resolution sub-pixels (a pixel shuffle),
so a frame costs one 25 x 4 product per input pixel and no interpolation first. Bicubic is one
such filter, so least squares can only match or beat it on what it was trained on. Chroma is
upscaled by Lanczos: people see detail in luma.

Two banks of filters share the hash: ``clean`` for pictures halved and not re-encoded, and
``compressed`` for pictures that went through a low tier's encoder, whose blocking and ringing a
sharpening filter would amplify (one bank for both loses on each: measured in ``tools/train/sr.py``).

``tools/train/sr.py`` fits the filters (``pipenv run train sr``); the model ships as
``sr_model.npz`` beside this module and is published to players by the API, whose reference
implementation is this file.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray
from PIL import Image

ANGLES, STRENGTHS, COHERENCES = 16, 3, 3
BUCKETS = ANGLES * STRENGTHS * COHERENCES
RADIUS = 2
TAPS = (2 * RADIUS + 1) ** 2  # the 5 x 5 neighbourhood
PAD = RADIUS + 2  # the neighbourhood, and 2 more for the gradient and the tensor's window
SCALE = 2
MODEL_PATH = Path(__file__).with_name("sr_model.npz")
BANKS = ("clean", "compressed")
_SMOOTH = np.array([1, 4, 6, 4, 1], np.float32) / 16  # the structure tensor's window, separable

Floats = NDArray[np.float32]


class SrModelError(ValueError):
    """The model file is missing, corrupt or of another shape."""


@dataclass(frozen=True)
class SrModel:
    version: str
    # By bank, (BUCKETS, TAPS, 4): each bucket's map from a neighbourhood to its 2 x 2 pixels
    banks: dict[str, Floats]
    strength_edges: tuple[float, ...]  # the strength buckets' boundaries (training quantiles)
    coherence_edges: tuple[float, ...]

    def __post_init__(self) -> None:
        if sorted(self.banks) != sorted(BANKS):
            raise SrModelError(f"the model has banks {sorted(self.banks)}, not {sorted(BANKS)}")
        for name, filters in self.banks.items():
            if filters.shape != (BUCKETS, TAPS, SCALE * SCALE) or not np.isfinite(filters).all():
                raise SrModelError(f"the {name} filters have shape {filters.shape}, or are not finite")
        if (len(self.strength_edges), len(self.coherence_edges)) != (STRENGTHS - 1, COHERENCES - 1):
            raise SrModelError("the model's buckets are not this code's")

    @cached_property
    def _transposed(self) -> dict[str, Floats]:
        return {name: np.ascontiguousarray(f.transpose(0, 2, 1)) for name, f in self.banks.items()}

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        meta = {"version": self.version, "strength_edges": self.strength_edges}
        meta["coherence_edges"] = self.coherence_edges
        arrays: dict[str, Any] = {name: f.astype(np.float32) for name, f in self.banks.items()}
        np.savez_compressed(buffer, meta=np.array(json.dumps(meta)), **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> SrModel:
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as archive:
                meta = json.loads(str(archive["meta"]))
                banks = {name: np.asarray(archive[name], dtype=np.float32) for name in BANKS}
            strength = tuple(float(edge) for edge in meta["strength_edges"])
            coherence = tuple(float(edge) for edge in meta["coherence_edges"])
            return cls(str(meta["version"]), banks, strength, coherence)
        except (OSError, ValueError, KeyError, IndexError, TypeError) as error:
            raise SrModelError(f"the super-resolution model is unreadable: {error}") from error

    def upscale_luma(
        self, luma: NDArray[np.uint8], bank: str = "compressed", threads: int = 2
    ) -> NDArray[np.uint8]:
        """``luma`` (H x W) at twice the size, a strip per thread (numpy releases the GIL)."""
        filters = self._transposed[bank]
        height = luma.shape[0]
        out = np.empty((height * SCALE, luma.shape[1] * SCALE), np.uint8)
        source = padded(luma)

        def strip(rows: tuple[int, int]) -> None:
            top, bottom = rows
            out[top * SCALE : bottom * SCALE] = _upscale_window(source[top : bottom + 2 * PAD], filters, self)

        bounds = np.linspace(0, height, max(1, threads) + 1).astype(int)
        strips = list(itertools.pairwise(bounds))
        if len(strips) > 1:
            with ThreadPoolExecutor(max_workers=threads) as pool:
                list(pool.map(strip, strips))
        else:
            strip(strips[0])
        return out


def _upscale_window(window: Floats, filters: Floats, model: SrModel) -> NDArray[np.uint8]:
    """A strip padded by ``PAD`` on every side, upscaled (without its padding); ``filters`` transposed."""
    angle, strength, coherence, core = describe(window)
    buckets = bucket_of(angle, strength, coherence, model.strength_edges, model.coherence_edges)
    # Pixels grouped by bucket (a radix sort: the buckets fit a byte), then one product per bucket
    order = np.argsort(buckets.ravel(), kind="stable")
    starts = np.concatenate([[0], np.cumsum(np.bincount(buckets.ravel(), minlength=BUCKETS))])
    grouped = neighbourhoods(core, order)
    sub = np.empty((SCALE * SCALE, len(order)), np.float32)
    for bucket in np.flatnonzero(np.diff(starts)):
        start, end = starts[bucket], starts[bucket + 1]
        np.matmul(filters[bucket], grouped[:, start:end], out=sub[:, start:end])
    pixels = np.empty_like(sub)
    pixels[:, order] = sub
    rows, cols = angle.shape
    shuffled = pixels.reshape(SCALE, SCALE, rows, cols).transpose(2, 0, 3, 1)
    upscaled = np.clip(shuffled.reshape(rows * SCALE, cols * SCALE) * 255 + 0.5, 0, 255)
    return cast(NDArray[np.uint8], upscaled.astype(np.uint8))


def padded(luma: NDArray[np.uint8]) -> Floats:
    """Luma in [0, 1], mirrored by ``PAD`` pixels on every side: what ``describe`` reads."""
    return np.pad(luma.astype(np.float32) / 255, PAD, mode="reflect")


def describe(window: Floats) -> tuple[Floats, Floats, Floats, Floats]:
    """Angle, strength and coherence of every pixel of ``window`` less its ``PAD`` border, and that
    region padded by ``RADIUS`` (the neighbourhoods' source): the inputs of training and upscaling."""
    edge = PAD - 3  # what gradient_features has not already lost
    angle, strength, coherence = (f[edge:-edge, edge:-edge] for f in gradient_features(window))
    margin = PAD - RADIUS
    return angle, strength, coherence, window[margin:-margin, margin:-margin]


def neighbourhoods(core: Floats, pixels: NDArray[np.intp]) -> Floats:
    """The 5 x 5 neighbourhoods of ``pixels`` (row-major indices into ``core`` less its ``RADIUS``
    border) as columns, tap by tap: 25 gathers from the small picture instead of one copy of a
    25-times larger matrix."""
    width = core.shape[1]
    inner = width - 2 * RADIUS
    flat = np.ascontiguousarray(core).ravel()
    corners = (pixels // inner) * width + pixels % inner
    size = 2 * RADIUS + 1
    columns = np.empty((TAPS, len(pixels)), np.float32)
    for tap in range(TAPS):
        np.take(flat, corners + (tap // size) * width + tap % size, out=columns[tap])
    return columns


def _smooth(values: Floats) -> Floats:
    """The separable 5-tap window over the last two axes, valid region only (2 pixels lost each side)."""
    height, width = values.shape[-2:]
    rows = sum(w * values[..., i : height - 4 + i, :] for i, w in enumerate(_SMOOTH))
    return cast(Floats, sum(w * rows[..., i : width - 4 + i] for i, w in enumerate(_SMOOTH)))


def gradient_features(window: Floats) -> tuple[Floats, Floats, Floats]:
    """Angle (0 to pi), strength and coherence per pixel; the result is 3 pixels smaller on each side
    (central differences lose one, the tensor's window two)."""
    gx = (window[1:-1, 2:] - window[1:-1, :-2]) / 2
    gy = (window[2:, 1:-1] - window[:-2, 1:-1]) / 2
    xx, xy, yy = _smooth(np.stack([gx * gx, gx * gy, gy * gy]))
    half_gap = np.sqrt(((xx - yy) / 2) ** 2 + xy**2)
    mean = (xx + yy) / 2
    root1, root2 = np.sqrt(mean + half_gap), np.sqrt(np.maximum(mean - half_gap, 0))
    angle = (0.5 * np.arctan2(2 * xy, xx - yy)) % np.pi  # the dominant gradient's direction
    coherence = (root1 - root2) / (root1 + root2 + 1e-6)
    return angle, root1, coherence


def bucket_of(
    angle: Floats,
    strength: Floats,
    coherence: Floats,
    strength_edges: tuple[float, ...],
    coherence_edges: tuple[float, ...],
) -> NDArray[np.uint8]:
    """Each pixel's bucket, as a byte (so grouping pixels by bucket is a radix sort)."""
    a = np.minimum(angle * np.float32(ANGLES / np.pi), ANGLES - 1).astype(np.uint8)
    s = sum((strength > edge).view(np.uint8) for edge in strength_edges)
    c = sum((coherence > edge).view(np.uint8) for edge in coherence_edges)
    return cast(NDArray[np.uint8], (a * STRENGTHS + s) * COHERENCES + c)


@cache
def shipped_model() -> SrModel:
    """The model in the package; raises ``SrModelError`` when it is missing or corrupt."""
    try:
        data = MODEL_PATH.read_bytes()
    except OSError as error:
        raise SrModelError(f"no super-resolution model ships with this build: {error}") from error
    return SrModel.from_bytes(data)


def upscale_frame(
    model: SrModel | None, planes: NDArray[np.uint8], bank: str = "compressed"
) -> NDArray[np.uint8]:
    """A yuv420p frame (PyAV's ``to_ndarray`` layout: Y, then U and V, H * 3/2 x W, even sides) at
    twice the size: luma by ``model``, or by Lanczos when there is none; chroma by Lanczos."""
    luma, chroma = split_planes(planes)
    doubled = model.upscale_luma(luma, bank) if model is not None else lanczos(luma)
    return join_planes(doubled, [lanczos(plane) for plane in chroma])


def split_planes(planes: NDArray[np.uint8]) -> tuple[NDArray[np.uint8], list[NDArray[np.uint8]]]:
    """A yuv420p frame in PyAV's layout as its luma and its two chroma planes."""
    height, width = planes.shape[0] * 2 // 3, planes.shape[1]
    return planes[:height], list(planes[height:].reshape(2, height // 2, width // 2))


def join_planes(luma: NDArray[np.uint8], chroma: list[NDArray[np.uint8]]) -> NDArray[np.uint8]:
    height, width = luma.shape
    return np.concatenate([luma, np.stack(chroma).reshape(height // 2, width)])


def lanczos(plane: NDArray[np.uint8]) -> NDArray[np.uint8]:
    height, width = plane.shape
    return np.asarray(
        Image.fromarray(plane).resize((width * SCALE, height * SCALE), Image.Resampling.LANCZOS)
    )


def publication(model: SrModel) -> dict[str, Any]:
    """What a player needs to upscale low tiers on the device: the hash's constants, both banks
    (little-endian float32, base64) and this module's source as the reference implementation."""
    return {
        "version": model.version,
        "scale": SCALE,
        "radius": RADIUS,
        "buckets": {"angles": ANGLES, "strengths": STRENGTHS, "coherences": COHERENCES},
        "strength_edges": list(model.strength_edges),
        "coherence_edges": list(model.coherence_edges),
        "banks": {
            name: {
                "shape": list(filters.shape),
                "dtype": "<f4",
                "data": base64.b64encode(filters.astype("<f4").tobytes()).decode(),
            }
            for name, filters in model.banks.items()
        },
        "reference_implementation": Path(__file__).read_text(),
    }
