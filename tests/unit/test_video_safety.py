"""Nothing outside the job's own file is ever opened while probing or decoding a video."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from aperture.media.video import VideoRejected, probe


def _probe_in_time(path: Path, mime: str, seconds: float = 10.0) -> BaseException | None:
    """Probe on a thread: a reader that opened the canary FIFO would block there forever."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            probe(path, mime)
            outcome.append(None)
        except Exception as error:  # the test inspects what it was
            outcome.append(error)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert outcome, "probing blocked: it opened a file the upload pointed at"
    return outcome[0]


@pytest.mark.parametrize(
    "playlist",
    [
        "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\n{canary}\n#EXT-X-ENDLIST\n",
        "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nfile://{canary}\n#EXT-X-ENDLIST\n",
        "ffconcat version 1.0\nfile '{canary}'\n",
    ],
    ids=["hls path", "hls file url", "concat list"],
)
def test_a_playlist_posing_as_a_video_is_refused_without_opening_what_it_names(
    tmp_path: Path, playlist: str
) -> None:
    # Given a FIFO no one writes to (opening it for reading would block) and a playlist naming it
    canary = tmp_path / "canary.ts"  # a segment name FFmpeg's HLS reader would open
    os.mkfifo(canary)
    upload = tmp_path / "source"
    upload.write_text(playlist.format(canary=canary))
    # When it is probed as the MP4 it claims to be
    error = _probe_in_time(upload, "video/mp4")
    # Then it is refused as corrupt, and the canary was never opened
    assert isinstance(error, VideoRejected)
    assert error.args[0] == "the video is truncated or corrupt"


def test_a_type_the_router_would_not_send_is_refused(tmp_path: Path) -> None:
    upload = tmp_path / "source"
    upload.write_bytes(b"#EXTM3U\n")
    with pytest.raises(VideoRejected, match="not a video we accept"):
        probe(upload, "application/vnd.apple.mpegurl")
