"""Super-resolution against bicubic and Lanczos on held-out natural footage: PSNR, VMAF, speed, ladder bits.

Held out (``tools/train/sr.py``): the image benchmark's seven photos, twelve frames of bikes (camera
footage) and six of Big Buck Bunny's second half. Each is halved (bicubic, antialiased) and, for
the encoded set, put through the low tier's H.264 encoder; then doubled by the model (the clean
bank for clean inputs, the compressed bank for encoded ones), bicubic and Lanczos, and scored
against the original: PSNR on luma per item; VMAF (libvmaf in the imageio-ffmpeg binary) on 60
consecutive frames of each clip, chroma doubled by Lanczos for every method. Speed: a 640 x 360
frame doubled to 1280 x 720 (luma by the model on two threads, chroma by Lanczos), the median of 30.
The ladder: each clip's first seconds, halved and encoded at CRF 18 as a low-resolution upload, get
the rung at twice their size from the ladder's own encoder, once scaled plainly (FFmpeg's bicubic)
and once from super-resolved frames, at six CRFs; the Bjontegaard delta rate compares the curves
at equal VMAF against the original footage (negative: the super-resolved rung needs fewer bits).
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import bjontegaard
import numpy as np
from numpy.typing import NDArray

from aperture.media import superres
from aperture.media.superres import join_planes, lanczos, split_planes
from aperture.media.video import Probe, Rung, encode, probe
from benchmarks import report
from benchmarks.natural import natural_clip
from benchmarks.video import vmaf
from tools.train.sr import bicubic, h264_round_trip, halve, held_out_pairs, psnr

Planes = NDArray[np.uint8]
VMAF_FRAMES = 60
LADDER_CRFS = (16, 20, 24, 28, 32, 36)  # wide enough that the two curves share most of their VMAF range
UPLOAD_CRF = 18
CLIPS = {"bikes": slice(0, VMAF_FRAMES), "bigbuckbunny": slice(66, 66 + VMAF_FRAMES)}


def _frames(name: str, part: slice) -> list[Planes]:
    with av.open(str(natural_clip(name))) as container:
        return [f.to_ndarray(format="yuv420p") for f in container.decode(video=0)][part]


def _halve_planes(planes: Planes) -> Planes:
    luma, chroma = split_planes(planes)
    return join_planes(halve(luma), [halve(plane) for plane in chroma])


def _held_out_clips(folder: Path) -> dict[str, tuple[Path, list[Planes]]]:
    """Each clip's run as a y4m reference beside its frames, halved, decoded and written once."""
    clips = {}
    for name, part in CLIPS.items():
        originals = _frames(name, part)
        reference = folder / f"{name}.y4m"
        _write_y4m(reference, originals)
        clips[name] = reference, [_halve_planes(f) for f in originals]
    return clips


def _write_y4m(path: Path, frames: list[Planes], fps: int = 25) -> None:
    height, width = frames[0].shape[0] * 2 // 3, frames[0].shape[1]
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            out.write(b"FRAME\n" + np.ascontiguousarray(frame).tobytes())


def _psnr_rows(model: superres.SrModel) -> list[dict[str, Any]]:
    rows = []
    for pair in held_out_pairs():
        bank = "compressed" if pair.encoded else "clean"
        scores = {
            "bicubic": psnr(bicubic(pair.low), pair.original),
            "lanczos": psnr(lanczos(pair.low), pair.original),
            "model": psnr(model.upscale_luma(pair.low, bank), pair.original),
        }
        rows.append(
            {
                "item": pair.name,
                "input": "encoded" if pair.encoded else "clean",
                "bicubic dB": round(scores["bicubic"], 2),
                "lanczos dB": round(scores["lanczos"], 2),
                "model dB": round(scores["model"], 2),
                "gain dB": round(scores["model"] - scores["bicubic"], 2),
            }
        )
        print(f"    {pair.name} ({rows[-1]['input']}): {rows[-1]['gain dB']:+.2f} dB", flush=True)
    return rows


def _vmaf_rows(
    model: superres.SrModel, clips: dict[str, tuple[Path, list[Planes]]], folder: Path
) -> list[dict[str, Any]]:
    rows = []
    for name, (reference, halves) in clips.items():
        for encoded in (False, True):
            lows = [split_planes(f) for f in halves]
            if encoded:
                lows = [(h264_round_trip(luma), chroma) for luma, chroma in lows]
            bank = "compressed" if encoded else "clean"
            methods: dict[str, Callable[[Planes], Planes]] = {
                "bicubic": bicubic,
                "lanczos": lanczos,
                "model": lambda luma, bank=bank: model.upscale_luma(luma, bank),
            }
            scores = {}
            for method, upscale in methods.items():
                doubled = [join_planes(upscale(luma), [lanczos(c) for c in chroma]) for luma, chroma in lows]
                path = folder / f"{name}_{method}.y4m"
                _write_y4m(path, doubled)
                scores[method] = vmaf(path, reference)
            rows.append(
                {
                    "clip": name,
                    "input": "encoded" if encoded else "clean",
                    **{f"{m} VMAF": round(v, 2) for m, v in scores.items()},
                    "gain": round(scores["model"] - scores["bicubic"], 2),
                }
            )
            print(f"    {name} ({rows[-1]['input']}): VMAF {scores}", flush=True)
    return rows


