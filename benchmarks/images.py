"""The image path against a naive Pillow pipeline and pyvips, on 12-megapixel photos.

All of them make the same renditions (display 1080, 640, 320 and 150 px wide, each as JPEG and
WebP) from the same camera JPEG, one photo of each kind in ``photos.py``. Aperture's path adds
what the others skip: EXIF orientation, sRGB, metadata stripping, ThumbHash and a quality search
per output. pyvips is timed as it is usually called (one size after another) and with one thread
per size, as Aperture spreads its searches over the cores; the faster is the yardstick.

Bytes: the perceptual search (SSIM >= SSIM_TARGET) against fixed quality 85 on the same pixels,
with the SSIM of each. "Equal SSIM" is judged over the set: a mean at least q85's and a worst
output at least q85's worst. Two more targets show the trade: q85's own mean SSIM (equal average
quality, made uniform) and q85's worst SSIM (no output worse than q85's worst).
"""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyvips
from PIL import Image, ImageOps

from aperture.media import quality
from aperture.media.images import SSIM_TARGET, WIDTHS, process, sized

from . import report
from .photos import KINDS, photo

FORMATS = ("JPEG", "WEBP")


def naive_pillow(data: bytes) -> list[bytes]:
    """What a first version would do: decode it all, resize from full size, fixed quality 85."""
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    outputs = []
    for width in WIDTHS.values():
        resized = image.resize((width, round(image.height * width / image.width)), Image.Resampling.LANCZOS)
        outputs += [quality.encode(resized, fmt, 85) for fmt in FORMATS]
    return outputs


def _vips_size(data: bytes, width: int) -> list[bytes]:
    """pyvips: a shrink-on-load thumbnail, saved at fixed quality 85 in both formats."""
    resized = pyvips.Image.thumbnail_buffer(data, width, height=100_000).copy_memory()  # two saves
    return [
        resized.jpegsave_buffer(Q=85, optimize_coding=True, strip=True),
        resized.webpsave_buffer(Q=85, strip=True),
    ]


def vips(data: bytes) -> list[bytes]:
    return [output for width in WIDTHS.values() for output in _vips_size(data, width)]


def vips_threaded(data: bytes) -> list[bytes]:
    with ThreadPoolExecutor() as pool:
        sizes = pool.map(lambda width: _vips_size(data, width), WIDTHS.values())
        return [output for outputs in sizes for output in outputs]


def aperture_fixed_85(data: bytes) -> list[bytes]:
    """Aperture's decode and resize, then one encode per output at 85: the cost of the search."""
    jobs = [(pixels, fmt) for pixels in sized(data).values() for fmt in FORMATS]
    with ThreadPoolExecutor() as pool:
        return list(pool.map(lambda job: quality.encode(*job, 85), jobs))


PIPELINES: dict[str, Callable[[bytes], Any]] = {
    "aperture (perceptual search)": lambda data: process(data, formats=FORMATS),
    "aperture pipeline at fixed q85": aperture_fixed_85,
    "naive pillow": naive_pillow,
    "pyvips, one size after another": vips,
    "pyvips, one thread per size": vips_threaded,
}


