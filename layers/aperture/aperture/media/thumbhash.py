"""ThumbHash (Evan Wallace's published placeholder format), in numpy.

The encoder follows the reference: average colour, LPQA channels composited over it, a few DCT
terms per channel, 4-bit quantised. Float64, left-to-right sums and round-half-up as the reference JavaScript
uses, so hashes match it byte for byte (tests check against vectors it produced). A term that
lands exactly on a rounding boundary (perfectly symmetric synthetic images) can still differ in
the last bit of cos() between V8 and the C library, as it does between the reference's own ports.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from PIL import Image

MAX_SIDE = 100


def _round(value: float) -> int:
    """JavaScript's Math.round: halves round up."""
    return int(np.floor(value + 0.5))


def _sequential_sum(values: NDArray[np.float64]) -> float:
    """Left-to-right, as the reference's loops add: terms that cancel to ~0 then round alike."""
    return float(np.cumsum(values.ravel())[-1])


def _encode_channel(channel: NDArray[np.float64], nx: int, ny: int) -> tuple[float, list[float], float]:
    h, w = channel.shape
    xs, ys = np.arange(w) + 0.5, np.arange(h) + 0.5
    dc, ac, scale = 0.0, [], 0.0
    for cy in range(ny):
        cx = 0
        while cx * ny < nx * (ny - cy):
            fx = np.cos(np.pi / w * cx * xs)
            fy = np.cos(np.pi / h * cy * ys)
            f = _sequential_sum((channel * fx[None, :]) * fy[:, None]) / (w * h)
            if cx or cy:
                ac.append(f)
                scale = max(scale, abs(f))
            else:
                dc = f
            cx += 1
    if scale:
        ac = [0.5 + 0.5 / scale * value for value in ac]
    return dc, ac, scale


def rgba_to_thumbhash(rgba: NDArray[np.uint8]) -> bytes:
    """The ThumbHash of an RGBA image (height x width x 4, at most 100 px a side)."""
    h, w = rgba.shape[:2]
    if w > MAX_SIDE or h > MAX_SIDE:
        raise ValueError(f"{w}x{h} does not fit in {MAX_SIDE}x{MAX_SIDE}")
    pixels = rgba.astype(np.float64)
    alpha = pixels[..., 3] / 255
    total_alpha = _sequential_sum(alpha)
    average = [_sequential_sum(alpha / 255 * pixels[..., c]) for c in range(3)]
    if total_alpha:
        average = [value / total_alpha for value in average]
    has_alpha = total_alpha < w * h
    l_limit = 5 if has_alpha else 7
    lx = max(1, _round(l_limit * w / max(w, h)))
    ly = max(1, _round(l_limit * h / max(w, h)))
    r, g, b = (average[c] * (1 - alpha) + alpha / 255 * pixels[..., c] for c in range(3))
    l_dc, l_ac, l_scale = _encode_channel((r + g + b) / 3, max(3, lx), max(3, ly))
    p_dc, p_ac, p_scale = _encode_channel((r + g) / 2 - b, 3, 3)
    q_dc, q_ac, q_scale = _encode_channel(r - g, 3, 3)
    a_dc, a_ac, a_scale = _encode_channel(alpha, 5, 5) if has_alpha else (1.0, [], 1.0)

    landscape = w > h
    header24 = (
        _round(63 * l_dc)
        | _round(31.5 + 31.5 * p_dc) << 6
        | _round(31.5 + 31.5 * q_dc) << 12
        | _round(31 * l_scale) << 18
        | int(has_alpha) << 23
    )
    header16 = (
        (ly if landscape else lx)
        | _round(63 * p_scale) << 3
        | _round(63 * q_scale) << 9
        | int(landscape) << 15
    )
    out = [header24 & 255, (header24 >> 8) & 255, header24 >> 16, header16 & 255, header16 >> 8]
    if has_alpha:
        out.append(_round(15 * a_dc) | _round(15 * a_scale) << 4)
    start = len(out)
    factors = [*l_ac, *p_ac, *q_ac, *a_ac]
    out += [0] * ((len(factors) + 1) // 2)
    for index, value in enumerate(factors):
        out[start + (index >> 1)] |= _round(15 * value) << ((index & 1) << 2)
    return bytes(out)


def thumbhash_of(image: Image.Image) -> bytes:
    """The ThumbHash of any image: scaled to fit 100x100 first, as the format expects."""
    small = image.convert("RGBA")
    small.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.BOX)
    return rgba_to_thumbhash(np.asarray(small))


