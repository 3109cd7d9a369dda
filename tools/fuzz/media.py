"""Mutations of valid JPEG, PNG, GIF, WebP, HEIC, AVIF, MP4 and WebM files through the real processors.

Each file goes where the router would send it: the image path (``images.process``: safe decode,
every rendition with its quality search) or the video fast path (safe probe, H.264 encode,
poster). A refusal (a PermanentError: ImageRejected, VideoRejected) is the expected outcome for
a broken file; any other exception, or a file that runs past HANG_SECONDS, is a crash. Mutations:
truncations, bit flips, duplicated and reordered segments (JPEG markers, PNG chunks, boxes, RIFF
chunks), repeated JPEG scans, huge declared sizes, inserted bytes and splices of two files.
"""

from __future__ import annotations

import io
import multiprocessing
import random
import re
import struct
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pillow_heif
from PIL import Image

from aperture.core.jobs import PermanentError
from aperture.media import images, video
from aperture.media.sniff import Kind, sniff

HANG_SECONDS = 60.0  # half the image function's timeout: a file past it is a crash
pillow_heif.register_heif_opener()


# ------------------------------------------------------------------------------ seeds
def _picture(width: int, height: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 / width, y * 255 / height, (x + y) * 127 / (width + height)], -1)
    noisy = base + rng.normal(0, 12, base.shape)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def _saved(image: Image.Image, fmt: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _clip(container: str, codec: str, audio: bool) -> bytes:
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / f"seed.{container}"
        with av.open(str(path), "w") as out:
            stream: Any = out.add_stream(codec, rate=12)
            stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
            sound: Any = (
                out.add_stream("libopus" if container == "webm" else "aac", rate=48_000) if audio else None
            )
            for n in range(6):
                frame = av.VideoFrame.from_ndarray(np.asarray(_picture(96, 64, n)), format="rgb24")
                frame.pts, frame.time_base = n, Fraction(1, 12)
                out.mux(stream.encode(frame))
            out.mux(stream.encode(None))
            if sound is not None:
                samples = np.zeros((2, 960), np.float32)
                for n in range(25):
                    chunk = av.AudioFrame.from_ndarray(samples, format="fltp", layout="stereo")
                    chunk.sample_rate, chunk.pts = 48_000, n * 960
                    out.mux(sound.encode(chunk))
                out.mux(sound.encode(None))
        return path.read_bytes()


def seeds() -> dict[str, bytes]:
    """One small valid file of every accepted kind."""
    picture, alpha = _picture(160, 120, 1), _picture(120, 90, 2).convert("RGBA")
    frames = [_picture(64, 48, n).convert("P") for n in range(3)]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)
    return {
        "jpeg": _saved(picture, "JPEG", quality=90, exif=Image.Exif()),
        "jpeg-progressive": _saved(picture, "JPEG", quality=80, progressive=True),
        "png": _saved(alpha, "PNG"),
        "gif": gif.getvalue(),
        "webp": _saved(picture, "WEBP", quality=80),
        "avif": _saved(picture, "AVIF", quality=60),
        "heic": _saved(picture, "HEIF", quality=60),
        "mp4": _clip("mp4", "libx264", audio=True),
        "webm": _clip("webm", "libsvtav1", audio=False),
    }


# ------------------------------------------------------------------------------ mutations
def _boundaries(data: bytes) -> list[int]:
    """Where a file's segments, chunks or boxes start (random offsets for what is not walked)."""
    if data[:2] == b"\xff\xd8":
        return [i for i in range(2, len(data) - 1) if data[i] == 0xFF and data[i + 1] not in (0, 0xFF)][:400]
    if data[:4] == b"\x89PNG" or data[4:8] == b"ftyp" or data[:4] == b"RIFF":
        found: list[int] = []
        position = 8 if data[:4] == b"\x89PNG" else (12 if data[:4] == b"RIFF" else 0)
        while position + 8 <= len(data) and len(found) < 400:
            found.append(position)
            if data[:4] == b"\x89PNG":
                position += 12 + struct.unpack(">I", data[position : position + 4])[0]
            elif data[:4] == b"RIFF":
                position += 8 + struct.unpack("<I", data[position + 4 : position + 8])[0]
            else:
                position += max(8, struct.unpack(">I", data[position : position + 4])[0])
        return found
    return sorted(random.sample(range(len(data)), min(20, len(data))))


