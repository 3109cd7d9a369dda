"""Videos on the local stack: playable within seconds, then an AV1 ladder over HLS; bad files fail clearly."""

from __future__ import annotations

import base64
import importlib.util
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import numpy as np
import pytest

from aperture.core.aws import client
from aperture.core.messages import MediaJob
from aperture.media import ladder, video_pipeline
from aperture.media.records import upload_key
from aperture.media.superres import shipped_model
from tests.clips import clip, decoded_frames
from tests.conftest import eventually, load_event, natural_picture
from tests.e2e.conftest import ApiStack, upload_media

pytestmark = pytest.mark.slow(seconds=20)


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
    # Given a 1-second 320x240 clip with a quiet tone
    token = api.signup("u_filmmaker")
    media_id = upload_media(api, token, clip(320, 240, 1.0), "video/mp4")

    # When the fast path finishes, then the media is ready with an MP4 that decodes end to end
    media = _settled(api, token, media_id)
    assert media["state"] == "ready", media
    assert (media["width"], media["height"], media["duration"]) == (320, 240, pytest.approx(1.0, abs=0.1))
    assert media["thumbhash"]
    with tempfile.TemporaryDirectory() as work:
        fast = _download(api, media["playback"]["mp4"], Path(work))
        data = fast.read_bytes()
        assert data.index(b"moov") < data.index(b"mdat")  # faststart: playable while it downloads
        assert decoded_frames(fast) == (30, (320, 240), ["h264", "aac"])
        assert _loudness(fast) == pytest.approx(-23.0, abs=1.0)  # EBU R128, from a tone at about -29 LUFS

    # When the ladder finishes, then playback moves to an HLS master listing AV1 first, then H.264,
    # each at the source's size and at twice it, made by the shipped super-resolution model
    laddered = eventually(
        lambda: (m := _media(api, token, media_id)).get("playback", {}).get("hls") and m, timeout=180
    )
    assert laddered["playback"]["mp4"] == media["playback"]["mp4"]
    variants = [
        (v["name"], v["codecs"], v["width"], v["height"], v.get("enhanced_by"))
        for v in laddered["ladder"]["variants"]
    ]
    version = shipped_model().version
    assert variants == [
        ("av1_640", "av01.0.04M.08,mp4a.40.2", 640, 480, version),
        ("av1_320", "av01.0.04M.08,mp4a.40.2", 320, 240, None),
        ("h264_640", "avc1.64001e,mp4a.40.2", 640, 480, version),
        ("h264_320", "avc1.64001e,mp4a.40.2", 320, 240, None),
    ]
    sizes = {f"{name}.m3u8": (width, height) for name, _, width, height, _ in variants}
    _assert_hls_decodes(api, laddered["playback"]["hls"], sizes)


def _loudness(path: Path) -> float:
    """Integrated loudness (LUFS) as FFmpeg's EBU R128 meter reports it."""
    meter = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-nostats", "-i", str(path), "-af", "ebur128", "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(re.findall(r"I:\s+(-?[\d.]+) LUFS", meter.stderr)[-1])


def _deliver(api: ApiStack, function: str, media_id: str, owner: str) -> dict[str, Any]:
    job = MediaJob(
        media_id=media_id,
        owner_id=owner,
        bucket=api.stack.environment["UPLOADS_BUCKET"],
        key=upload_key(owner, media_id),
    )
    record = {**load_event("video_fastpath/video_job.json")["Records"][0], "body": job.model_dump_json()}
    response: dict[str, Any] = api.stack.function(function).invoke({"Records": [record]})
    return response


