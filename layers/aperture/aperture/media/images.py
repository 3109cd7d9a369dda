"""The image path: decode safely, normalise, render every rendition at its perceptual quality.

Safety first: the format must be on the allow-list, the pixel count is checked from the header
before any pixel is decoded (decompression bombs), so is a JPEG's scan count (scan bombs),
truncated files are refused rather than padded (a JPEG is read once by libjpeg-turbo in strict
mode, where a premature end is an error, not a warning), and files that carry markup or an
archive where an image file can hold text (polyglots: ``containers.text_regions``) are refused.
Outputs are re-encoded from pixels only, so no metadata (EXIF, GPS, XMP, comments) survives;
colours are converted to sRGB, which browsers assume for untagged images.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import pillow_heif
import simplejpeg
from PIL import ExifTags, Image, ImageCms, ImageOps, UnidentifiedImageError
from threadpoolctl import threadpool_limits

from aperture.core.jobs import PermanentError, time_left
from aperture.media import quality
from aperture.media.containers import jpeg_layout, text_regions
from aperture.media.filters import LOOKS, apply_look
from aperture.media.predictor import Features, shipped_model
from aperture.media.thumbhash import thumbhash_of

pillow_heif.register_heif_opener()

MAX_PIXELS = 50_000_000  # 8K x 6K; a 50,000 x 50,000 "bomb" is 2.5 billion
MAX_SCANS = 100  # encoders write about 10 progressive scans; each is a pass over every coefficient
RESERVED_SECONDS = 15.0  # of the invocation's time, kept for storing renditions and the record
ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP", "AVIF", "HEIF", "GIF", "MPO"}
WIDTHS = {"display": 1080, "large": 640, "medium": 320, "small": 150}
FORMATS = {"JPEG": "image/jpeg", "WEBP": "image/webp", "AVIF": "image/avif"}
_MARKUP = re.compile(rb"<(?:script|html|svg|\?php|!doctype|iframe|object|embed)\b", re.IGNORECASE)
_ZIP_END = b"PK\x05\x06"
_SRGB = ImageCms.createProfile("sRGB")
# What Pillow's decoders raise on a broken file: pillow-heif an EOFError at an early end, the AVIF
# plugin a RuntimeError for planes it cannot decode (both found by the media fuzzer).
_DECODER_ERRORS = (OSError, SyntaxError, ValueError, EOFError, RuntimeError)

Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow's own guard, as a second line


class ImageRejected(PermanentError):
    """The upload is not an image we will process; the reason is shown to its owner."""


@dataclass(frozen=True)
class Rendition:
    name: str
    format: str
    width: int
    height: int
    data: bytes
    quality: int
    score: float  # SSIMULACRA2, judged as quality.py says
    target: float  # what JPEG q85 scores on the same pixels
    encodes: int

    @property
    def content_type(self) -> str:
        return FORMATS[self.format]

    @property
    def extension(self) -> str:
        return self.format.lower().replace("jpeg", "jpg")


@dataclass(frozen=True)
class ProcessedImage:
    digest: str
    width: int
    height: int
    has_alpha: bool
    thumbhash: bytes
    renditions: list[Rendition] = field(default_factory=list)
    predicted: bool = True  # whether the quality model guided the searches (False: exact search)


def _refuse_polyglots(data: bytes) -> None:
    for region in text_regions(data):
        if _MARKUP.search(region):
            raise ImageRejected("the file carries HTML or script markup besides the image (a polyglot)")
        if _ZIP_END in region and b"PK\x03\x04" in region:
            raise ImageRejected("the file carries an archive besides the image (a polyglot)")


def _refuse_broken_jpeg(data: bytes, components: int) -> None:
    """Scan bombs and truncated JPEGs, before Pillow decodes (it pads a premature end with grey)."""
    layout = jpeg_layout(data)
    if layout.scans > MAX_SCANS:
        raise ImageRejected(f"the JPEG has {layout.scans} scans, over the limit of {MAX_SCANS}")
    if layout.entropy_bytes * 8 < layout.blocks:  # a first scan codes every block in a bit at least
        raise ImageRejected("the image is truncated or corrupt: the JPEG holds less data than its size needs")
    try:  # at 1/8 scale: every bit of the data is read, a sixty-fourth of the pixels made
        simplejpeg.decode_jpeg(data, colorspace="CMYK" if components == 4 else "GRAY", min_factor=8)
    except ValueError as error:
        raise ImageRejected(f"the image is truncated or corrupt: {error}") from error


def decode(data: bytes, longest_needed: int = max(WIDTHS.values())) -> Image.Image:
    """The image's first frame, fully decoded, or ImageRejected saying why not."""
    if not data:
        raise ImageRejected("the file is empty")
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as error:  # Pillow's guard, at twice our limit
        raise ImageRejected(f"the image is over the limit of {MAX_PIXELS:,} pixels") from error
    except (UnidentifiedImageError, *_DECODER_ERRORS) as error:
        raise ImageRejected("the file is not a decodable image") from error
    if image.format not in ALLOWED_FORMATS:
        raise ImageRejected(f"{image.format} images are not accepted")
    _refuse_polyglots(data)
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageRejected(f"the image is {width}x{height}, over the limit of {MAX_PIXELS:,} pixels")
    if image.format in ("JPEG", "MPO"):
        _refuse_broken_jpeg(data, len(image.getbands()))
        image.draft("RGB", (longest_needed, longest_needed))  # decode at 1/2, 1/4 or 1/8 scale
    try:
        image.seek(0)
        image.load()
    except (*_DECODER_ERRORS, Image.DecompressionBombError) as error:
        raise ImageRejected("the image is truncated or corrupt") from error
    return image


