"""The image path on natural photos: bytes at a proven quality, encodes, and time against pyvips.

Two sets, reported separately: seven natural photographs bundled with scikit-image
(``natural.py``; none of them in the quality model's training corpus) and the six generated 12 MP
camera photos (``photos.py``, seed 0). Every pipeline makes the same twelve outputs per photo
(display 1080 px and 640, 320, 150 px wide, each as JPEG, WebP and AVIF):

- **aperture**: the whole image path (``images.process``: decode, orientation, sRGB, metadata
  strip, four q85 references and their scores, a model-guided search per output, ThumbHash);
- **pyvips, fixed quality**: shrink-on-load thumbnails, one thread per size, saved at JPEG Q85,
  WebP Q80 (effort 6 with sharp YUV, as ours) and AVIF Q60 (effort 3, aom's speed 6, as ours);
- **naive pillow**: decode it all, resize from full size, the same fixed qualities.

Bytes: what a client that takes AVIF (or WebP, or only JPEG) is sent for the twelve renditions'
four sizes, against JPEG q85 of the same pixels. Quality: each rendition's SSIMULACRA2 against its
target (q85's score on the same pixels), by our implementation and, on the natural set, again by
the independent ``ssimulacra2`` package.
"""

from __future__ import annotations

import io
import os
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import pyvips
import ssimulacra2 as independent
from PIL import Image, ImageOps

from aperture.media import quality, ssimulacra2
from aperture.media.images import FORMATS, WIDTHS, ProcessedImage, process, sized

from . import report
from .natural import BENCHMARK, natural
from .photos import KINDS, photo

FIXED = {"JPEG": 85, "WEBP": 80, "AVIF": 60}


def naive_pillow(data: bytes) -> list[bytes]:
    """What a first version would do: decode it all, resize from full size, fixed qualities."""
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    outputs = []
    for width in WIDTHS.values():
        resized = image.resize((width, round(image.height * width / image.width)), Image.Resampling.LANCZOS)
        for fmt, level in FIXED.items():
            buffer = io.BytesIO()
            resized.save(buffer, fmt, quality=level)
            outputs.append(buffer.getvalue())
    return outputs


def _vips_size(data: bytes, width: int) -> list[bytes]:
    resized = pyvips.Image.thumbnail_buffer(data, width, height=100_000, size="down").copy_memory()
    return [
        resized.jpegsave_buffer(Q=FIXED["JPEG"], optimize_coding=True, interlace=True, keep=0),
        resized.webpsave_buffer(Q=FIXED["WEBP"], **quality.WEBP_SAVE),
        resized.heifsave_buffer(Q=FIXED["AVIF"], compression="av1", effort=3, keep=0),
    ]


def vips_fixed(data: bytes) -> list[bytes]:
    with ThreadPoolExecutor() as pool:
        return [
            output
            for outputs in pool.map(lambda width: _vips_size(data, width), WIDTHS.values())
            for output in outputs
        ]


def _timed(work: Callable[[bytes], Any], data: bytes) -> tuple[float, Any]:
    started = time.perf_counter()
    result = work(data)
    return time.perf_counter() - started, result


def _independent_score(folder: Path, source: Image.Image, data: bytes) -> float:
    quality.judged(source).save(folder / "source.png")
    with Image.open(io.BytesIO(data)) as decoded:
        quality.judged(quality.flattened(decoded)).save(folder / "candidate.png")
    return float(independent.compute_ssimulacra2(folder / "source.png", folder / "candidate.png"))


