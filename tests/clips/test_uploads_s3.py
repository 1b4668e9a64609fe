"""The same phone-like client against S3 (a real loopback S3 server): presigned single PUT and
presigned multipart, streaming through the API into S3 multipart parts, and deletion."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app import jobs
from app.config import get_settings
from app.storage import set_storage
from app.storage.s3 import MIN_PART_SIZE, S3Storage
from tests.clips.flow import declare, upload_file
from tests.media.media_checks import assert_playable_mp4, assert_valid_hls


@pytest.fixture
def on_s3(s3_storage: S3Storage, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Storage]:
    monkeypatch.setattr(get_settings(), "multipart_part_size", MIN_PART_SIZE)
    set_storage(s3_storage)
    try:
        yield s3_storage
    finally:
        set_storage(None)


def _synth(path: Path, seconds: int, noise: int) -> Path:
    """Vertical clip with audio; `noise` makes it big (multipart) without making it long."""
    vf = f"testsrc2=s=360x640:r=24:d={seconds}" + (f",noise=alls={noise}:allf=t" if noise else "")
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", vf, "-f", "lavfi", "-i", f"sine=f=440:d={seconds}",
         "-c:v", "libx264", "-preset", "ultrafast", *(["-qp", "0"] if noise else []), "-c:a", "aac",
         "-shortest", str(path)],
        check=True,
    )  # fmt: skip
    return path


def _check_outputs(client: Any, s3: S3Storage, clip: dict[str, Any], tmp_path: Path) -> None:
    assert clip["status"] == "ready", clip
    prefix = f"clips/{clip['id']}/"
    # Playback URLs are stable URLs on the API: playlists answered there, other files redirected
    # to fresh presigned GETs (tests/clips/test_playback_s3.py plays them with ffmpeg).
    playback = clip["playback"]
    assert playback["hls"].startswith("http://testserver/v1/media/")
    assert client.get(playback["hls"]).text.startswith("#EXTM3U")
    assert_valid_hls(lambda key: s3.open(key).read(), f"{prefix}hls/master.m3u8", ["360p"], portrait=True)
    mp4 = tmp_path / f"{clip['id']}.mp4"
    mp4.write_bytes(httpx.get(_redirect(client, playback["mp4"])).content)
    assert_playable_mp4(mp4, 360, 640, clip["duration_ms"] / 1000)
    assert httpx.get(_redirect(client, playback["poster"])).content[:2] == b"\xff\xd8"


def _redirect(client: Any, url: str) -> str:
    response = client.get(url, follow_redirects=False)
    assert response.status_code == 307 and "X-Amz-Signature=" in response.headers["location"]
    return str(response.headers["location"])


def test_single_presigned_put_to_s3(client: Any, make_user: Any, on_s3: S3Storage, tmp_path: Path) -> None:
    _, headers = make_user("creator")
    path = _synth(tmp_path / "small.mp4", 2, 0)
    upload = declare(client, headers, path)
    assert upload["mode"] == "single" and "X-Amz-Signature=" in upload["upload_url"]
    clip = upload_file(client, headers, path)
    _check_outputs(client, on_s3, clip, tmp_path)
    keys = set(on_s3.list_keys(f"clips/{clip['id']}/"))
    assert f"clips/{clip['id']}/source" in keys and f"clips/{clip['id']}/video.mp4" in keys

    # DELETE removes every object of the clip.
    assert client.delete(f"/v1/clips/{clip['id']}", headers=headers).status_code == 204
    assert list(on_s3.list_keys(f"clips/{clip['id']}/")) == []


def test_multipart_presigned_upload_to_s3(
    client: Any, make_user: Any, on_s3: S3Storage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "multipart_threshold_bytes", MIN_PART_SIZE)
    _, headers = make_user("creator")
    path = _synth(tmp_path / "big.mp4", 1, 60)
    size = path.stat().st_size
    assert size > 2 * MIN_PART_SIZE
    clip = upload_file(client, headers, path)
    _check_outputs(client, on_s3, clip, tmp_path)
    assert on_s3.list_multipart_uploads("clips/") == []


def test_multipart_complete_with_missing_part_is_refused(
    client: Any, make_user: Any, on_s3: S3Storage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "multipart_threshold_bytes", MIN_PART_SIZE)
    _, headers = make_user("creator")
    path = tmp_path / "big.bin"
    path.write_bytes(b"\0" * (MIN_PART_SIZE + 100))
    upload = declare(client, headers, path)
    assert upload["mode"] == "multipart" and len(upload["parts"]) == 2
    first = upload["parts"][0]
    assert httpx.put(first["url"], content=b"\0" * first["size"]).status_code == 200
    response = client.post(f"/v1/uploads/{upload['id']}/complete", headers=headers)
    assert response.status_code == 422 and response.json()["code"] == "upload_size_mismatch"
    assert response.headers["content-type"] == "application/problem+json"
    # Abort drops the parts S3 holds.
    assert client.delete(f"/v1/uploads/{upload['id']}", headers=headers).status_code == 204
    assert on_s3.list_multipart_uploads("clips/") == []


def test_streaming_through_the_api_into_s3_multipart(
    client: Any, make_user: Any, on_s3: S3Storage, tmp_path: Path
) -> None:
    _, headers = make_user("creator")
    path = _synth(tmp_path / "big.mp4", 1, 60)
    data = path.read_bytes()
    upload = declare(client, headers, path)
    response = client.put(upload["content_url"], content=iter([data[i : i + 65536] for i in range(0, len(data), 65536)]),
                          headers={**headers, "Content-Type": "video/mp4"})  # fmt: skip
    assert response.status_code == 204, response.text
    head = on_s3.head(f"clips/{upload['clip_id']}/source")
    assert head is not None and head.size == len(data)
    assert "-" in (head.etag or "")  # a multipart object: it went up in parts, not in one piece
    done = client.post(f"/v1/uploads/{upload['id']}/complete", headers=headers)
    assert done.status_code == 200 and done.json()["status"] == "processing"
    jobs.drain()
    assert client.get(f"/v1/clips/{upload['clip_id']}", headers=headers).json()["status"] == "ready"


def test_presigned_put_of_the_wrong_size_is_refused_at_complete(
    client: Any, make_user: Any, on_s3: S3Storage
) -> None:
    _, headers = make_user("creator")
    upload = client.post(
        "/v1/uploads", json={"size": 1000, "content_type": "video/mp4"}, headers=headers
    ).json()
    assert (
        httpx.put(upload["upload_url"], content=b"\0" * 900, headers=upload["upload_headers"]).status_code
        == 200
    )
    response = client.post(f"/v1/uploads/{upload['id']}/complete", headers=headers)
    assert response.status_code == 422 and response.json()["code"] == "upload_size_mismatch"
    assert response.json()["received_bytes"] == 900 and response.json()["declared_bytes"] == 1000
    # The clip stays `uploading`: nothing was enqueued.
    assert client.get(f"/v1/clips/{upload['clip_id']}", headers=headers).json()["status"] == "uploading"


def test_on_s3_a_playlist_upload_fails_as_not_a_video_and_stores_nothing_else(
    client: Any, make_user: Any, on_s3: S3Storage, tmp_path: Path
) -> None:
    _, headers = make_user("creator")
    playlist = tmp_path / "clip.mp4"
    playlist.write_text("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nfile:///etc/hostname\n#EXT-X-ENDLIST\n")
    clip = upload_file(client, headers, playlist)
    assert clip["status"] == "failed" and clip["failure_code"] == "not_a_video"
    assert "/" not in clip["failure_message"]
    assert list(on_s3.list_keys(f"clips/{clip['id']}/")) == [f"clips/{clip['id']}/source"]


def test_on_s3_a_ladder_is_published_first_rung_first_then_completed(
    client: Any, make_user: Any, on_s3: S3Storage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.media import MediaJob

    _, headers = make_user("creator")
    path = tmp_path / "tall.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=540x960:r=24:d=2", "-f", "lavfi",
         "-i", "sine=d=2", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", str(path)],
        check=True,
    )  # fmt: skip
    seen: dict[str, Any] = {}
    real_rest = MediaJob.rest

    def rest_after_looking(self: MediaJob) -> Any:
        # What a viewer gets between the two steps: a playable clip at its first rung.
        seen.update(client.get(f"/v1/clips/{self_clip['id']}", headers=headers).json())
        return real_rest(self)

    monkeypatch.setattr(MediaJob, "rest", rest_after_looking)
    upload = declare(client, headers, path)
    self_clip = {"id": upload["clip_id"]}
    httpx.put(upload["upload_url"], content=path.read_bytes(), headers=upload["upload_headers"])
    assert client.post(f"/v1/uploads/{upload['id']}/complete", headers=headers).status_code == 200
    jobs.drain()
    assert seen["status"] == "ready" and seen["playback_complete"] is False
    assert [r["rung"] for r in seen["renditions"]] == ["360p"] and seen["playback"]["mp4"] is None
    done = client.get(f"/v1/clips/{upload['clip_id']}", headers=headers).json()
    assert done["playback_complete"] is True and [r["rung"] for r in done["renditions"]] == ["360p", "540p"]
    prefix = f"clips/{upload['clip_id']}/"
    assert_valid_hls(lambda key: on_s3.open(key).read(), f"{prefix}hls/master.m3u8", ["360p", "540p"], portrait=True)

    def fetch(url: str) -> httpx.Response:
        # the API's media route answers playlists and redirects other files to presigned GETs
        if not url.startswith("http://testserver/"):
            return httpx.get(url)  # a presigned GET straight to the bucket
        response = client.get(url.removeprefix("http://testserver"), follow_redirects=False)
        return httpx.get(response.headers["location"]) if response.status_code == 307 else response

    vtt = fetch(done["playback"]["storyboard"]["vtt"]).text
    assert vtt.startswith("WEBVTT")
    # each cue's sprite URL is authorised as it stands (presigned), and is a JPEG
    sprite_url = next(line for line in vtt.splitlines() if "#xywh=0,0," in line).split("#")[0]
    assert fetch(sprite_url).content[:2] == b"\xff\xd8"
    assert fetch(done["playback"]["storyboard"]["sprite"]).content[:2] == b"\xff\xd8"

def _three_parts(
    client: Any, headers: dict[str, str], tmp_path: Path
) -> tuple[dict[str, Any], bytes, list[Any]]:
    path = tmp_path / "parts.bin"
    data = bytes(range(256)) * ((2 * MIN_PART_SIZE + 1000) // 256)
    path.write_bytes(data)
    upload = declare(client, headers, path)
    assert upload["mode"] == "multipart" and len(upload["parts"]) == 3
    done = []
    for part in upload["parts"]:
        start = (part["part_number"] - 1) * upload["part_size"]
        response = httpx.put(part["url"], content=data[start : start + part["size"]])
        done.append({"part_number": part["part_number"], "etag": response.headers["ETag"]})
    return upload, data, done


def test_multipart_complete_with_parts_out_of_order_assembles_them_in_order(
    client: Any, make_user: Any, on_s3: S3Storage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "multipart_threshold_bytes", MIN_PART_SIZE)
    _, headers = make_user("creator")
    upload, data, parts = _three_parts(client, headers, tmp_path)
    shuffled = [parts[2], parts[0], parts[1]]
    response = client.post(f"/v1/uploads/{upload['id']}/complete", json={"parts": shuffled}, headers=headers)
    assert response.status_code == 200, response.text
    assert on_s3.open(f"clips/{upload['clip_id']}/source").read() == data  # not garbage
    assert on_s3.list_multipart_uploads("clips/") == []


def test_multipart_complete_with_repeated_parts_is_refused(
    client: Any, make_user: Any, on_s3: S3Storage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "multipart_threshold_bytes", MIN_PART_SIZE)
    _, headers = make_user("creator")
    upload, data, parts = _three_parts(client, headers, tmp_path)
    url = f"/v1/uploads/{upload['id']}/complete"
    for listing in (
        [parts[0], parts[0], parts[1], parts[2]],
        [parts[0], parts[1], {**parts[1], "etag": '"x"'}],
    ):
        response = client.post(url, json={"parts": listing}, headers=headers)
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "upload_parts_invalid"
    # Nothing was assembled; the right listing still completes.
    assert on_s3.head(f"clips/{upload['clip_id']}/source") is None
    assert client.post(url, json={"parts": parts}, headers=headers).status_code == 200
    assert on_s3.open(f"clips/{upload['clip_id']}/source").read() == data


def test_streaming_an_upload_declared_multipart_leaves_no_open_multipart_upload(
    client: Any, make_user: Any, on_s3: S3Storage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "multipart_threshold_bytes", MIN_PART_SIZE)
    _, headers = make_user("creator")
    path = tmp_path / "streamed.bin"
    data = b"\1" * (MIN_PART_SIZE + 4096)
    path.write_bytes(data)
    upload = declare(client, headers, path)
    assert upload["mode"] == "multipart" and len(on_s3.list_multipart_uploads("clips/")) == 1
    response = client.put(
        upload["content_url"], content=data, headers={**headers, "Content-Type": "video/mp4"}
    )
    assert response.status_code == 204, response.text
    assert client.post(f"/v1/uploads/{upload['id']}/complete", headers=headers).status_code == 200
    assert on_s3.list_multipart_uploads("clips/") == []  # the presigned one was aborted
    assert on_s3.open(f"clips/{upload['clip_id']}/source").read() == data
