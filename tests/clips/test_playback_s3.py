"""HLS from a private S3 bucket, played by a real player (ffmpeg) from the URLs the API hands out:
every variant playlist and segment is authorised, for public clips (stable URLs, signed late)
and for private ones (signed playback URLs), and nothing is readable from the bucket unsigned."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from app.storage import set_storage
from app.storage.s3 import S3Storage
from tests.clips.flow import upload_file
from tests.clips.live_api import live_api
from tests.storage.moto_server import make_s3_storage

__all__ = ["live_api"]


@pytest.fixture
def s3_live(s3_endpoint: str, live_api: str) -> Iterator[S3Storage]:
    storage = make_s3_storage(s3_endpoint, api_media_url=f"{live_api}/v1/media")
    set_storage(storage)
    try:
        yield storage
    finally:
        set_storage(None)


def _synth(path: Path) -> Path:
    """540x960 with audio: two rungs (360p, 540p)."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=540x960:r=24:d=3", "-f", "lavfi",
         "-i", "sine=f=440:d=3", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest",
         str(path)],
        check=True,
    )  # fmt: skip
    return path


def _ffmpeg_reads(url: str, *extra: str) -> str:
    """Decode everything ``url`` leads to (every program of a master playlist) or fail."""
    result = subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-i", url, *extra, "-f", "null", "-"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0 and "Error" not in result.stderr, result.stderr
    return result.stderr


def _programs(url: str) -> int:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_programs", "-of", "compact", url],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    return len(re.findall(r"^program\|", out, re.M))


def _variants(master_url: str) -> list[str]:
    text = httpx.get(master_url).text
    return [urljoin(master_url, line) for line in text.splitlines() if line and not line.startswith("#")]


def _plays_every_variant(master_url: str, bucket_url: str) -> None:
    variants = _variants(master_url)
    assert len(variants) == 2, variants
    assert _programs(master_url) == 2
    _ffmpeg_reads(master_url, "-map", "0")
    for variant in variants:
        text = httpx.get(variant).text
        segments = [line for line in text.splitlines() if line and not line.startswith("#")]
        assert segments and all(s.startswith(bucket_url) and "X-Amz-Signature=" in s for s in segments)
        for segment in segments:  # each one presigned and reachable; unsigned it is refused
            assert httpx.get(segment).status_code == 200
            assert httpx.get(segment.split("?", 1)[0]).status_code == 403
        _ffmpeg_reads(variant)


def test_hls_plays_from_a_private_bucket_public_then_private(
    client: Any, make_user: Any, s3_live: S3Storage, live_api: str, tmp_path: Path
) -> None:
    _, headers = make_user("creator")
    clip = upload_file(client, headers, _synth(tmp_path / "clip.mp4"))
    assert clip["status"] == "ready", clip
    bucket_url = f"{s3_live.config.endpoint_url}/{s3_live.bucket}/"
    prefix = f"clips/{clip['id']}/"
    # The bucket is private: nothing of the clip is readable without a signature.
    assert httpx.get(f"{bucket_url}{prefix}hls/master.m3u8").status_code == 403

    # Public: stable URLs on the API (signed late), every variant and segment plays.
    playback = clip["playback"]
    assert playback["hls"] == f"{live_api}/v1/media/{prefix}hls/master.m3u8"
    _plays_every_variant(playback["hls"], bucket_url)
    public_variants = _variants(playback["hls"])
    mp4 = httpx.get(playback["mp4"])
    assert mp4.status_code == 307 and mp4.headers["location"].startswith(bucket_url)
    _ffmpeg_reads(playback["mp4"])  # the player follows the redirect
    assert httpx.get(playback["poster"], follow_redirects=True).content[:2] == b"\xff\xd8"
    assert httpx.head(playback["hls"]).status_code == 200

    # Private: the old URLs stop working; the creator's signed ones play every variant.
    assert (
        client.patch(f"/v1/clips/{clip['id']}", json={"visibility": "private"}, headers=headers).status_code
        == 200
    )
    for url in (
        playback["hls"],
        playback["mp4"],
        playback["poster"],
        *public_variants,
    ):
        assert httpx.get(url).status_code == 404
    signed = client.get(f"/v1/clips/{clip['id']}", headers=headers).json()["playback"]
    assert "token=" in signed["hls"]
    for variant in _variants(signed["hls"]):
        assert "token=" in urlsplit(variant).query
        assert httpx.get(variant.split("?", 1)[0]).status_code == 404
    _plays_every_variant(signed["hls"], bucket_url)
    redirected = httpx.get(signed["mp4"])
    assert redirected.status_code == 307 and redirected.headers["cache-control"] == "private, no-store"

    # A storyboard's sprite references are presigned like segments.
    s3_live.put_bytes(f"{prefix}storyboard/sprite.jpg", b"\xff\xd8sprite", "image/jpeg")
    vtt = "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nsprite.jpg#xywh=0,0,160,90\n"
    s3_live.put_bytes(f"{prefix}storyboard/storyboard.vtt", vtt.encode(), "text/vtt")
    token = signed["hls"].split("token=", 1)[1]
    answered = httpx.get(f"{live_api}/v1/media/{prefix}storyboard/storyboard.vtt?token={token}").text
    [sprite] = [line for line in answered.splitlines() if "sprite.jpg" in line]
    assert sprite.startswith(bucket_url) and sprite.endswith("#xywh=0,0,160,90")
    assert httpx.get(sprite.split("#", 1)[0]).content == b"\xff\xd8sprite"