def _truncate(data: bytes, rng: random.Random) -> bytes:
    cut = data[: rng.randrange(1, len(data))]
    return cut + (b"\xff\xd9" if data[:2] == b"\xff\xd8" and rng.random() < 0.5 else b"")


def _flip(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 16)):
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def _segment(data: bytes, rng: random.Random) -> tuple[int, int]:
    cuts = [*_boundaries(data), len(data)]
    if len(cuts) < 2:
        return 0, len(data)
    start = rng.randrange(len(cuts) - 1)
    return cuts[start], cuts[start + 1]


def _duplicate(data: bytes, rng: random.Random) -> bytes:
    start, end = _segment(data, rng)
    return data[:end] + data[start:end] * rng.randint(1, 50) + data[end:]


def _reorder(data: bytes, rng: random.Random) -> bytes:
    (a, b), (c, d) = sorted([_segment(data, rng), _segment(data, rng)])
    if b > c:
        return data
    return data[:a] + data[c:d] + data[b:c] + data[a:b] + data[d:]


def _scans(data: bytes, rng: random.Random) -> bytes:
    """A JPEG's last scan repeated up to 3,000 times (a scan bomb); other files get a duplicate."""
    if data[:2] != b"\xff\xd8" or b"\xff\xda" not in data:
        return _duplicate(data, rng)
    last = data.rindex(b"\xff\xda")
    return data[:last] + data[last:-2] * rng.randint(2, 3000) + b"\xff\xd9"


def _huge(data: bytes, rng: random.Random) -> bytes:
    """A declared size (dimensions, a length) made enormous."""
    out = bytearray(data)
    big = rng.choice([0xFFFF, 0x7FFF, 50_000, 0xFFFFFFFF, 0x7FFFFFFF])
    if data[:2] == b"\xff\xd8" and (b"\xff\xc0" in data or b"\xff\xc2" in data):
        sof = max(data.find(b"\xff\xc0"), data.find(b"\xff\xc2"))
        out[sof + 5 : sof + 9] = struct.pack(">HH", big & 0xFFFF, big & 0xFFFF)
    elif data[:4] == b"\x89PNG":
        out[16:24] = struct.pack(">II", big, big)
    elif data[:3] == b"GIF":
        out[6:10] = struct.pack("<HH", big & 0xFFFF, big & 0xFFFF)
    else:
        at = rng.choice(_boundaries(data) or [0])
        out[at : at + 4] = struct.pack(">I", big & 0xFFFFFFFF)
    return bytes(out)


def _insert(data: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(data))
    return data[:at] + rng.randbytes(rng.randint(1, 4096)) + data[at:]


MUTATIONS: dict[str, Callable[[bytes, random.Random], bytes]] = {
    "truncate": _truncate,
    "flip": _flip,
    "duplicate": _duplicate,
    "reorder": _reorder,
    "scans": _scans,
    "huge": _huge,
    "insert": _insert,
}


# ------------------------------------------------------------------------------ the processors
def process(data: bytes) -> str:
    """Where the router would send the file, and how it ends there: processed, or refused (why)."""
    sniffed = sniff(data[:64])
    if sniffed is None:
        return "refused: not an accepted type"
    kind, mime = sniffed
    try:
        if kind is Kind.IMAGE:
            images.process(data, formats=("JPEG",))
        else:
            with tempfile.TemporaryDirectory() as work:
                source, target = Path(work) / "source", Path(work) / "fast.mp4"
                source.write_bytes(data)
                info = video.probe(source, mime)
                width, height = video.fit(info, 320)
                rung = video.Rung("fast", "libx264", width, height, 30)
                video.encode(source, mime, probe=info, rung=rung, target=target, container_format="mp4")
                video.poster(source, mime, info, longest=160)
    except PermanentError as refused:
        return "refused: " + re.sub(r"[0-9][0-9,]*", "N", str(refused).split(":")[0])
    return "processed"