def _photo_rows(name: str, data: bytes, folder: Path | None) -> tuple[dict[str, Any], list[float]]:
    seconds = {}
    for pipeline, work in (("pyvips, fixed quality", vips_fixed), ("naive pillow", naive_pillow)):
        seconds[pipeline] = _timed(work, data)[0]
    seconds["aperture"], processed = _timed(process, data)
    assert isinstance(processed, ProcessedImage)
    pixels = sized(data)
    references = {size: quality.reference_jpeg(quality.flattened(image)) for size, image in pixels.items()}
    q85_bytes = sum(len(reference) for reference in references.values())
    sent = {fmt: sum(len(r.data) for r in processed.renditions if r.format == fmt) for fmt in FORMATS}
    disagreements = []
    below_independent = 0
    if folder is not None:  # the natural set: every rendition scored again, independently
        for size, image in pixels.items():
            source = quality.flattened(image)
            target = _independent_score(folder, source, references[size])
            for rendition in (r for r in processed.renditions if r.name == size):
                theirs = _independent_score(folder, source, rendition.data)
                disagreements += [abs(theirs - rendition.score), abs(target - rendition.target)]
                below_independent += theirs < target
    exact = process(data, exact=True) if folder is not None else None
    row = {
        "photo": name,
        "size": f"{processed.width}x{processed.height}",
        "q85_bytes": q85_bytes,
        **{f"{fmt.lower()}_bytes": sent[fmt] for fmt in FORMATS},
        "below_target": sum(r.score < r.target for r in processed.renditions),
        "below_target_independent": below_independent if folder is not None else None,
        "encodes": sum(r.encodes for r in processed.renditions),
        **{
            f"{fmt.lower()}_encodes": sum(r.encodes for r in processed.renditions if r.format == fmt)
            for fmt in FORMATS
        },
        "reference_encodes": len(
            {r.name for r in processed.renditions if r.encodes}
        ),  # sizes with pixels of their own
        **{
            f"exact_{fmt.lower()}_bytes": sum(len(r.data) for r in exact.renditions if r.format == fmt)
            if exact
            else None
            for fmt in FORMATS
        },
        "exact_encodes": sum(r.encodes for r in exact.renditions) if exact else None,
        "qualities": " ".join(f"{r.format[0]}{r.quality}" for r in processed.renditions),
        **{f"s_{pipeline.split(',')[0].replace(' ', '_')}": round(s, 3) for pipeline, s in seconds.items()},
    }
    return row, disagreements


def _saved(rows: list[dict[str, Any]], prefix: str = "") -> dict[str, float]:
    """Per client class: the percentage of q85's bytes it is not sent."""
    q85 = sum(row["q85_bytes"] for row in rows)
    return {
        fmt.lower(): round(100 * (1 - sum(row[f"{prefix}{fmt.lower()}_bytes"] for row in rows) / q85), 1)
        for fmt in FORMATS
    }


def _per_rendition(rows: list[dict[str, Any]], column: str) -> float:
    return round(sum(row[column] for row in rows) / (len(WIDTHS) * len(FORMATS) * len(rows)), 3)


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "bytes_saved_vs_q85_pct": _saved(rows),
        "renditions_below_target": sum(row["below_target"] for row in rows),
        "encodes_per_rendition": _per_rendition(rows, "encodes"),
        "encodes_per_rendition_by_format": {
            fmt.lower(): round(len(FORMATS) * _per_rendition(rows, f"{fmt.lower()}_encodes"), 3)
            for fmt in FORMATS
        },
        "reference_encodes_per_rendition": _per_rendition(rows, "reference_encodes"),
        "s_per_photo_vs_pyvips": round(
            statistics.mean(row["s_aperture"] for row in rows)
            / statistics.mean(row["s_pyvips"] for row in rows),
            2,
        ),
        "s_per_photo": {
            pipeline: round(statistics.mean(row[f"s_{pipeline}"] for row in rows), 3)
            for pipeline in ("aperture", "pyvips", "naive_pillow")
        },
    }


