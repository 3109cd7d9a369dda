"""Video with PyAV (FFmpeg in-process): safe probing, the fast H.264 rendition, and the poster.

Safety: the demuxer is chosen from the sniffed type (never probed), so an HLS playlist, a concat
list or an image2 pattern can never be opened as a "video"; the only protocol allowed is ``file``
and MOV data references are off, so nothing outside the job's own file is ever read.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.error
import numpy as np

from aperture.core.jobs import PermanentError
from aperture.media.superres import SrModel, upscale_frame

DEMUXERS = {"video/mp4": "mov", "video/quicktime": "mov", "video/webm": "matroska"}
VIDEO_CODECS = {"h264", "hevc", "vp8", "vp9", "av1", "mpeg4"}
AUDIO_CODECS = {"aac", "mp3", "opus", "vorbis", "ac3", "eac3", "alac", "flac", "pcm_s16le", "pcm_s24le"}
SAFE_OPTIONS = {"protocol_whitelist": "file", "enable_drefs": "0", "use_absolute_path": "0"}
MAX_SECONDS, MAX_SIDE, MAX_FPS = 600.0, 4096, 120.0
LOUDNESS = "loudnorm=I=-23:TP=-1:LRA=7"  # EBU R128's programme loudness, -23 LUFS
AUDIO_RATE = 48_000
os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 prints its whole configuration per encode otherwise


class VideoRejected(PermanentError):
    """The upload is not a video we accept; the reason is shown to its owner."""


@dataclass(frozen=True)
class Probe:
    width: int  # as displayed, after rotation
    height: int
    rotation: int  # degrees counter-clockwise the stored frames must turn to display upright
    seconds: float
    fps: float
    video_codec: str
    audio_codec: str | None


def open_input(path: Path, mime: str) -> Any:
    if mime not in DEMUXERS:
        raise VideoRejected("the file is not a video we accept")
    try:
        return av.open(str(path), format=DEMUXERS[mime], options=SAFE_OPTIONS)
    except (av.error.FFmpegError, ValueError) as error:
        raise VideoRejected("the video is truncated or corrupt") from error


def probe(path: Path, mime: str) -> Probe:
    with open_input(path, mime) as container:
        if not container.streams.video:
            raise VideoRejected("the file has no video track")
        stream = container.streams.video[0]
        codec = _codec(stream)
        if codec not in VIDEO_CODECS:
            raise VideoRejected(f"the video codec {codec} is not one we accept")
        sound = container.streams.audio[0] if container.streams.audio else None
        audio = _codec(sound) if sound is not None else None
        if audio is not None and audio not in AUDIO_CODECS:
            raise VideoRejected(f"the audio codec {audio} is not one we accept")
        if sound is not None and not sound.codec_context.channels:
            raise VideoRejected("the audio track is truncated or corrupt")
        seconds = float(container.duration or 0) / av.time_base
        fps = float(stream.average_rate or 0)
        try:
            first = next(container.decode(stream))
        except (StopIteration, av.error.FFmpegError) as error:
            raise VideoRejected("the video is truncated or corrupt") from error
        rotation = round(first.rotation or 0) % 360
    width, height = (first.height, first.width) if rotation in (90, 270) else (first.width, first.height)
    if not 0 < seconds <= MAX_SECONDS:
        raise VideoRejected(f"the video must last between 0 and {MAX_SECONDS:.0f} seconds")
    if max(width, height) > MAX_SIDE or min(width, height) < 16:
        raise VideoRejected(f"the video must be between 16 and {MAX_SIDE} pixels on each side")
    if not 0 < fps <= MAX_FPS:
        raise VideoRejected(f"the frame rate must be at most {MAX_FPS:.0f} per second")
    return Probe(width, height, rotation, seconds, fps, codec, audio)


def _codec(stream: Any) -> str:
    """The stream's codec by its own name ("av1", "mp3"), not its decoder's ("libdav1d",
    "mp3float": which refused every AV1 upload, found by the media fuzzer). A stream whose codec
    FFmpeg cannot even name has no decoder to run."""
    if stream.codec_context is None:
        raise VideoRejected("the video is truncated or corrupt")
    return str(stream.codec_context.codec.canonical_name)


def fit(probe: Probe, longest: int, most: float = 1.0) -> tuple[int, int]:
    """The size within ``longest`` on the long side, at most ``most`` times the source's, even dimensions."""
    scale = min(most, longest / max(probe.width, probe.height))
    return max(2, int(probe.width * scale) // 2 * 2), max(2, int(probe.height * scale) // 2 * 2)


def _upright(rotation: int) -> str:
    return {90: "transpose=cclock,", 180: "hflip,vflip,", 270: "transpose=clock,"}.get(rotation, "")


@dataclass(frozen=True)
class Rung:
    """One rendition of a ladder: codec, size and the encoder's constant-quality setting."""

    name: str
    codec: str  # "libx264" or "libsvtav1"
    width: int
    height: int
    crf: int
    enhanced: bool = False  # larger than the source: made from super-resolved frames


def encode(
    source: Path,
    mime: str,
    *,
    probe: Probe,
    rung: Rung,
    target: Path,
    container_format: str,
    upscaler: SrModel | None = None,
    **muxer: str,
) -> None:
    """Decode ``source`` and encode it as ``rung`` (audio loudness-normalised) into ``target``. An
    ``enhanced`` rung is scaled from frames at twice the source's size: ``upscaler``'s, or Lanczos'."""
    with (
        open_input(source, mime) as inp,
        av.open(str(target), "w", format=container_format, options=muxer) as out,
    ):
        video_in = inp.streams.video[0]
        audio_in = inp.streams.audio[0] if inp.streams.audio else None
        rate = Fraction(video_in.average_rate or 30).limit_denominator(1001)
        video: Any = out.add_stream(rung.codec, rate=rate)
        video.width, video.height, video.pix_fmt = rung.width, rung.height, "yuv420p"
        video.options = _encoder_options(rung)
        audio: Any = None
        if audio_in is not None:
            audio = out.add_stream("aac", rate=AUDIO_RATE)
            audio.layout = "stereo"
            audio.bit_rate = 128_000
        video_graph = _video_graph(video_in, probe, rung)
        enhance = _enhancer(video_in, upscaler) if rung.enhanced else None
        audio_graph = _audio_graph(audio_in) if audio_in is not None else None
        streams = [video_in, *([audio_in] if audio_in is not None else [])]
        # A broken input fails anywhere from the first packet to the last flush (timestamps that
        # go backwards fail the muxer at the end: found by the media fuzzer).
        try:
            for packet in inp.demux(*streams):
                for frame in packet.decode():
                    if packet.stream.type == "video":
                        _push(video_graph, enhance(frame) if enhance else frame, video, out)
                    elif audio_graph is not None and audio is not None:
                        _push(audio_graph, frame, audio, out)
            _push(video_graph, None, video, out)
            if audio_graph is not None and audio is not None:
                _push(audio_graph, None, audio, out)
            for stream in (video, audio):
                if stream is not None:
                    out.mux(stream.encode(None))
        except av.error.FFmpegError as error:
            raise VideoRejected("the video is truncated or corrupt") from error


def _encoder_options(rung: Rung) -> dict[str, str]:
    if rung.codec == "libsvtav1":
        return {"crf": str(rung.crf), "preset": "10", "g": "120"}
    return {"crf": str(rung.crf), "preset": "veryfast", "profile": "high", "g": "120", "sc_threshold": "0"}


def _enhancer(stream: Any, upscaler: SrModel | None) -> Callable[[Any], Any]:
    """Frames at twice the (even-cropped) stored size, as yuv420p, with their timestamps."""
    width, height = _even_size(stream)

    def enhance(frame: Any) -> Any:
        planes = frame.reformat(width=width, height=height, format="yuv420p").to_ndarray()
        bigger = av.VideoFrame.from_ndarray(upscale_frame(upscaler, planes), format="yuv420p")
        bigger.pts, bigger.time_base = frame.pts, frame.time_base
        return bigger

    return enhance


def _even_size(stream: Any) -> tuple[int, int]:
    """The stored frame size cropped to even sides, which yuv420p needs."""
    context = stream.codec_context
    return max(2, context.width // 2 * 2), max(2, context.height // 2 * 2)


def _video_graph(stream: Any, probe: Probe, rung: Rung) -> Any:
    graph = av.filter.Graph()
    chain = f"{_upright(probe.rotation)}scale={rung.width}:{rung.height},format=yuv420p"
    if rung.enhanced:
        width, height = _even_size(stream)
        source = graph.add_buffer(
            width=2 * width,
            height=2 * height,
            format=av.VideoFormat("yuv420p"),
            time_base=stream.time_base,
        )
    else:
        source = graph.add_buffer(template=stream)
    filters = [
        graph.add(*step.split("=", 1)) if "=" in step else graph.add(step) for step in chain.split(",")
    ]
    sink = graph.add("buffersink")
    graph.link_nodes(source, *filters, sink).configure()
    return graph


def _audio_graph(stream: Any) -> Any:
    graph = av.filter.Graph()
    source = graph.add_abuffer(template=stream)
    loudness = graph.add("loudnorm", LOUDNESS.split("=", 1)[1])
    resample = graph.add("aresample", str(AUDIO_RATE))
    shape = graph.add("aformat", "sample_fmts=fltp:channel_layouts=stereo")
    sink = graph.add("abuffersink")
    graph.link_nodes(source, loudness, resample, shape, sink).configure()
    graph.set_audio_frame_size(1024)  # AAC's frame
    return graph


def _push(graph: Any, frame: Any, stream: Any, out: Any) -> None:
    graph.push(frame)
    while True:
        try:
            filtered = graph.pull()
        except (av.error.BlockingIOError, av.error.EOFError):
            return
        out.mux(stream.encode(_finite(filtered) if stream.type == "audio" else filtered))


def _finite(frame: Any) -> Any:
    """Silence for samples that are not numbers: loudnorm turns a silent track (a muted microphone)
    into NaN, which the AAC encoder refuses, failing the whole upload (found by the media fuzzer)."""
    samples = frame.to_ndarray()
    if np.isfinite(samples).all():
        return frame
    clean = av.AudioFrame.from_ndarray(
        np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0),
        format=frame.format.name,
        layout=frame.layout.name,
    )
    clean.sample_rate, clean.pts, clean.time_base = frame.sample_rate, frame.pts, frame.time_base
    return clean


def poster(source: Path, mime: str, probe: Probe, longest: int = 1080) -> np.ndarray:
    """An upright RGB frame from about a tenth of the way in (past fades from black)."""
    width, height = fit(probe, longest)
    with open_input(source, mime) as inp:
        stream = inp.streams.video[0]
        wanted = probe.seconds * 0.1
        chosen = None
        for frame in inp.decode(stream):
            chosen = frame
            if frame.time is not None and frame.time >= wanted:
                break
        if chosen is None:
            raise VideoRejected("the video has no frames")
        picture = chosen.to_ndarray(format="rgb24")
    turns = {90: 1, 180: 2, 270: 3}.get(probe.rotation, 0)
    upright = np.ascontiguousarray(np.rot90(picture, k=turns))
    frame = av.VideoFrame.from_ndarray(upright, format="rgb24").reformat(width=width, height=height)
    return np.asarray(frame.to_ndarray(format="rgb24"))


def bitrate(size: int, seconds: float) -> int:
    return math.ceil(size * 8 / max(seconds, 0.001))
