"""Polyglot detection: no ordinary photo refused, every built polyglot refused.

False positives: at least 2 GB of ordinary camera-like files (``photos.py``'s six kinds of 12 MP
scene, each re-exposed with fresh sensor noise and saved at a quality from 80 to 95, plus 4 MP
PNGs) through the image path's own decode, which refuses polyglots. Yardstick, in the same run:
the search it replaced, the whole file for markup, on the same bytes. Detection: markup (script,
svg, iframe, PHP, a doctype) and ZIP archives hidden where each accepted format can carry text
(JPEG comment and APP segments and after EOI, PNG text chunks and after IEND, GIF comments and
after the trailer, WebP XMP chunks and after the RIFF, AVIF/HEIC boxes and after the last box).
"""

from __future__ import annotations

import io
import struct
import time
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pillow_heif
from PIL import Image

from aperture.media.images import _MARKUP, ImageRejected, decode

from . import photos, report

pillow_heif.register_heif_opener()
GOAL_BYTES = 2 * 1024**3
PAYLOADS = [
    b"<script>fetch('//x')</script>",
    b"<svg onload=alert(1)>",
    b"<iframe src=//x>",
    b"<?php system($_GET[0]); ?>",
    b"<!DOCTYPE html><html><body>hi",
]
_ZIP = b"PK\x03\x04" + b"\0" * 26 + b"x.txt" + b"PK\x05\x06" + b"\0" * 18


def _ordinary() -> Iterator[tuple[str, bytes]]:
    """Camera-like JPEGs (12 MP) and PNGs (4 MP), each with its own noise, without end."""
    rng = np.random.default_rng(2026)
    bases = {kind: np.asarray(Image.open(io.BytesIO(photos.photo(kind, seed=1)))) for kind in photos.KINDS}
    n = 0
    while True:
        kind = sorted(bases)[n % len(bases)]
        noisy = np.clip(bases[kind] + rng.normal(0, 2.0, bases[kind].shape), 0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        if n % 10 == 9:
            Image.fromarray(noisy[:1500, :2667]).save(buffer, "PNG", compress_level=1)
            yield f"{kind}.png", buffer.getvalue()
        else:
            quality = int(rng.integers(80, 96))
            Image.fromarray(noisy).save(buffer, "JPEG", quality=quality, progressive=bool(n % 2))
            yield f"{kind}.q{quality}.jpg", buffer.getvalue()
        n += 1


def _carriers() -> dict[str, bytes]:
    picture = Image.fromarray(np.asarray(Image.open(io.BytesIO(photos.photo("food", seed=2))))[:480, :640])

    def saved(fmt: str, **options: Any) -> bytes:
        buffer = io.BytesIO()
        picture.save(buffer, fmt, **options)
        return buffer.getvalue()

    return {
        name: saved(fmt)
        for name, fmt in [
            ("jpeg", "JPEG"),
            ("png", "PNG"),
            ("gif", "GIF"),
            ("webp", "WEBP"),
            ("avif", "AVIF"),
            ("heic", "HEIF"),
        ]
    }


def _jpeg_segment(data: bytes, marker: int, payload: bytes) -> bytes:
    return data[:2] + bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload + data[2:]


def _png_chunk(data: bytes, kind: bytes, payload: bytes) -> bytes:
    chunk = struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    return data[:33] + chunk + data[33:]  # after IHDR


def _gif_comment(data: bytes, payload: bytes) -> bytes:
    return data[:-1] + b"\x21\xfe" + bytes([len(payload)]) + payload + b"\x00" + data[-1:]


def _webp_chunk(data: bytes, payload: bytes) -> bytes:
    chunk = b"XMP " + struct.pack("<I", len(payload)) + payload + b"\0" * (len(payload) % 2)
    body = data[8:] + chunk
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _box(data: bytes, payload: bytes) -> bytes:
    return data + struct.pack(">I", 8 + len(payload)) + b"free" + payload


HIDING: dict[str, dict[str, Callable[[bytes, bytes], bytes]]] = {
    "jpeg": {
        "COM segment": lambda d, p: _jpeg_segment(d, 0xFE, p),
        "APP1 segment": lambda d, p: _jpeg_segment(d, 0xE1, b"http://ns.adobe.com/xap/1.0/\0" + p),
        "after EOI": lambda d, p: d + p,
    },
    "png": {
        "tEXt chunk": lambda d, p: _png_chunk(d, b"tEXt", b"Comment\0" + p),
        "after IEND": lambda d, p: d + p,
    },
    "gif": {"comment extension": _gif_comment, "after the trailer": lambda d, p: d + p},
    "webp": {"XMP chunk": _webp_chunk, "after the RIFF": lambda d, p: d + p},
    "avif": {"a box": _box, "after the last box": lambda d, p: d + p},
    "heic": {"a box": _box, "after the last box": lambda d, p: d + p},
}


def _refused_as_polyglot(data: bytes) -> bool:
    try:
        decode(data)
    except ImageRejected as rejected:
        return "polyglot" in str(rejected)
    return False


def run() -> None:
    scanned = files = refused = yardstick_refused = 0
    begun = time.perf_counter()
    for _, data in _ordinary():
        files += 1
        scanned += len(data)
        refused += _refused_as_polyglot(data)
        yardstick_refused += _MARKUP.search(data) is not None
        if files % 50 == 0:
            print(f"  {scanned / 1024**3:.2f} GB, {files} files, {refused} refused", flush=True)
        if scanned >= GOAL_BYTES:
            break
    ordinary_seconds = time.perf_counter() - begun
    tried = caught = 0
    missed = []
    for carrier_name, carrier in _carriers().items():
        for place, hide in HIDING[carrier_name].items():
            for payload in [*PAYLOADS, *([_ZIP] if place.startswith("after") else [])]:
                tried += 1
                if _refused_as_polyglot(hide(carrier, payload)):
                    caught += 1
                else:
                    missed.append(f"{carrier_name} {place} {payload[:12]!r}")
    rows = [
        {
            "check": "text regions only (Aperture)",
            "ordinary_files": files,
            "ordinary_refused": refused,
            "false_positive_rate": refused / files,
            "polyglots_tried": tried,
            "polyglots_refused": caught,
        },
        {
            "check": "whole file (yardstick: the search it replaced)",
            "ordinary_files": files,
            "ordinary_refused": yardstick_refused,
            "false_positive_rate": yardstick_refused / files,
            "polyglots_tried": tried,
            "polyglots_refused": tried,
        },
    ]
    path = report.write(
        "polyglot",
        f"Polyglot refusals on {scanned / 1024**3:.2f} GB of ordinary camera-like JPEGs and PNGs"
        f" ({files} files, {ordinary_seconds:.0f} s through decode) and on {tried} built polyglots"
        " (goal: 0 ordinary files refused, every polyglot refused).",
        rows,
        {"bytes": scanned, "payloads": len(PAYLOADS), "carriers": sorted(HIDING)},
        headline={
            "bytes_scanned": scanned,
            "ordinary_files": files,
            "false_positive_rate": refused / files,
            "yardstick_false_positive_rate": yardstick_refused / files,
            "polyglots_tried": tried,
            "polyglots_refused": caught,
            "polyglots_missed": missed,
        },
    )
    print(path.read_text())
