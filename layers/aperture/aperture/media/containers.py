"""Where markup can hide in an image file, and what a JPEG's headers promise, without decoding.

A browser that sniffs an image as HTML reads its bytes as they are: markup hidden in metadata,
comments, text chunks or after the image's end makes a polyglot. Compressed image data (JPEG's
entropy-coded scans, PNG's IDAT, an ISO-BMFF ``mdat``) is noise in which ``<svg`` followed by a
non-word byte turns up about once per 700 MB, so it is never searched: only the places a file
can carry text are. JPEG's headers also say how many scans a decoder will run (each scan is a
pass over every coefficient: thousands of empty scans are a decode bomb) and how many blocks the
first scan must code (at least one bit each, so a file with less data than that is truncated,
however it ends).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

_SOI, _EOI, _SOS, _COM = 0xD8, 0xD9, 0xDA, 0xFE
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and the restart markers carry no length
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass
class JpegLayout:
    scans: int = 0
    entropy_bytes: int = 0
    blocks: int = 0  # the 8x8 blocks of every component: what a first scan codes at least a bit for
    text: list[bytes] = field(default_factory=list)  # APPn and COM payloads, and bytes after EOI
    ended: bool = False  # an EOI marker was reached


def jpeg_layout(data: bytes) -> JpegLayout:
    """Walks a JPEG's segments; entropy-coded data is skipped, never searched."""
    layout = JpegLayout()
    position = 2 if data[:2] == b"\xff\xd8" else len(data)
    while position + 2 <= len(data):
        if data[position] != 0xFF:
            break  # not a marker where one must be: the decoder will say the file is corrupt
        marker = data[position + 1]
        if marker == 0xFF:  # fill bytes before a marker
            position += 1
            continue
        if marker == _EOI:
            layout.ended = True
            position += 2
            break
        if marker in _STANDALONE:
            position += 2
            continue
        if position + 4 > len(data):
            break
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        payload = data[position + 4 : position + 2 + length]
        if 0xE0 <= marker <= 0xEF or marker == _COM:
            layout.text.append(payload)
        elif marker in _SOF and len(payload) >= 6:
            layout.blocks = _blocks(payload)
        position += 2 + length
        if marker == _SOS:
            layout.scans += 1
            end = _entropy_end(data, position)
            layout.entropy_bytes += end - position
            position = end
    layout.text.append(data[position:])  # whatever follows the image
    return layout


def _blocks(frame: bytes) -> int:
    _, height, width, components = struct.unpack(">BHHB", frame[:6])
    factors = [frame[6 + 3 * i + 1] for i in range(components) if 6 + 3 * i + 1 < len(frame)]
    if not factors:
        return 0
    h_max, v_max = max(f >> 4 for f in factors) or 1, max(f & 0x0F for f in factors) or 1
    return sum(
        math.ceil(width * (f >> 4) / (8 * h_max)) * math.ceil(height * (f & 0x0F) / (8 * v_max))
        for f in factors
    )


def _entropy_end(data: bytes, start: int) -> int:
    """Where a scan's entropy-coded data ends: the first marker that is not stuffing or a restart."""
    position = start
    while True:
        position = data.find(b"\xff", position)
        if position < 0 or position + 1 >= len(data):
            return len(data)
        following = data[position + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            position += 1 if following == 0xFF else 2
            continue
        return position


def text_regions(data: bytes) -> Iterator[bytes]:
    """The parts of an image file where markup could hide, by its container's own structure.

    Formats walked: JPEG (APPn, COM, after EOI), PNG (every chunk but IDAT, after IEND), RIFF/WebP
    (every chunk but the bitstreams, after the RIFF), ISO-BMFF/AVIF/HEIF (every box but mdat, after
    the last box). Anything else is searched whole."""
    if data[:2] == b"\xff\xd8":
        yield from jpeg_layout(data).text
    elif data[:8] == _PNG_SIGNATURE:
        yield from _chunks(data, 8, b"IEND", skip={b"IDAT"}, length_first=True)
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        (size,) = struct.unpack("<I", data[4:8])
        yield from _chunks(data[: 8 + size], 12, None, skip={b"VP8 ", b"VP8L", b"ALPH", b"ANMF"})
        yield data[8 + size :]
    elif data[4:8] == b"ftyp":
        yield from _boxes(data)
    else:
        yield data


def _chunks(
    data: bytes, position: int, last: bytes | None, skip: set[bytes], length_first: bool = False
) -> Iterator[bytes]:
    while position + 8 <= len(data):
        if length_first:  # PNG: length, type, data, CRC
            (length,) = struct.unpack(">I", data[position : position + 4])
            kind, header, trailer = data[position + 4 : position + 8], 8, 4
        else:  # RIFF: type, length, data, padded to even
            kind = data[position : position + 4]
            (length,) = struct.unpack("<I", data[position + 4 : position + 8])
            header, trailer = 8, length % 2
        if kind not in skip:
            yield kind + data[position + header : position + header + length]
        position += header + length + trailer
        if kind == last:
            break
    yield data[position:]


def _boxes(data: bytes) -> Iterator[bytes]:
    position = 0
    while position + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[position : position + 8])
        header = 8
        if size == 1 and position + 16 <= len(data):
            (size,) = struct.unpack(">Q", data[position + 8 : position + 16])
            header = 16
        elif size == 0:
            size = len(data) - position
        if size < header:
            break  # a malformed box: search the rest whole
        if kind != b"mdat":
            yield data[position : position + size]
        position += size
    yield data[position:]
