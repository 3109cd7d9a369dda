"""Trains the quality model (``aperture/media/predictor.py``) and writes ``quality_model.json``.

Corpus: the bundled natural pictures that the image benchmark does not use
(``benchmarks.natural.TRAINING``), and the six generated camera photos at seed 1 (the benchmark uses
seed 0), whole and as a centre crop of a third of their width (a closer framing: more detail per
rendition pixel), each rendered at the four rendition sizes. Each (picture, size, format) is labelled with
the exact lowest quality that meets the size's target (a bisection, about seven encodes), so the
model learns the answer the exact search would give.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

from aperture.media import predictor, quality
from aperture.media.images import FORMATS, sized
from benchmarks.natural import TRAINING, natural
from benchmarks.photos import KINDS, photo

GENERATED_SEED = 1


def _centre_crop(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
        box = (width // 3, height // 3, 2 * width // 3, 2 * height // 3)
        buffer = io.BytesIO()
        image.crop(box).save(buffer, "JPEG", quality=92)
        return buffer.getvalue()


def corpus() -> Iterator[tuple[str, bytes]]:
    for name in TRAINING:
        yield name, natural(name)
    for kind in KINDS:
        whole = photo(kind, GENERATED_SEED)
        yield f"{kind} (seed {GENERATED_SEED})", whole
        yield f"{kind} (seed {GENERATED_SEED}, centre crop)", _centre_crop(whole)


def _slope(search: quality.QualitySearch, answer: int) -> float:
    """Score points per quality step near the answer: a line through the probes within 12 steps."""
    near = [(q, e.score) for q, e in search.tried.items() if abs(q - answer) <= 12]
    if len(near) < 2:
        return 1.0
    qualities, scores = zip(*near, strict=True)
    return max(0.1, float(np.polyfit(qualities, scores, 1)[0]))


def label(data: bytes) -> list[predictor.Sample]:
    """The exact answers for one picture, every size and format."""
    samples, sizes = [], sized(data)
    small = sizes["small"]
    for pixels in sizes.values():
        judge = quality.Judge(pixels)
        features = predictor.Features.of(judge, small)

        def exact(
            fmt: str,
            judge: quality.Judge = judge,
            pixels: Image.Image = pixels,
            features: predictor.Features = features,
        ) -> predictor.Sample:
            search = quality.QualitySearch((judge.pixels if fmt == "JPEG" else pixels).copy(), fmt, judge)
            found = search.bisect()
            return predictor.Sample(features, fmt, found.quality, _slope(search, found.quality))

        with ThreadPoolExecutor() as pool:
            samples += list(pool.map(exact, FORMATS))
    return samples


def run() -> None:
    started, samples, digest = time.monotonic(), [], hashlib.sha256()
    for number, (name, data) in enumerate(corpus(), 1):
        digest.update(data)
        samples += label(data)
        print(
            f"  {number}/{len(TRAINING) + 2 * len(KINDS)} {name}: {len(samples)} samples, "
            f"{time.monotonic() - started:.0f} s",
            flush=True,
        )
    model = predictor.fit(samples, version=f"corpus-{digest.hexdigest()[:12]}")
    for fmt, spec in model.formats.items():
        mine = [s for s in samples if s.fmt == fmt]
        first = sum(spec.predict(s.features) >= s.quality for s in mine) / len(mine)
        print(
            f"  {fmt}: weights {spec.weights}, offset {spec.offset}, {spec.points_per_step} points/step, "
            f"first guess at or above the answer for {first:.0%} of the corpus"
        )
    model.save()
    print(f"wrote {predictor.MODEL_PATH} ({len(samples)} samples, {time.monotonic() - started:.0f} s)")
