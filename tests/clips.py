"""Video clips made for the tests: moving pictures (and a tone), encoded for real with PyAV."""

from __future__ import annotations

import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import imageio_ffmpeg
import numpy as np


def clip(
    width: int = 320,
    height: int = 240,
    seconds: float = 2.0,
    fps: int = 30,
    *,
    audio: bool = True,
    video: bool = True,
    rotation: int = 0,
    container: str = "mp4",
    silent: bool = False,
) -> bytes:
    """An H.264 (+ AAC) clip of a moving gradient; ``rotation`` is stored as display-matrix metadata."""
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / f"clip.{container}"
        with av.open(str(path), "w") as out:
            stream = out.add_stream("libx264", rate=fps) if video else None
            sound = out.add_stream("aac", rate=48_000, layout="stereo") if audio else None
            if stream is not None:
                stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
                y, x = np.mgrid[0:height, 0:width]
                for n in range(int(seconds * fps)):
                    picture = np.stack([(x + 5 * n) % 256, (y + 3 * n) % 256, (x + y + 7 * n) // 2 % 256], -1)
                    frame = av.VideoFrame.from_ndarray(picture.astype(np.uint8), format="rgb24")
                    frame.pts, frame.time_base = n, Fraction(1, fps)
                    out.mux(stream.encode(frame))
                out.mux(stream.encode(None))
            if sound is not None:
                t = np.arange(int(seconds * 48_000)) / 48_000
                level = 0.0 if silent else 0.05  # quiet: loudness must lift it; or digital silence
                tone = (level * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
                for start in range(0, len(tone), 1024):
                    chunk = np.stack([tone[start : start + 1024]] * 2)
                    sample = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
                    sample.sample_rate, sample.pts = 48_000, start  # in samples: the encoder's own time base
                    out.mux(sound.encode(sample))
                out.mux(sound.encode(None))
        if rotation:
            rotated = Path(work) / f"rotated.{container}"
            subprocess.run(
                [
                    imageio_ffmpeg.get_ffmpeg_exe(),
                    "-v",
                    "error",
                    "-display_rotation",
                    str(rotation),
                    "-i",
                    str(path),
                    "-c",
                    "copy",
                    str(rotated),
                ],
                check=True,
            )
            path = rotated
        return path.read_bytes()


def decoded_frames(path: Path, **options: str) -> tuple[int, tuple[int, int], list[str]]:
    """Decode every packet of a file end to end: (video frames, first frame's size, stream codecs)."""
    frames, size = 0, (0, 0)
    with av.open(str(path), options=options) as container:
        codecs = [stream.codec_context.name for stream in container.streams]
        for frame in container.decode(*container.streams):
            if isinstance(frame, av.VideoFrame):
                frames += 1
                size = size if frames > 1 else (frame.width, frame.height)
    return frames, size, codecs
