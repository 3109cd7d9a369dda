"""The background ladder: AV1 renditions plus an H.264 fallback ladder, packaged as HLS (fMP4/CMAF).

Rungs follow the source: the long side of each is one of 1920/1280/854/640 pixels and the short
side keeps the source's aspect (portrait stays portrait). A low-resolution source (long side under
1280) also gets the rungs up to twice its size, made from super-resolved frames (``superres``):
plain upscaling is never sent. Larger sources stop at their own size. The master
playlist lists every variant with CODECS and RESOLUTION, AV1 first, so a player that decodes AV1
takes it and one that does not takes H.264.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aperture.media.superres import SCALE, SrModel
from aperture.media.video import Probe, Rung, bitrate, encode, fit

LONG_SIDES = (1920, 1280, 854, 640)
LOW_RESOLUTION = 1280  # sources whose long side is under this are enhanced up to SCALE times
AV1_CRF = {1920: 34, 1280: 36, 854: 38, 640: 40}
H264_CRF = {1920: 23, 1280: 24, 854: 25, 640: 26}
SEGMENT_SECONDS = 4
AUDIO_CODEC = "mp4a.40.2"


@dataclass(frozen=True)
class Variant:
    rung: Rung
    playlist: str  # file name of its media playlist
    bits_per_second: int
    codecs: str


def rungs(probe: Probe, codec: str) -> list[Rung]:
    crf = AV1_CRF if codec == "libsvtav1" else H264_CRF
    source_side = max(probe.width, probe.height)
    low = source_side < LOW_RESOLUTION
    chosen: dict[tuple[int, int], Rung] = {}
    for side in (*LONG_SIDES, *([source_side] if low else [])):  # a low source keeps its own size too
        width, height = fit(probe, side, SCALE if low else 1)
        if (width, height) not in chosen:
            prefix = "av1" if codec == "libsvtav1" else "h264"
            quality = crf[min(LONG_SIDES, key=lambda listed: abs(listed - side))]
            enhanced = max(width, height) > source_side
            name = f"{prefix}_{max(width, height)}"
            chosen[(width, height)] = Rung(name, codec, width, height, quality, enhanced)
    return sorted(chosen.values(), key=lambda rung: -rung.width * rung.height)


def codecs_of(rung: Rung, has_audio: bool) -> str:
    short = min(rung.width, rung.height)
    if rung.codec == "libsvtav1":
        level = 8 if short >= 1080 else 5 if short >= 720 else 4  # seq_level_idx: 4.0, 3.1, 3.0
        video = f"av01.0.{level:02d}M.08"
    else:
        video = "avc1.6400" + ("28" if short >= 1080 else "1f" if short >= 720 else "1e")
    return f"{video},{AUDIO_CODEC}" if has_audio else video


def package(
    source: Path, mime: str, probe: Probe, rung: Rung, folder: Path, *, upscaler: SrModel | None = None
) -> Variant:
    """Encode one rung as an HLS media playlist with fMP4 segments in ``folder``."""
    playlist = folder / f"{rung.name}.m3u8"
    encode(
        source,
        mime,
        probe=probe,
        rung=rung,
        target=playlist,
        container_format="hls",
        upscaler=upscaler,
        hls_time=str(SEGMENT_SECONDS),
        hls_playlist_type="vod",
        hls_segment_type="fmp4",
        hls_fmp4_init_filename=f"{rung.name}_init.mp4",
        hls_segment_filename=str(folder / f"{rung.name}_%03d.m4s"),
    )
    size = sum(p.stat().st_size for p in folder.glob(f"{rung.name}_*"))
    return Variant(
        rung, playlist.name, bitrate(size, probe.seconds), codecs_of(rung, probe.audio_codec is not None)
    )


def master_playlist(variants: list[Variant], fps: float) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for variant in variants:
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={int(variant.bits_per_second * 1.25)},"
            f"AVERAGE-BANDWIDTH={variant.bits_per_second},"
            f'CODECS="{variant.codecs}",RESOLUTION={variant.rung.width}x{variant.rung.height},'
            f"FRAME-RATE={fps:.3f}"
        )
        lines.append(variant.playlist)
    return "\n".join(lines) + "\n"
