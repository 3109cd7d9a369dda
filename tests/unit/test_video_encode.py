"""The fast path's encode on inputs found by the media fuzzer."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from aperture.media.video import Rung, encode, probe
from tests.clips import clip


def test_a_clip_with_a_silent_audio_track_encodes_with_silent_audio(tmp_path: Path) -> None:
    # Given a clip whose microphone was muted: its audio is digital silence (loudnorm makes it NaN)
    source = tmp_path / "muted.mp4"
    source.write_bytes(clip(96, 64, seconds=1.0, silent=True))
    info = probe(source, "video/mp4")

    # When the fast path encodes it
    target = tmp_path / "fast.mp4"
    encode(
        source,
        "video/mp4",
        probe=info,
        rung=Rung("fast", "libx264", 96, 64, 30),
        target=target,
        container_format="mp4",
    )

    # Then it has its video and an AAC track of silence
    with av.open(str(target)) as done:
        assert [s.codec_context.name for s in done.streams] == ["h264", "aac"]
        samples = np.concatenate([f.to_ndarray().ravel() for f in done.decode(done.streams.audio[0])])
    assert np.isfinite(samples).all()
    assert np.abs(samples).max() < 1e-3


def test_an_av1_webm_is_probed_by_its_codec_not_its_decoder(tmp_path: Path) -> None:
    # Given an AV1 clip in WebM (FFmpeg decodes AV1 with libdav1d)
    source = tmp_path / "clip.webm"
    with av.open(str(source), "w") as out:
        stream: Any = out.add_stream("libsvtav1", rate=12)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        for n in range(12):
            picture = np.full((64, 96, 3), 8 * n, np.uint8)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = n, Fraction(1, 12)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))

    # When it is probed, then it is accepted as AV1
    assert probe(source, "video/webm").video_codec == "av1"
