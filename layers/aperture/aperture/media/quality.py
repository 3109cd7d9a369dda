"""Perceptual compression: each rendition at the fewest bytes that look at least as good as JPEG q85.

The yardstick is SSIMULACRA2 (``ssimulacra2.py``). A rendition's target is the score that
libjpeg-turbo at quality 85 (4:2:0, optimised, progressive: what most services ship) reaches on the
same pixels, so the promise is concrete: no rendition, in any format, looks worse than q85 would.

Small renditions are judged enlarged. The metric pools six scales, the sixth 1/32 of the picture,
and with fewer (a side under 256 px) the reference takes its weights in order, so they land on the
wrong terms: q85 of the benchmark's natural photos averages 78 at 640 px but 34 at 150 px (59
judged as below), numbers that say little. A rendition whose shorter side is under 256 px is
therefore scored enlarged (bicubic, as a screen enlarges it) by the smallest whole factor that
reaches 256, source and candidate alike, with the longer side kept within 2048 px.

Each format is tuned by measurement on natural photos (``pipenv run bench images``): JPEG spends
more on colour than libjpeg's tables do (the chroma table at quality + 8; SSIMULACRA2 sees chroma
damage that 4:2:0 at equal tables leaves), AVIF at speed 6 with 4:4:4 chroma. WebP is made by
libvips, not Pillow: its libwebp binding offers sharp RGB-to-YUV conversion (``smart_subsample``),
which keeps colour edges that WebP's 4:2:0 otherwise smears, and effort 6: at q85's score an
exact search saves 23.8% of q85's bytes on the benchmark's natural photos, against 12.0% with
Pillow at method 4 (``bench images``, ``exact_search``).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass

import pyvips
from PIL import Image

from aperture.media import ssimulacra2

LOWEST, HIGHEST = 20, 100
JUDGED_SIDE = 256  # the shorter side at which the metric's six scales all exist
JUDGED_LONGEST = 2048  # no enlargement past this: a 1080 x 2 strip is judged as it is
_CHROMA_EXTRA = 8
REFERENCE_QUALITY = 85
# Annex K's tables (what libjpeg scales by quality), in natural order.
_LUMA = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip
_CHROMA = (
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99, *([99] * 32),
)  # fmt: skip


def _scaled(table: tuple[int, ...], quality: int) -> list[int]:
    """libjpeg's quality scaling of a table (jpeg_quality_scaling)."""
    factor = 5000 // quality if quality < 50 else 200 - 2 * quality
    return [min(255, max(1, (value * factor + 50) // 100)) for value in table]


def _jpeg(quality: int) -> dict[str, object]:
    chroma = min(100, quality + _CHROMA_EXTRA)
    tables = [_scaled(_LUMA, quality), _scaled(_CHROMA, chroma)]
    return {"qtables": tables, "subsampling": "4:2:0", "optimize": True, "progressive": True}


_OPTIONS: dict[str, Callable[[int], dict[str, object]]] = {
    "JPEG": _jpeg,
    "AVIF": lambda quality: {"quality": quality, "speed": 6, "subsampling": "4:4:4", "max_threads": 1},
}
WEBP_EFFORT = 6
WEBP_SAVE = {"effort": WEBP_EFFORT, "smart_subsample": True, "keep": "none"}  # libvips' webpsave options


def encode(image: Image.Image, fmt: str, quality: int) -> bytes:
    if fmt == "WEBP":
        return _webp(image, quality)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **_OPTIONS[fmt](quality))
    return buffer.getvalue()


def _webp(image: Image.Image, quality: int) -> bytes:
    """An RGB or RGBA picture as lossy WebP through libvips, with sharp YUV conversion."""
    bands = len(image.getbands())
    pixels = pyvips.Image.new_from_memory(image.tobytes(), image.width, image.height, bands, "uchar")
    data: bytes = pixels.webpsave_buffer(Q=quality, **WEBP_SAVE)
    return data


def reference_jpeg(image: Image.Image) -> bytes:
    """The yardstick: libjpeg-turbo at quality 85, 4:2:0, optimised, progressive."""
    buffer = io.BytesIO()
    image.save(
        buffer, "JPEG", quality=REFERENCE_QUALITY, subsampling="4:2:0", optimize=True, progressive=True
    )
    return buffer.getvalue()


def judged(image: Image.Image) -> Image.Image:
    """The picture as the metric sees it: enlarged when its shorter side is under JUDGED_SIDE, as
    far as JUDGED_LONGEST allows (extreme strips would otherwise become gigapixel pictures)."""
    factor = min(math.ceil(JUDGED_SIDE / max(1, min(image.size))), JUDGED_LONGEST // max(image.size))
    if factor <= 1:
        return image
    return image.resize((image.width * factor, image.height * factor), Image.Resampling.BICUBIC)


def flattened(image: Image.Image) -> Image.Image:
    """Opaque RGB: transparency over white, as a JPEG of it shows and as the score compares."""
    if image.mode != "RGBA":
        return image.convert("RGB")
    background = Image.new("RGB", image.size, (255, 255, 255))
    background.paste(image, mask=image.getchannel("A"))
    return background


class Judge:
    """One rendition size: its pixels as the metric sees them, and the score to meet (q85's)."""

    def __init__(self, pixels: Image.Image) -> None:
        self.pixels = flattened(pixels)
        self._reference = ssimulacra2.Reference(judged(self.pixels))
        self.reference_bytes = reference_jpeg(self.pixels)
        self.target = self.score(self.reference_bytes)

    def score(self, data: bytes) -> float:
        with Image.open(io.BytesIO(data)) as decoded:
            return self._reference.score(judged(flattened(decoded)))


@dataclass(frozen=True)
class Encoded:
    data: bytes
    quality: int
    score: float


class QualitySearch:
    """Encodes of one picture in one format, each scored once, for the lowest quality that meets
    the judge's target (scores rise with quality, so that is the smallest file that does)."""

    def __init__(self, image: Image.Image, fmt: str, judge: Judge) -> None:
        self.image, self.format, self.judge = image, fmt, judge
        self.tried: dict[int, Encoded] = {}

    def at(self, quality: int) -> Encoded:
        if quality not in self.tried:
            data = encode(self.image, self.format, quality)
            self.tried[quality] = Encoded(data, quality, self.judge.score(data))
        return self.tried[quality]

    def passes(self, quality: int) -> bool:
        return self.at(quality).score >= self.judge.target

    def from_guess(self, guess: int, points_per_step: float) -> Encoded:
        """Verify a predicted quality. A miss steps up by what the shortfall and the expected points
        per quality step say, until one passes (usually one more encode). A pass with two or more
        steps to spare tries where those steps lead; if that fails, the two measured scores
        bracket the answer and one probe where the line between them meets the target settles it."""
        quality = min(max(guess, LOWEST), HIGHEST)
        step = max(points_per_step, 0.1)
        if self.passes(quality):
            spare = math.floor((self.at(quality).score - self.judge.target) / step) - 1
            return self._lower(max(LOWEST, quality - spare), quality) if spare >= 2 else self.at(quality)
        while not self.passes(quality) and quality < HIGHEST:
            shortfall = self.judge.target - self.at(quality).score
            quality = min(HIGHEST, quality + max(1, math.ceil(shortfall / step)))
        return self.at(quality)

    def _lower(self, probe: int, passing: int) -> Encoded:
        """The lowest of ``probe`` and one interpolated probe that passes, else ``passing``."""
        if self.passes(probe):
            return self.at(probe)
        low, high = self.at(probe).score, self.at(passing).score
        aim = probe + math.ceil((self.judge.target - low) / (high - low) * (passing - probe))
        return self.at(aim) if probe < aim < passing and self.passes(aim) else self.at(passing)

    def bisect(self) -> Encoded:
        """The exact lowest passing quality, with no prediction: about seven encodes."""
        fail, ok = LOWEST - 1, HIGHEST
        while ok - fail > 1:
            middle = (fail + ok) // 2
            fail, ok = (fail, middle) if self.passes(middle) else (middle, ok)
        return self.at(ok)