def _timed(work: Callable[[bytes], Any], data: bytes, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        work(data)
        best = min(best, time.perf_counter() - started)
    return best


def _outputs(data: bytes) -> list[tuple[Image.Image, str]]:
    return [(pixels.convert("RGB"), fmt) for pixels in sized(data).values() for fmt in FORMATS]


def _at_q85(outputs: list[tuple[Image.Image, str]]) -> list[quality.Encoded]:
    encoded = []
    for pixels, fmt in outputs:
        data = quality.encode(pixels, fmt, 85)
        with Image.open(io.BytesIO(data)) as back:
            encoded.append(quality.Encoded(data, 85, quality.ssim(quality.luma(pixels), quality.luma(back))))
    return encoded


def _searched(outputs: list[tuple[Image.Image, str]], target: float) -> list[quality.Encoded]:
    return [quality.smallest_above(pixels, fmt, target) for pixels, fmt in outputs]


def _size(encoded: list[quality.Encoded]) -> int:
    return sum(len(e.data) for e in encoded)


def _judged(name: str, ours: list[quality.Encoded], fixed: list[quality.Encoded]) -> str:
    ours_bytes, fixed_bytes = _size(ours), _size(fixed)
    mean, worst = statistics.mean(e.ssim for e in ours), min(e.ssim for e in ours)
    fixed_mean, fixed_worst = statistics.mean(e.ssim for e in fixed), min(e.ssim for e in fixed)
    verdict = "equal or better" if mean >= fixed_mean and worst >= fixed_worst else "lower"
    return (
        f"{name}: {ours_bytes:,} bytes, {1 - ours_bytes / fixed_bytes:.1%} fewer than q85's {fixed_bytes:,}; "
        f"SSIM mean/worst {mean:.4f}/{worst:.4f} ({verdict} than q85's {fixed_mean:.4f}/{fixed_worst:.4f})."
    )


def run(repeats: int = 2) -> None:
    timings: dict[str, list[float]] = {name: [] for name in PIPELINES}
    byte_rows: list[dict[str, Any]] = []
    ours_all: list[quality.Encoded] = []
    fixed_all: list[quality.Encoded] = []
    outputs_all: list[tuple[Image.Image, str]] = []
    for number, kind in enumerate(KINDS, 1):
        data = photo(kind)
        print(f"  photo {number}/{len(KINDS)} ({kind}): {len(data) / 1e6:.1f} MB", flush=True)
        for name, work in PIPELINES.items():
            timings[name].append(_timed(work, data, repeats))
        renditions = process(data, formats=FORMATS).renditions
        ours = [quality.Encoded(r.data, r.quality, r.ssim) for r in renditions]
        outputs = _outputs(data)
        fixed = _at_q85(outputs)
        ours_all, fixed_all, outputs_all = ours_all + ours, fixed_all + fixed, outputs_all + outputs
        byte_rows.append(
            {
                "photo": kind,
                "q85_bytes": _size(fixed),
                "perceptual_bytes": _size(ours),
                "fewer_bytes_pct": round(100 * (1 - _size(ours) / _size(fixed)), 1),
                "q85_ssim_mean": round(statistics.mean(e.ssim for e in fixed), 4),
                "q85_ssim_min": round(min(e.ssim for e in fixed), 4),
                "perceptual_ssim_min": round(min(e.ssim for e in ours), 4),
                "qualities": " ".join(f"{r.format[0]}{r.quality}" for r in renditions),
            }
        )
    yardstick = min(statistics.mean(timings[n]) for n in PIPELINES if n.startswith("pyvips"))
    rows = [
        {
            "pipeline": name,
            "s_per_photo_mean": statistics.mean(seconds),
            "s_per_photo_max": max(seconds),
            "vs_fastest_pyvips": statistics.mean(seconds) / yardstick,
        }
        for name, seconds in timings.items()
    ]
    fixed_mean = statistics.mean(e.ssim for e in fixed_all)
    fixed_worst = min(e.ssim for e in fixed_all)
    bytes_summary = " ".join(
        _judged(name, ours, fixed_all)
        for name, ours in [
            (f"Perceptual at the product's target (SSIM >= {SSIM_TARGET})", ours_all),
            (f"At q85's mean SSIM ({fixed_mean:.4f})", _searched(outputs_all, fixed_mean)),
            (f"At q85's worst SSIM ({fixed_worst:.4f})", _searched(outputs_all, fixed_worst)),
        ]
    )
    parameters = {"photos": list(KINDS), "repeats": repeats, "megapixels": 12, "formats": list(FORMATS)}
    summary = (
        f"Seconds per 12 MP photo for 8 renditions (4 sizes x JPEG+WebP), best of {repeats}, "
        f"{len(KINDS)} photos. SSIM is FFmpeg's (8x8 windows, luma). {bytes_summary}"
    )
    timing = report.write("images", summary, rows, parameters)
    sizes = report.write("images_bytes", bytes_summary, byte_rows, parameters, command="bench images")
    print(timing.read_text())
    print(sizes.read_text())