def _best_ms(work: Callable[[], object], repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return round(1000 * best, 1)


def _exact_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The same photos searched exactly, with no model: the bytes a perfect guess would reach."""
    return {
        "bytes_saved_vs_q85_pct": _saved(rows, "exact_"),
        "encodes_per_rendition": _per_rendition(rows, "exact_encodes"),
    }


def _metric_speed() -> dict[str, float]:
    """ms for one 1080x720 pair on one thread: ours (fresh, and against a kept reference) and the package."""
    source = (
        Image.open(io.BytesIO(natural("retina"))).convert("RGB").resize((1080, 720), Image.Resampling.LANCZOS)
    )
    candidate = Image.open(io.BytesIO(quality.reference_jpeg(source))).convert("RGB")
    kept = ssimulacra2.Reference(source)
    with TemporaryDirectory() as folder:
        source.save(f"{folder}/a.png")
        candidate.save(f"{folder}/b.png")
        timings = {
            "ours_pair_ms": lambda: ssimulacra2.score(source, candidate),
            "ours_against_kept_reference_ms": lambda: kept.score(candidate),
            "package_pair_ms": lambda: independent.compute_ssimulacra2(f"{folder}/a.png", f"{folder}/b.png"),
        }
        return {name: _best_ms(work) for name, work in timings.items()}


def _judged_scale() -> list[dict[str, Any]]:
    """Why small renditions are judged enlarged: q85's score at each size, native and as judged."""
    rows = []
    for size in WIDTHS:
        native, judged = [], []
        for name in BENCHMARK:
            image = quality.flattened(sized(natural(name))[size])
            decoded = Image.open(io.BytesIO(quality.reference_jpeg(image))).convert("RGB")
            native.append(ssimulacra2.score(image, decoded))
            judged.append(ssimulacra2.score(quality.judged(image), quality.judged(decoded)))
        rows.append(
            {
                "size": size,
                "q85_native": round(statistics.mean(native), 1),
                "q85_judged": round(statistics.mean(judged), 1),
            }
        )
    return rows


def _described(summary: dict[str, Any]) -> str:
    saved = summary["bytes_saved_vs_q85_pct"]
    return (
        f"AVIF {saved['avif']}% fewer bytes than q85, WebP {saved['webp']}%, JPEG {saved['jpeg']}%; "
        f"{summary['renditions_below_target']} renditions below target; {summary['encodes_per_rendition']} "
        f"encodes per rendition (+{summary['reference_encodes_per_rendition']} for the q85 references); "
        f"{summary['s_per_photo_vs_pyvips']}x pyvips' time at fixed quality."
    )


def run() -> None:
    rows: dict[str, list[dict[str, Any]]] = {"natural": [], "generated": []}
    disagreements: list[float] = []
    with TemporaryDirectory() as folder:
        for number, name in enumerate(BENCHMARK, 1):
            print(f"  natural {number}/{len(BENCHMARK)}: {name}", flush=True)
            row, worst = _photo_rows(name, natural(name), Path(folder))
            rows["natural"].append({"set": "natural"} | row)
            disagreements += worst
    for number, kind in enumerate(KINDS, 1):
        print(f"  generated {number}/{len(KINDS)}: {kind} (12 MP)", flush=True)
        rows["generated"].append({"set": "generated"} | _photo_rows(kind, photo(kind), None)[0])
    natural_summary, generated_summary = _summary(rows["natural"]), _summary(rows["generated"])
    headline = natural_summary | {
        "ssimulacra2_agreement_max_abs": round(max(disagreements), 3),
        "ssimulacra2_pairs_checked": len(disagreements),
        "renditions_below_target_independent": sum(
            row["below_target_independent"] for row in rows["natural"]
        ),
        "ssimulacra2_speed": _metric_speed(),
        "exact_search": _exact_summary(rows["natural"]),
        "judged_scale": _judged_scale(),
        "generated": generated_summary,
    }
    exact = headline["exact_search"]["bytes_saved_vs_q85_pct"]
    summary = (
        f"Natural photos ({len(BENCHMARK)}, scikit-image), every rendition against JPEG q85's SSIMULACRA2 on "
        f"the same pixels: {_described(headline)} Independent check: "
        f"{headline['renditions_below_target_independent']} below target by the ssimulacra2 package, worst "
        f"disagreement {headline['ssimulacra2_agreement_max_abs']} over "
        f"{headline['ssimulacra2_pairs_checked']} scores. The exact search (no model) would save AVIF "
        f"{exact['avif']}%, WebP {exact['webp']}%, JPEG {exact['jpeg']}%. Generated set: "
        f"{_described(generated_summary)}"
    )
    parameters = {
        "natural": list(BENCHMARK),
        "generated": list(KINDS),
        "fixed_qualities": FIXED,
        "threads": os.cpu_count(),
    }
    report.write("images", summary, rows["natural"] + rows["generated"], parameters, headline=headline)