def _assert_hls_decodes(api: ApiStack, master_key: str, sizes: dict[str, tuple[int, int]]) -> None:
    """Every playlist and segment the master names exists, and each variant decodes end to end at
    its size (``sizes``, by playlist)."""
    prefix = master_key.rsplit("/", 1)[0]
    listed = client("s3").list_objects_v2(Bucket=api.stack.environment["MEDIA_BUCKET"], Prefix=prefix)
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        for entry in listed["Contents"]:
            _download(api, entry["Key"], folder)
        master = (folder / "master.m3u8").read_text()
        assert "#EXT-X-STREAM-INF" in master
        for playlist in [line for line in master.splitlines() if line.endswith(".m3u8")]:
            for line in (folder / playlist).read_text().splitlines():
                if line and not line.startswith("#"):
                    assert (folder / line).exists(), line
            frames, size, codecs = decoded_frames(folder / playlist, protocol_whitelist="file")
            assert f"RESOLUTION={sizes[playlist][0]}x{sizes[playlist][1]}" in master
            assert (frames, size) == (30, sizes[playlist]), playlist
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


def test_a_video_delivered_twice_is_processed_once(api: ApiStack) -> None:
    # Given a video that went through both paths
    token = api.signup("u_twice")
    media_id = upload_media(api, token, clip(320, 240, 1.0), "video/mp4")
    done = eventually(
        lambda: (m := _media(api, token, media_id)).get("playback", {}).get("hls") and m, timeout=180
    )
    # When both jobs are delivered again
    for function in ("video_fastpath", "video_ladder"):
        assert _deliver(api, function, media_id, "u_twice") == {"batchItemFailures": []}
    # Then nothing it wrote changed
    fields = ("renditions", "playback", "ladder", "thumbhash", "updated_at")
    assert {f: _media(api, token, media_id)[f] for f in fields} == {f: done[f] for f in fields}


def test_when_av1_fails_the_h264_ladder_serves_alone(api: ApiStack, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an encoder without AV1
    real = ladder.package

    def no_av1(source: Path, mime: str, probe: Any, rung: Any, folder: Path, **options: Any) -> Any:
        if rung.codec == "libsvtav1":
            raise RuntimeError("libsvtav1 is not available")
        return real(source, mime, probe, rung, folder, **options)

    monkeypatch.setattr(video_pipeline, "package", no_av1)
    token = api.signup("u_noav1")
    media_id = upload_media(api, token, clip(320, 240, 1.0), "video/mp4")
    # Then the ladder still swaps in, with H.264 only, and says why
    media = eventually(
        lambda: (m := _media(api, token, media_id)).get("playback", {}).get("hls") and m, timeout=180
    )
    assert [v["codecs"] for v in media["ladder"]["variants"]] == ["avc1.64001e,mp4a.40.2"] * 2
    assert "libsvtav1 is not available" in media["ladder"]["av1_failure"]


def test_a_player_upscales_with_the_published_model_and_reference_as_the_server_does(
    api: ApiStack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # When a player, signed in or not, fetches the super-resolution model
    reply = api.client.call("GET", "/models/sr/latest")
    assert reply.status == 200
    assert reply.headers["Cache-Control"] == "public, max-age=86400"
    published = reply.body
    # And loads the reference implementation and the banks it was sent
    source = tmp_path / "player_superres.py"
    source.write_text(published["reference_implementation"])
    spec = importlib.util.spec_from_file_location("player_superres", source)
    assert spec is not None
    assert spec.loader is not None
    player = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "player_superres", player)  # dataclasses look their module up
    spec.loader.exec_module(player)
    banks = {
        name: np.frombuffer(base64.b64decode(bank["data"]), bank["dtype"]).reshape(bank["shape"])
        for name, bank in published["banks"].items()
    }
    edges = tuple(published["strength_edges"]), tuple(published["coherence_edges"])
    model = player.SrModel(published["version"], banks, *edges)
    # Then it doubles a low tier's frame to the very pixels the server's ladder makes
    frame = np.asarray(natural_picture(160, 120, 3).convert("L"))
    server = shipped_model()
    assert published["version"] == server.version
    for bank in ("clean", "compressed"):
        assert np.array_equal(model.upscale_luma(frame, bank), server.upscale_luma(frame, bank))
