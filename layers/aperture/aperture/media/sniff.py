"""What a file really is, from its first bytes: never from its name or the type a client declared."""

from __future__ import annotations

from enum import StrEnum

SNIFF_BYTES = 64


class Kind(StrEnum):
    IMAGE = "image"
    VIDEO = "video"


# ISO base media (ftyp) brands: HEIF/AVIF images and MP4/MOV videos share the container.
_IMAGE_BRANDS = {
    b"avif": "image/avif",
    b"avis": "image/avif",
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"mif1": "image/heif",
    b"msf1": "image/heif",
    b"heim": "image/heic",
    b"heis": "image/heic",
}
_VIDEO_BRANDS = {
    b"isom": "video/mp4",
    b"iso2": "video/mp4",
    b"mp41": "video/mp4",
    b"mp42": "video/mp4",
    b"avc1": "video/mp4",
    b"dash": "video/mp4",
    b"M4V ": "video/mp4",
    b"qt  ": "video/quicktime",
}


def sniff(head: bytes) -> tuple[Kind, str] | None:
    """(kind, MIME type) of an allowed image or video, or None for anything else."""
    if head.startswith(b"\xff\xd8\xff"):
        return Kind.IMAGE, "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Kind.IMAGE, "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return Kind.IMAGE, "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Kind.IMAGE, "image/webp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _IMAGE_BRANDS:
            return Kind.IMAGE, _IMAGE_BRANDS[brand]
        if brand in _VIDEO_BRANDS:
            return Kind.VIDEO, _VIDEO_BRANDS[brand]
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return Kind.VIDEO, "video/webm"
    return None