def normalise(image: Image.Image) -> Image.Image:
    """Upright, 8-bit, sRGB, RGB or RGBA, and carrying no metadata at all."""
    icc = image.info.get("icc_profile")
    upright = ImageOps.exif_transpose(image) or image
    if upright.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        upright = upright.point(lambda value: value / 256).convert("L")  # 16-bit to 8-bit
    has_alpha = upright.mode in ("RGBA", "LA", "PA") or (
        upright.mode == "P" and "transparency" in upright.info
    )
    target = "RGBA" if has_alpha else "RGB"
    if icc and upright.mode in ("RGB", "RGBA", "CMYK", "L"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            upright = ImageCms.profileToProfile(upright, source, _SRGB, outputMode=target) or upright
        except (ImageCms.PyCMSError, OSError):
            pass  # an unreadable profile: fall back to treating the pixels as sRGB
    converted = upright.convert(target)
    return Image.frombytes(target, converted.size, converted.tobytes())  # pixels only: no EXIF/GPS/XMP


def _resize(image: Image.Image, width: int) -> Image.Image:
    if image.width <= width:
        return image  # never upscale
    height = max(1, round(image.height * width / image.width))
    return image.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=2.0)


def _shrink_for_display(image: Image.Image) -> Image.Image:
    """Shrink to the display width before normalising, so orientation, colour conversion and the
    metadata strip touch a quarter of the pixels. Only for modes Pillow resamples directly."""
    if image.mode not in ("RGB", "RGBA", "L"):
        return image
    turned = image.getexif().get(ExifTags.Base.Orientation, 1) in (5, 6, 7, 8)
    shown_width = image.height if turned else image.width
    if shown_width <= WIDTHS["display"]:
        return image
    scale = WIDTHS["display"] / shown_width
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)


def sized(data: bytes, look: str | None = None) -> dict[str, Image.Image]:
    """The clean, filtered pixels of every rendition size, before any encoding."""
    if look is not None and look not in LOOKS:
        raise ImageRejected(f"there is no filter {look!r}")
    display = _resize(normalise(_shrink_for_display(decode(data))), WIDTHS["display"])
    if look:
        display = apply_look(display, look)
    return {name: _resize(display, width) for name, width in WIDTHS.items()}


def _within(budget_ends: float, stage: str) -> None:
    """A file that would outlast the invocation fails now, with why, instead of being killed later
    (a Lambda timeout runs no ``except``: the media would stay processing)."""
    if time.monotonic() > budget_ends:
        raise ImageRejected(f"processing would outlast the function's time limit (stopped before {stage})")


def process(
    data: bytes, look: str | None = None, formats: tuple[str, ...] = tuple(FORMATS), exact: bool = False
) -> ProcessedImage:
    """Every rendition of an upload, each at the lowest quality whose SSIMULACRA2 meets what JPEG
    q85 scores on the same pixels (``quality.py``). The quality model guesses each quality from
    features the size's q85 reference gives, one encode verifies it and a miss steps up; with
    ``exact``, or when the shipped model is unreadable, each rendition is searched exactly.
    """
    model = None if exact else shipped_model()
    budget_ends = time.monotonic() + time_left() - RESERVED_SECONDS
    _within(budget_ends, "decoding")
    sizes = sized(data, look)

    def judge(name: str) -> quality.Judge:
        _within(budget_ends, f"the {name} reference")
        return quality.Judge(sizes[name])

    def render(name: str, fmt: str, judge: quality.Judge) -> Rendition:
        _within(budget_ends, f"the {name} {fmt} rendition")
        pixels = sizes[name]
        # A copy per thread: Image.save keeps its options on the image object itself.
        search = quality.QualitySearch((judge.pixels if fmt == "JPEG" else pixels).copy(), fmt, judge)
        guess = model.guess(fmt, Features.of(judge, sizes["small"])) if model else None
        found = search.from_guess(*guess) if guess else search.bisect()
        if fmt == "JPEG" and len(judge.reference_bytes) <= len(found.data):  # q85 itself meets the target
            found = quality.Encoded(judge.reference_bytes, quality.REFERENCE_QUALITY, judge.target)
        return Rendition(
            name,
            fmt,
            pixels.width,
            pixels.height,
            found.data,
            found.quality,
            found.score,
            judge.target,
            len(search.tried),
        )

    # A picture narrower than a size is not upscaled: sizes with the same pixels share one search.
    made_as = {name: next(other for other in WIDTHS if sizes[other] is sizes[name]) for name in WIDTHS}
    # Pillow's codecs and numpy release the GIL, so references and searches run in parallel threads;
    # BLAS is held to one thread each (the metric's many small products: OpenBLAS's own threads
    # would spin against ours, measured 2.6 s against 1.8 s for an 800 x 600 photo).
    with (
        threadpool_limits(limits=1, user_api="blas"),
        ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool,
    ):
        judges = {name: pool.submit(judge, name) for name in dict.fromkeys(made_as.values())}
        rendered = {
            (name, fmt): pool.submit(lambda n, f: render(n, f, judges[n].result()), name, fmt)
            for name in judges
            for fmt in formats
        }
        renditions = [
            replace(rendered[made_as[name], fmt].result(), name=name, encodes=0)
            if made_as[name] != name
            else rendered[name, fmt].result()
            for name in WIDTHS
            for fmt in formats
        ]
    display = sizes["display"]
    digest = hashlib.sha256(data + (look or "").encode()).hexdigest()[:16]
    return ProcessedImage(
        digest,
        display.width,
        display.height,
        display.mode == "RGBA",
        thumbhash_of(display),
        renditions,
        predicted=model is not None,
    )