def _one(data: bytes) -> tuple[str, float, str | None]:
    begun = time.perf_counter()
    try:
        outcome, crash = process(data), None
    except Exception:
        outcome, crash = "crash", traceback.format_exc(limit=4)
    return outcome, time.perf_counter() - begun, crash


# ------------------------------------------------------------------------------ the run
def run(
    seconds: float, *, seed: int = 0, workers: int = 2, files_at_most: int | None = None
) -> dict[str, Any]:
    rng = random.Random(seed)
    originals = seeds()
    outcomes: Counter[str] = Counter()
    mutations: Counter[str] = Counter()
    crashes: list[dict[str, Any]] = []
    slowest = (0.0, "")
    deadline = time.monotonic() + seconds
    files = 0
    pool = multiprocessing.get_context("spawn").Pool(workers)
    try:
        while time.monotonic() < deadline and (files_at_most is None or files < files_at_most):
            batch = []
            for _ in range(workers * 8):
                name = rng.choice(sorted(originals))
                mutation = rng.choice(sorted(MUTATIONS))
                data = MUTATIONS[mutation](originals[name], rng)
                if rng.random() < 0.2:  # a second mutation on top
                    data = MUTATIONS[rng.choice(sorted(MUTATIONS))](data or originals[name], rng)
                batch.append((f"{name}/{mutation}", data or b"\0", pool.apply_async(_one, (data or b"\0",))))
            for label, data, pending in batch:
                try:
                    outcome, took, crash = pending.get(timeout=HANG_SECONDS)
                except multiprocessing.TimeoutError:
                    outcome, took, crash = "crash", HANG_SECONDS, f"ran past {HANG_SECONDS:.0f} s"
                    pool.terminate()
                    pool = multiprocessing.get_context("spawn").Pool(workers)
                files += 1
                outcomes[outcome] += 1
                mutations[label.split("/")[1]] += 1
                if crash:
                    crashes.append({"file": label, "bytes": len(data), "error": crash})
                slowest = max(slowest, (took, label))
            if files % 500 < workers * 8:
                print(
                    f"  {files} files, {sum(1 for c in crashes)} crashes, slowest {slowest[0]:.2f} s",
                    flush=True,
                )
    finally:
        pool.terminate()
    return {
        "files": files,
        "seconds": seconds,
        "crashes": len(crashes),
        "slowest_file_s": slowest[0],
        "slowest_file": slowest[1],
        "outcomes": dict(outcomes.most_common()),
        "mutations": dict(sorted(mutations.items())),
        "seeds": sorted(originals),
        "crash_samples": crashes[:10],
    }


def write(report: dict[str, Any]) -> None:
    from benchmarks import report as results

    rows = [{"outcome": outcome, "files": count} for outcome, count in report["outcomes"].items()]
    headline = {key: report[key] for key in ("files", "crashes", "slowest_file_s", "slowest_file")}
    path = results.write(
        "fuzz_media",
        f"Mutated media through the real image and video processors for {report['seconds']:.0f} s:"
        f" {report['files']} files, {report['crashes']} crashes, slowest {report['slowest_file_s']:.2f} s"
        f" (goal: 0 crashes, slowest under 30 s).",
        rows,
        {"seeds": report["seeds"], "mutations": report["mutations"], "hang_seconds": HANG_SECONDS},
        command=f"fuzz media --seconds {report['seconds']:.0f}",
        headline=headline | {"crash_samples": report["crash_samples"]},
    )
    print(path.read_text())
