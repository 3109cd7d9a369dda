"""Where an image file can carry text: searched for markup; its compressed image data: never."""

from __future__ import annotations

import io
import struct

import numpy as np
from PIL import Image

from aperture.media.containers import jpeg_layout, text_regions

MARK = b"<svg onload=x>"


def _jpeg(progressive: bool = False) -> bytes:
    pixels = np.random.default_rng(3).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90, progressive=progressive)
    return buffer.getvalue()


def _found(data: bytes) -> bool:
    return any(MARK in region for region in text_regions(data))


def test_a_jpegs_entropy_coded_data_is_not_searched_but_comments_and_what_follows_are() -> None:
    data = _jpeg()
    scan = data.index(b"\xff\xda")
    inside = scan + 200
    assert not _found(data[:inside] + MARK + data[inside + len(MARK) :])
    comment = b"\xff\xfe" + (len(MARK) + 2).to_bytes(2, "big") + MARK
    assert _found(data[:2] + comment + data[2:])
    assert _found(data + MARK)


def test_a_jpegs_layout_counts_its_scans_and_blocks() -> None:
    baseline, progressive = jpeg_layout(_jpeg()), jpeg_layout(_jpeg(progressive=True))
    assert (baseline.scans, baseline.ended) == (1, True)
    assert progressive.scans > 5
    # 320x240 at 4:2:0: 40x30 luma blocks and 20x15 of each chroma
    assert baseline.blocks == progressive.blocks == 40 * 30 + 2 * 20 * 15


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + b"\0\0\0\0"


def test_a_pngs_idat_is_not_searched_but_its_text_chunks_and_what_follows_are() -> None:
    head = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", b"\0" * 13)
    end = _png_chunk(b"IEND", b"")
    assert not _found(head + _png_chunk(b"IDAT", MARK) + end)
    assert _found(head + _png_chunk(b"tEXt", b"Comment\0" + MARK) + _png_chunk(b"IDAT", b"x") + end)
    assert _found(head + _png_chunk(b"IDAT", b"x") + end + MARK)


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def test_an_avifs_mdat_is_not_searched_but_its_other_boxes_and_what_follows_are() -> None:
    ftyp = _box(b"ftyp", b"avif\0\0\0\0avifmif1")
    assert not _found(ftyp + _box(b"meta", b"\0" * 16) + _box(b"mdat", MARK))
    assert _found(ftyp + _box(b"meta", MARK) + _box(b"mdat", b"x"))
    assert _found(ftyp + _box(b"mdat", b"x") + MARK)


def test_a_webps_bitstream_is_not_searched_but_its_metadata_chunks_are() -> None:
    def riff(*chunks: bytes) -> bytes:
        body = b"WEBP" + b"".join(chunks)
        return b"RIFF" + struct.pack("<I", len(body)) + body

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return kind + struct.pack("<I", len(payload)) + payload + b"\0" * (len(payload) % 2)

    assert not _found(riff(chunk(b"VP8 ", MARK)))
    assert _found(riff(chunk(b"VP8 ", b"x"), chunk(b"XMP ", MARK)))
    assert _found(riff(chunk(b"VP8 ", b"x")) + MARK)
