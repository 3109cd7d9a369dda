"""Video: fast-path speed against real time, and the AV1 ladder's bitrate saving over H.264 at equal VMAF.

Three generated natural-motion clips (a camera pan over a photo-like scene, a slow zoom, objects
moving over grain), 640x360 at 30 fps, 6 s each, stored losslessly as the "upload". (a) The fast
path (probe, H.264 MP4, poster; these clips are silent) runs for real and is timed against the clip's length.
(b) Each codec of the ladder (our production settings: SVT-AV1 preset 10, x264 veryfast) encodes
the clip at seven quality settings; VMAF (libvmaf in the imageio-ffmpeg binary) scores each against
the source, and the Bjontegaard delta rate of AV1 against H.264 (the yardstick) is the bitrate
difference at equal VMAF. Rate-quality plots: benchmarks/results/video_rate_quality.png.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import bjontegaard
import imageio_ffmpeg
import matplotlib
import numpy as np
from PIL import Image

from aperture.media.video import Rung, encode, fit, poster, probe
from aperture.media.video_pipeline import FAST_CRF, FAST_LONG_SIDE
from tests.pictures import scene

from . import report

matplotlib.use("Agg")
from matplotlib import pyplot

SIZE, FPS, SECONDS = (640, 360), 30, 6.0
# Wide enough that both codecs' curves cover the same VMAF range (BD-rate compares them there).
CRF = {"libx264": (12, 16, 20, 24, 28, 32, 36), "libsvtav1": (24, 32, 40, 46, 52, 58, 63)}
NAMES = {"libx264": "H.264 (x264 veryfast)", "libsvtav1": "AV1 (SVT-AV1 preset 10)"}


def _pan(n: int, big: np.ndarray) -> np.ndarray:
    x = int(n * 4) % (big.shape[1] - SIZE[0])
    y = int(40 + 30 * np.sin(n / 25))
    return big[y : y + SIZE[1], x : x + SIZE[0]]


def _zoom(n: int, big: np.ndarray) -> np.ndarray:
    scale = 1.0 - 0.45 * n / (FPS * SECONDS)
    width, height = int(big.shape[1] * scale), int(big.shape[0] * scale)
    left, top = (big.shape[1] - width) // 2, (big.shape[0] - height) // 2
    crop = Image.fromarray(big[top : top + height, left : left + width])
    return np.asarray(crop.resize(SIZE, Image.Resampling.BILINEAR))


def _objects(n: int, big: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(n)
    frame = big[: SIZE[1], : SIZE[0]].astype(np.int16).copy()
    for k in range(6):
        cx = int(SIZE[0] / 2 + 220 * np.sin(n / (18 + 4 * k) + k))
        cy = int(SIZE[1] / 2 + 120 * np.cos(n / (23 + 3 * k) + 2 * k))
        frame[max(cy - 30, 0) : cy + 30, max(cx - 30, 0) : cx + 30] = (40 * k, 200 - 25 * k, 90 + 20 * k)
    frame += rng.normal(0, 4, frame.shape).astype(np.int16)  # sensor grain, new every frame
    return np.clip(frame, 0, 255).astype(np.uint8)


CLIPS = {"camera pan": (_pan, 11), "slow zoom": (_zoom, 12), "moving objects": (_objects, 13)}


def _source(name: str, folder: Path) -> Path:
    """The clip, stored losslessly (x264 qp 0) so every encode is scored against the same pixels."""
    draw, seed = CLIPS[name]
    texture = np.random.default_rng(seed).normal(
        0, 6, (900, 1600, 3)
    )  # fine detail that moves with the scene
    big = np.clip(np.asarray(scene(seed, (1600, 900)), dtype=float) + texture, 0, 255).astype(np.uint8)
    path = folder / f"{name.replace(' ', '_')}.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = *SIZE, "yuv420p"
        stream.options = {"qp": "0", "preset": "ultrafast"}
        for n in range(int(FPS * SECONDS)):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(draw(n, big)), format="rgb24")
            frame.pts, frame.time_base = n, Fraction(1, FPS)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def vmaf(distorted: Path, reference: Path) -> float:
    log = distorted.with_suffix(".vmaf.json")
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            *("-v", "error", "-i", str(distorted), "-i", str(reference)),
            *("-lavfi", f"[0:v][1:v]libvmaf=log_fmt=json:log_path={log}:n_threads=2", "-f", "null", "-"),
        ],
        check=True,
    )
    return float(json.loads(log.read_text())["pooled_metrics"]["vmaf"]["mean"])


def _fast_path(source: Path, folder: Path) -> float:
    started = time.perf_counter()
    info = probe(source, "video/mp4")
    width, height = fit(info, FAST_LONG_SIDE)
    rung = Rung("fast", "libx264", width, height, FAST_CRF)
    encode(
        source,
        "video/mp4",
        probe=info,
        rung=rung,
        target=folder / "fast.mp4",
        container_format="mp4",
        movflags="+faststart",
    )
    poster(source, "video/mp4", info)
    return time.perf_counter() - started


def _curve(source: Path, codec: str, folder: Path) -> list[tuple[float, float]]:
    info = probe(source, "video/mp4")
    points = []
    for crf in CRF[codec]:
        target = folder / f"{codec}_{crf}.mp4"
        rung = Rung(f"{codec}_{crf}", codec, info.width, info.height, crf)
        encode(source, "video/mp4", probe=info, rung=rung, target=target, container_format="mp4")
        kbps = target.stat().st_size * 8 / info.seconds / 1000
        points.append((kbps, vmaf(target, source)))
        print(f"    {NAMES[codec]} crf {crf}: {kbps:.0f} kb/s, VMAF {points[-1][1]:.1f}", flush=True)
    return points


def run() -> None:
    rows: list[dict[str, Any]] = []
    curves: dict[str, dict[str, list[tuple[float, float]]]] = {}
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        for name in CLIPS:
            print(f"  {name}: making the source", flush=True)
            source = _source(name, folder)
            fast = min(_fast_path(source, folder) for _ in range(2))
            curves[name] = {codec: _curve(source, codec, folder) for codec in CRF}
            h264, av1 = curves[name]["libx264"], curves[name]["libsvtav1"]
            delta = bjontegaard.bd_rate(
                [r for r, _ in h264],
                [q for _, q in h264],
                [r for r, _ in av1],
                [q for _, q in av1],
                method="akima",
            )
            rows.append(
                {
                    "clip": name,
                    "fast path s": round(fast, 2),
                    "x real time": round(SECONDS / fast, 1),
                    "AV1 BD-rate vs H.264 %": round(float(delta), 1),
                    "VMAF range": f"{min(q for _, q in h264 + av1):.0f}-{max(q for _, q in h264 + av1):.0f}",
                }
            )
    _plot(curves)
    mean = float(np.mean([row["AV1 BD-rate vs H.264 %"] for row in rows]))
    speeds = [r["x real time"] for r in rows]
    summary = (
        f"Fast path on this machine: {min(speeds)}x to {max(speeds)}x "
        f"real time (goal > 1x). AV1 ladder against H.264 at equal VMAF (Bjontegaard delta rate, negative = "
        f"fewer bits): mean {mean:.1f}% (goal <= -30%). Plots: video_rate_quality.png."
    )
    path = report.write(
        "video",
        summary,
        rows,
        {"size": list(SIZE), "fps": FPS, "seconds": SECONDS, "crf": CRF, "curves": curves},
    )
    print(path.read_text())


def _plot(curves: dict[str, dict[str, list[tuple[float, float]]]]) -> None:
    figure, axes = pyplot.subplots(1, len(curves), figsize=(5 * len(curves), 4), sharey=True)
    for axis, (clip, by_codec) in zip(np.atleast_1d(axes), curves.items(), strict=True):
        for codec, points in by_codec.items():
            axis.plot([r for r, _ in points], [q for _, q in points], marker="o", label=NAMES[codec])
        axis.set(title=clip, xlabel="kb/s", xscale="log")
        axis.grid(True, alpha=0.3)
    np.atleast_1d(axes)[0].set_ylabel("VMAF")
    np.atleast_1d(axes)[0].legend()
    figure.tight_layout()
    figure.savefig(report.RESULTS / "video_rate_quality.png", dpi=110)
