"""The image path against a naive Pillow pipeline and pyvips, on 12-megapixel photos.

All three make the same renditions (display 1080, 640, 320 and 150 px wide, each as JPEG and
WebP) from the same JPEG. Aperture's path adds what the others skip: EXIF orientation, sRGB,
metadata stripping, ThumbHash and a quality search per output. Bytes: Aperture's perceptual
quality (SSIM >= target) against fixed quality 85 on the same pixels, with the SSIM of each.

The photos are synthetic with natural-image statistics (a 1/f amplitude spectrum, which
real photographs share, plus hard-edged shapes), seeded, so every run sees the same pixels.
"""

from __future__ import annotations

import io
import statistics
import time
from typing import Any

import numpy as np
import pyvips
from PIL import Image, ImageOps

from aperture.media import quality
from aperture.media.images import SSIM_TARGET, WIDTHS, process, sized

from . import report

FORMATS = ("JPEG", "WEBP")


def natural_photo(seed: int, width: int = 4000, height: int = 3000) -> bytes:
    """A 12 MP JPEG whose spectrum falls as 1/f, like a photograph's, with a few sharp shapes."""
    rng = np.random.default_rng(seed)
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    falloff = 1 / np.maximum(np.hypot(fx, fy), 1 / max(width, height)) ** (1.0 + 0.1 * seed)
    channels = []
    for _ in range(3):
        spectrum = falloff * np.exp(2j * np.pi * rng.random(falloff.shape))
        plane = np.fft.irfft2(spectrum, s=(height, width))
        channels.append((plane - plane.mean()) / plane.std())
    mix = np.array([[0.8, 0.15, 0.05], [0.3, 0.6, 0.1], [0.2, 0.2, 0.6]])
    rgb = np.tensordot(np.stack(channels, -1), mix, axes=1) * 40 + rng.uniform(90, 160, 3)
    yy, xx = np.mgrid[0:height, 0:width]
    for _ in range(6):
        cy, cx, r = rng.integers(0, height), rng.integers(0, width), rng.integers(100, 600)
        rgb[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = rng.uniform(20, 235, 3)
    rgb += rng.normal(0, 1.5, rgb.shape)  # sensor noise
    buffer = io.BytesIO()
    Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def naive_pillow(data: bytes) -> list[bytes]:
    """What a first version would do: decode it all, resize from full size, fixed quality 85."""
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    outputs = []
    for width in WIDTHS.values():
        sized = image.resize((width, round(image.height * width / image.width)), Image.Resampling.LANCZOS)
        outputs += [quality.encode(sized, fmt, 85) for fmt in FORMATS]
    return outputs


def vips(data: bytes) -> list[bytes]:
    """pyvips: shrink-on-load thumbnails, fixed quality 85."""
    outputs = []
    for width in WIDTHS.values():
        sized = pyvips.Image.thumbnail_buffer(data, width, height=100_000).copy_memory()  # two saves
        outputs += [
            sized.jpegsave_buffer(Q=85, optimize_coding=True, strip=True),
            sized.webpsave_buffer(Q=85, strip=True),
        ]
    return outputs


def _timed(work: Any, data: bytes, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        work(data)
        best = min(best, time.perf_counter() - started)
    return best


def _fixed_85(data: bytes) -> tuple[int, list[float], int]:
    """Fixed quality 85 on exactly the pixels Aperture encodes, the SSIM each gets, and the bytes
    the quality search needs to reach that same SSIM output by output (an equal-SSIM comparison)."""
    total, scores, matched = 0, [], 0
    for pixels in sized(data).values():
        reference = quality.luma(pixels)
        for fmt in FORMATS:
            encoded = quality.encode(pixels, fmt, 85)
            with Image.open(io.BytesIO(encoded)) as back:
                score = quality.ssim(reference, quality.luma(back))
            scores.append(score)
            total += len(encoded)
            matched += len(quality.smallest_above(pixels, fmt, score).data)
    return total, scores, matched


def _at_worst_case(photos: int, floor: float, fixed_bytes: int) -> str:
    """One target for the whole set, q85's worst SSIM: no output is worse than q85's worst."""
    total, scores = 0, []
    for seed in range(photos):
        for pixels in sized(natural_photo(seed)).values():
            for fmt in FORMATS:
                encoded = quality.smallest_above(pixels, fmt, floor)
                total += len(encoded.data)
                scores.append(encoded.ssim)
    return (
        f"With one target for the set at q85's worst SSIM ({floor:.4f}): {total:,} bytes, "
        f"{1 - total / fixed_bytes:.1%} fewer than q85, "
        f"SSIM mean/min {statistics.mean(scores):.4f}/{min(scores):.4f}."
    )


def run(photos: int = 4, repeats: int = 2) -> None:
    rows: list[dict[str, Any]] = []
    timings: dict[str, list[float]] = {"aperture": [], "naive pillow": [], "pyvips": []}
    ours_bytes = fixed_bytes = matched_bytes = 0
    ours_ssim: list[float] = []
    fixed_ssim: list[float] = []
    for seed in range(photos):
        data = natural_photo(seed)
        print(f"  photo {seed + 1}/{photos}: {len(data) / 1e6:.1f} MB", flush=True)
        timings["aperture"].append(_timed(lambda d: process(d, formats=FORMATS), data, repeats))
        timings["naive pillow"].append(_timed(naive_pillow, data, repeats))
        timings["pyvips"].append(_timed(vips, data, repeats))
        processed = process(data, formats=FORMATS)
        ours_bytes += sum(len(r.data) for r in processed.renditions)
        ours_ssim += [r.ssim for r in processed.renditions]
        total, scores, matched = _fixed_85(data)
        fixed_bytes += total
        matched_bytes += matched
        fixed_ssim += scores
    for name, seconds in timings.items():
        rows.append(
            {
                "pipeline": name,
                "s_per_photo_mean": statistics.mean(seconds),
                "s_per_photo_max": max(seconds),
                "vs_pyvips": statistics.mean(seconds) / statistics.mean(timings["pyvips"]),
            }
        )
    saved = 1 - ours_bytes / fixed_bytes
    ours, fixed = (
        f"{statistics.mean(ours_ssim):.4f}/{min(ours_ssim):.4f}",
        f"{statistics.mean(fixed_ssim):.4f}/{min(fixed_ssim):.4f}",
    )
    summary = (
        f"Time per 12 MP photo for 8 renditions (4 sizes x JPEG+WebP). Bytes: perceptual "
        f"(SSIM >= {SSIM_TARGET}) {ours_bytes:,} vs fixed q85 {fixed_bytes:,}: {saved:.1%} fewer. "
        f"SSIM mean/min: perceptual {ours}, fixed q85 {fixed}. At equal SSIM (each output searched to "
        f"the SSIM q85 gave it): {matched_bytes:,} bytes, "
        f"{1 - matched_bytes / fixed_bytes:.1%} fewer than q85. "
        + _at_worst_case(photos, min(fixed_ssim), fixed_bytes)
    )
    path = report.write("images", summary, rows, {"photos": photos, "repeats": repeats, "megapixels": 12})
    print(path.read_text())
