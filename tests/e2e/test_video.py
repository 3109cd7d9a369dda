"""Videos on the local stack: playable within seconds, then an AV1 ladder over HLS; bad files fail clearly."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aperture.aws import client
from tests.clips import clip, decoded_frames
from tests.conftest import eventually
from tests.e2e.conftest import ApiStack, upload_media


def _media(api: ApiStack, token: str, media_id: str) -> dict[str, Any]:
    body: dict[str, Any] = api.client.call("GET", f"/media/{media_id}", token=token).body
    return body


def _settled(api: ApiStack, token: str, media_id: str) -> dict[str, Any]:
    done: dict[str, Any] = eventually(
        lambda: (m := _media(api, token, media_id))["state"] in ("ready", "failed") and m, timeout=120
    )
    return done


def _download(api: ApiStack, key: str, folder: Path) -> Path:
    target = folder / key.rsplit("/", 1)[-1]
    body = client("s3").get_object(Bucket=api.stack.environment["MEDIA_BUCKET"], Key=key)["Body"].read()
    target.write_bytes(body)
    return target


def test_a_landscape_clip_plays_at_once_then_gets_an_av1_ladder(api: ApiStack) -> None:
    # Given a 2-second 320x240 clip with a quiet tone
    token = api.signup("u_filmmaker")
    media_id = upload_media(api, token, clip(320, 240, 2.0), "video/mp4")

    # When the fast path finishes, then the media is ready with an MP4 that decodes end to end
    media = _settled(api, token, media_id)
    assert media["state"] == "ready", media
    assert (media["width"], media["height"], media["duration"]) == (320, 240, pytest.approx(2.0, abs=0.1))
    assert media["thumbhash"]
    with tempfile.TemporaryDirectory() as work:
        fast = _download(api, media["playback"]["mp4"], Path(work))
        data = fast.read_bytes()
        assert data.index(b"moov") < data.index(b"mdat")  # faststart: playable while it downloads
        assert decoded_frames(fast) == (60, (320, 240), ["h264", "aac"])

    # When the ladder finishes, then playback moves to an HLS master listing AV1 first, then H.264
    laddered = eventually(
        lambda: (m := _media(api, token, media_id)).get("playback", {}).get("hls") and m, timeout=180
    )
    assert laddered["playback"]["mp4"] == media["playback"]["mp4"]
    codecs = [variant["codecs"] for variant in laddered["ladder"]["variants"]]
    assert codecs == ["av01.0.04M.08,mp4a.40.2", "avc1.64001e,mp4a.40.2"]
    _assert_hls_decodes(api, laddered["playback"]["hls"], expected_size=(320, 240))


def _assert_hls_decodes(api: ApiStack, master_key: str, expected_size: tuple[int, int]) -> None:
    """Every playlist and segment the master names exists, and each variant decodes end to end."""
    prefix = master_key.rsplit("/", 1)[0]
    listed = client("s3").list_objects_v2(Bucket=api.stack.environment["MEDIA_BUCKET"], Prefix=prefix)
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        for entry in listed["Contents"]:
            _download(api, entry["Key"], folder)
        master = (folder / "master.m3u8").read_text()
        assert "#EXT-X-STREAM-INF" in master
        assert f"RESOLUTION={expected_size[0]}x{expected_size[1]}" in master
        for playlist in [line for line in master.splitlines() if line.endswith(".m3u8")]:
            for line in (folder / playlist).read_text().splitlines():
                if line and not line.startswith("#"):
                    assert (folder / line).exists(), line
            frames, size, codecs = decoded_frames(folder / playlist, protocol_whitelist="file")
            assert (frames, size) == (60, expected_size), playlist
            assert codecs[0] in ("av1", "libdav1d", "h264")


def test_a_portrait_clip_with_rotation_metadata_comes_out_upright(api: ApiStack) -> None:
    # Given a clip stored 320x240 whose metadata says to turn it 90 degrees (a phone held upright)
    token = api.signup("u_phone")
    media_id = upload_media(api, token, clip(320, 240, 1.0, rotation=90), "video/mp4")
    # Then every output is portrait, 240x320
    media = _settled(api, token, media_id)
    assert (media["state"], media["width"], media["height"]) == ("ready", 240, 320)
    with tempfile.TemporaryDirectory() as work:
        assert decoded_frames(_download(api, media["playback"]["mp4"], Path(work)))[1] == (240, 320)
    poster = next(r for r in media["renditions"] if r["name"] == "poster")
    assert (poster["width"], poster["height"]) == (240, 320)


@pytest.mark.parametrize(
    ("name", "make", "reason"),
    [
        ("truncated", lambda: clip(320, 240, 2.0)[:3000], "the video is truncated or corrupt"),
        ("empty", lambda: b"", "the file is empty"),
        ("audio only", lambda: clip(video=False), "the file has no video track"),
        (
            "an HLS playlist named .mp4",
            lambda: b"#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n",
            "the file is not an image or video we accept",
        ),
    ],
)
def test_bad_videos_fail_with_a_clear_reason(
    api: ApiStack, name: str, make: Callable[[], bytes], reason: str
) -> None:
    token = api.signup("u_bad_" + "".join(c for c in name.lower() if c.isalpha())[:20])
    media_id = upload_media(api, token, make(), "video/mp4")
    media = _settled(api, token, media_id)
    assert (media["state"], media["failure"]) == ("failed", reason)