def aspect_ratio(hash_: bytes) -> float:
    has_alpha = bool(hash_[2] & 0x80)
    l_max = 5 if has_alpha else 7
    l_min = hash_[3] & 7
    landscape = bool(hash_[4] & 0x80)
    return (l_max if landscape else l_min) / (l_min if landscape else l_max)


def thumbhash_to_image(hash_: bytes) -> Image.Image:
    """The placeholder a ThumbHash stands for (32 px on its long side), as clients render it."""
    if len(hash_) < 5:
        raise ValueError("a ThumbHash is at least 5 bytes")
    ratio = aspect_ratio(hash_)
    header24 = hash_[0] | hash_[1] << 8 | hash_[2] << 16
    header16 = hash_[3] | hash_[4] << 8
    l_dc, p_dc = (header24 & 63) / 63, ((header24 >> 6) & 63) / 31.5 - 1
    q_dc, l_scale = ((header24 >> 12) & 63) / 31.5 - 1, ((header24 >> 18) & 31) / 31
    has_alpha = bool(header24 >> 23)
    p_scale, q_scale = ((header16 >> 3) & 63) / 63, ((header16 >> 9) & 63) / 63
    landscape = bool(header16 >> 15)
    l_max = 5 if has_alpha else 7
    lx = max(3, l_max if landscape else header16 & 7)
    ly = max(3, header16 & 7 if landscape else l_max)
    a_dc, a_scale = ((hash_[5] & 15) / 15, (hash_[5] >> 4) / 15) if has_alpha else (1.0, 1.0)
    nibbles = [n for byte in hash_[6 if has_alpha else 5 :] for n in (byte & 15, byte >> 4)]
    cursor = 0

    def channel(nx: int, ny: int, scale: float) -> list[tuple[int, int, float]]:
        nonlocal cursor
        terms = []
        for cy in range(ny):
            cx = 0 if cy else 1
            while cx * ny < nx * (ny - cy):
                if cursor >= len(nibbles):
                    raise ValueError("the ThumbHash is truncated")
                terms.append((cx, cy, (nibbles[cursor] / 7.5 - 1) * scale))
                cursor += 1
                cx += 1
        return terms

    l_terms = channel(lx, ly, l_scale)
    p_terms, q_terms = channel(3, 3, p_scale * 1.25), channel(3, 3, q_scale * 1.25)
    a_terms = channel(5, 5, a_scale) if has_alpha else []
    w, h = (32, _round(32 / ratio)) if ratio > 1 else (_round(32 * ratio), 32)
    xs, ys = (np.arange(w) + 0.5) / w * np.pi, (np.arange(h) + 0.5) / h * np.pi

    def render(dc: float, terms: list[tuple[int, int, float]]) -> NDArray[np.float64]:
        plane = np.full((h, w), dc)
        for cx, cy, value in terms:
            plane += value * np.cos(xs * cx)[None, :] * (2 * np.cos(ys * cy))[:, None]
        return plane

    lum, p, q, a = render(l_dc, l_terms), render(p_dc, p_terms), render(q_dc, q_terms), render(a_dc, a_terms)
    b = lum - 2 / 3 * p
    r = (3 * lum - b + q) / 2
    g = r - q
    rgba = np.stack([r, g, b, a], axis=-1).clip(0, 1) * 255
    return Image.fromarray(rgba.astype(np.uint8), "RGBA")