def _speed(model: superres.SrModel) -> dict[str, float]:
    frame = _halve_planes(_frames("bigbuckbunny", slice(100, 101))[0])  # 640 x 360
    luma = split_planes(frame)[0]

    def median_ms(work: Callable[[], Any], runs: int = 30) -> float:
        work()
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            work()
            times.append((time.perf_counter() - started) * 1000)
        return round(statistics.median(times), 1)

    return {
        "ms_per_720p_frame": median_ms(lambda: superres.upscale_frame(model, frame)),
        "ms_per_720p_luma_model": median_ms(lambda: model.upscale_luma(luma)),
        "ms_per_720p_frame_lanczos": median_ms(lambda: superres.upscale_frame(None, frame)),
        "ms_per_720p_luma_bicubic": median_ms(lambda: bicubic(luma)),
    }


def _upload(frames: list[Planes], path: Path, fps: int = 25) -> None:
    """Low-resolution frames as a phone would upload them: H.264 at CRF 18."""
    height, width = frames[0].shape[0] * 2 // 3, frames[0].shape[1]
    with av.open(str(path), "w") as out:
        stream: Any = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": str(UPLOAD_CRF), "preset": "medium"}
        for n, planes in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
            frame.pts, frame.time_base = n, Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def _ladder_rows(
    model: superres.SrModel, clips: dict[str, tuple[Path, list[Planes]]], folder: Path
) -> list[dict[str, Any]]:
    rows = []
    for name, (reference, halves) in clips.items():
        upload = folder / f"{name}_upload.mp4"
        _upload(halves, upload)
        info: Probe = probe(upload, "video/mp4")
        height, width = 2 * info.height, 2 * info.width
        curves: dict[str, list[tuple[float, float]]] = {"plain": [], "enhanced": []}
        for crf in LADDER_CRFS:
            for kind, points in curves.items():
                target = folder / f"{name}_{kind}_{crf}.mp4"
                rung = Rung(kind, "libx264", width, height, crf, enhanced=kind == "enhanced")
                encode(
                    upload,
                    "video/mp4",
                    probe=info,
                    rung=rung,
                    target=target,
                    container_format="mp4",
                    upscaler=model,
                )
                kbps = target.stat().st_size * 8 / info.seconds / 1000
                points.append((kbps, vmaf(target, reference)))
        delta = bjontegaard.bd_rate(
            [r for r, _ in curves["plain"]],
            [q for _, q in curves["plain"]],
            [r for r, _ in curves["enhanced"]],
            [q for _, q in curves["enhanced"]],
            method="akima",
        )
        rows.append(
            {
                "clip": name,
                "rung": f"{width}x{height} from {info.width}x{info.height}",
                "plain (kb/s, VMAF)": [(round(r), round(q, 1)) for r, q in curves["plain"]],
                "enhanced (kb/s, VMAF)": [(round(r), round(q, 1)) for r, q in curves["enhanced"]],
                "BD-rate %": round(float(delta), 1),
            }
        )
        print(f"    ladder {name}: BD-rate {rows[-1]['BD-rate %']}%", flush=True)
    return rows


def run() -> None:
    model = superres.shipped_model()
    print(f"  model {model.version}: PSNR on held-out items", flush=True)
    items = _psnr_rows(model)
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        print("  VMAF on held-out clips", flush=True)
        clips = _held_out_clips(folder)
        vmaf = _vmaf_rows(model, clips, folder)
        print("  the ladder's rung at twice a low-resolution upload", flush=True)
        ladder = _ladder_rows(model, clips, folder)
    speed = _speed(model)
    clean = [r["gain dB"] for r in items if r["input"] == "clean"]
    encoded = [r["gain dB"] for r in items if r["input"] == "encoded"]
    headline = {
        "model_version": model.version,
        "psnr_gain_db_vs_bicubic": round(float(np.mean(clean)), 2),
        "psnr_gain_db_vs_bicubic_encoded": round(float(np.mean(encoded)), 2),
        "psnr_gain_db_vs_lanczos": round(float(np.mean([r["model dB"] - r["lanczos dB"] for r in items])), 2),
        "worst_item_gain_db": min(clean + encoded),
        "vmaf_gain_vs_bicubic": round(float(np.mean([r["gain"] for r in vmaf if r["input"] == "clean"])), 2),
        "vmaf_gain_vs_bicubic_encoded": round(
            float(np.mean([r["gain"] for r in vmaf if r["input"] == "encoded"])), 2
        ),
        **speed,
        "ladder_bd_rate_pct": round(float(np.mean([r["BD-rate %"] for r in ladder])), 1),
        "held_out_items": len(items),
        "vmaf": vmaf,
        "ladder": ladder,
    }
    summary = (
        f"Model {model.version} on {len(clean)} held-out photos and frames, halved: "
        f"{headline['psnr_gain_db_vs_bicubic']:+.2f} dB PSNR over bicubic clean (goal +0.7), "
        f"{headline['psnr_gain_db_vs_bicubic_encoded']:+.2f} dB through the low tier's encoder (goal +0.4), "
        f"worst item {headline['worst_item_gain_db']:+.2f} dB (goal >= 0); VMAF "
        f"{headline['vmaf_gain_vs_bicubic']:+.2f} clean, {headline['vmaf_gain_vs_bicubic_encoded']:+.2f} "
        f"encoded (goal +3); {speed['ms_per_720p_frame']} ms per 720p output frame on two threads (goal 40; "
        f"Lanczos {speed['ms_per_720p_frame_lanczos']} ms); the ladder's super-resolved rung at "
        f"{headline['ladder_bd_rate_pct']:+.1f}% bits at equal VMAF against plain upscaling (goal < 0)."
    )
    path = report.write(
        "sr",
        summary,
        items,
        {"vmaf_frames": VMAF_FRAMES, "ladder_crfs": LADDER_CRFS, "upload_crf": UPLOAD_CRF},
        headline=headline,
    )
    print(path.read_text())
    print(json.dumps({k: v for k, v in headline.items() if k not in ("vmaf", "ladder")}, indent=2))
