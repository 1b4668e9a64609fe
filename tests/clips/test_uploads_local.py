"""Upload → transcode → playback on the embedded default (local media folder, in-process worker)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.config import get_settings
from tests.clips.flow import declare, upload_file
from tests.media.media_checks import DATA_DIR, assert_playable_mp4, assert_valid_hls, synth_video

needs_media = pytest.mark.skipif(not DATA_DIR.is_dir(), reason="../shared/data/video is absent")


@pytest.fixture
def synth_clip(tmp_path: Path) -> Path:
    """A small vertical clip with audio (works without ../shared)."""
    return synth_video(tmp_path / "phone.mp4", rate=24)


def _local_file(key: str) -> Path:
    return Path(get_settings().media_root) / key


def test_creator_uploads_through_the_api_and_gets_a_playable_clip(
    client: Any, make_user: Any, synth_clip: Path
) -> None:
    creator, headers = make_user("creator")
    clip = upload_file(client, headers, synth_clip, caption="hello", interests=["beauty.skincare"])
    assert clip["status"] == "ready", clip
    assert clip["processing_progress"] == 100 and clip["failure_code"] is None
    assert (clip["width"], clip["height"]) == (360, 640) and clip["has_audio"] is True
    assert 1900 <= clip["duration_ms"] <= 2100
    assert clip["interests"] == ["beauty.skincare"] and clip["creator_id"] == creator["id"]
    assert [r["rung"] for r in clip["renditions"]] == ["360p"]
    playback = clip["playback"]
    assert playback["hls"].startswith("http://testserver/v1/media/clips/")
    # Everything is fetched back through the API's media route, as a player would.
    master = client.get(playback["hls"])
    assert master.status_code == 200
    assert master.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    prefix = f"clips/{clip['id']}/"
    assert_valid_hls(
        lambda key: client.get(f"/v1/media/{key}").content,
        f"{prefix}hls/master.m3u8",
        ["360p"],
        portrait=True,
    )
    assert_playable_mp4(_local_file(f"{prefix}video.mp4"), 360, 640, 2.0)
    # Range requests let players seek.
    ranged = client.get(playback["mp4"], headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206 and len(ranged.content) == 100
    assert ranged.headers["content-range"].startswith("bytes 0-99/")
    assert client.get(playback["poster"]).headers["content-type"] == "image/jpeg"
    assert set(playback["thumbnails"]) == {"jpeg", "webp"}
    # The source file is not published.
    assert client.get(f"/v1/media/{prefix}source").status_code == 404

    listed = client.get("/v1/me/clips", headers=headers).json()
    assert [c["id"] for c in listed["items"]] == [clip["id"]] and listed["next_offset"] is None
    # Anyone may watch a ready public clip.
    assert client.get(f"/v1/clips/{clip['id']}").status_code == 200


def test_delete_removes_every_object(client: Any, make_user: Any, synth_clip: Path) -> None:
    _, headers = make_user("creator")
    clip = upload_file(client, headers, synth_clip)
    prefix = f"clips/{clip['id']}/"
    assert _local_file(prefix).is_dir()
    _, other = make_user("creator")
    refused = client.delete(f"/v1/clips/{clip['id']}", headers=other)
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    assert client.delete(f"/v1/clips/{clip['id']}", headers=headers).status_code == 204
    assert not _local_file(prefix).exists()
    gone = client.get(f"/v1/clips/{clip['id']}", headers=headers)
    assert gone.status_code == 404 and gone.json()["code"] == "clip_not_found"


@needs_media
@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("mp4/sample_audio_only.mp4", "no_video_stream"),
        ("corrupt/invalid-bitstream.webm", "corrupt"),
        ("corrupt/broken-wav.wav", "not_a_video"),
    ],
)
def test_bad_files_fail_with_their_code(client: Any, make_user: Any, name: str, code: str) -> None:
    _, headers = make_user("creator")
    clip = upload_file(client, headers, DATA_DIR / name)
    assert clip["status"] == "failed"
    assert clip["failure_code"] == code and clip["failure_message"]
    # A plain sentence for the creator: no server path, no tool output.
    message = clip["failure_message"]
    assert "/" not in message and not any(w in message.lower() for w in ("ffmpeg", "ffprobe", "invalid data", "tmp"))
    assert clip["playback"] == {"hls": None, "mp4": None, "poster": None, "thumbnails": {}, "storyboard": None}
    assert sorted(p.name for p in _local_file(f"clips/{clip['id']}").rglob("*") if p.is_file()) == ["source"]


def test_a_playlist_naming_another_clip_fails_as_not_a_video_and_publishes_nothing(
    client: Any, make_user: Any, synth_clip: Path, tmp_path: Path
) -> None:
    """Another creator's clip on the worker's disk: a playlist uploaded as video/mp4 must not
    publish it as the attacker's clip."""
    _, victim = make_user("creator")
    private = upload_file(client, victim, synth_clip, visibility="private")
    assert private["status"] == "ready"
    secret = _local_file(f"clips/{private['id']}/video.mp4").resolve()
    playlist = tmp_path / "innocent.mp4"
    playlist.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:2.0,\nfile://{secret}\n#EXTINF:2.0,\n{secret}\n#EXT-X-ENDLIST\n")
    _, attacker = make_user("creator")
    clip = upload_file(client, attacker, playlist)
    assert clip["status"] == "failed" and clip["failure_code"] == "not_a_video"
    assert str(secret) not in clip["failure_message"]
    assert sorted(p.name for p in _local_file(f"clips/{clip['id']}").rglob("*") if p.is_file()) == ["source"]


@needs_media
def test_rotated_and_mirrored_phone_file_ends_upright(client: Any, make_user: Any) -> None:
    _, headers = make_user("creator")
    clip = upload_file(client, headers, DATA_DIR / "mp4/sample_rotate_and_reflect.mp4")
    assert clip["status"] == "ready"
    assert (clip["width"], clip["height"]) == (720, 1080)
    assert_playable_mp4(_local_file(f"clips/{clip['id']}/video.mp4"), 720, 1080, 1.024)


def test_refusals_happen_before_any_url_is_issued(client: Any, make_user: Any, tmp_path: Path) -> None:
    _, viewer = make_user("viewer")
    _, merchant = make_user("merchant")
    _, creator = make_user("creator")
    body = {"size": 1000, "content_type": "video/mp4"}
    for headers, status in (({}, 401), (viewer, 403), (merchant, 403)):
        response = client.post("/v1/uploads", json=body, headers=headers)
        assert response.status_code == status
        assert response.headers["content-type"] == "application/problem+json"
        assert "upload_url" not in response.json()
    too_big = client.post(
        "/v1/uploads", json={**body, "size": get_settings().max_upload_bytes + 1}, headers=creator
    )
    assert too_big.status_code == 413 and too_big.json()["code"] == "upload_too_large"
    wrong_type = client.post("/v1/uploads", json={**body, "content_type": "text/html"}, headers=creator)
    assert wrong_type.status_code == 415 and wrong_type.json()["code"] == "unsupported_content_type"
    unknown = client.post("/v1/uploads", json={**body, "interests": ["nope.nothing"]}, headers=creator)
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_interest"
    assert client.get("/v1/me/clips", headers=creator).json()["items"] == []


def test_wrong_size_and_checksum_are_refused_at_complete(client: Any, make_user: Any, tmp_path: Path) -> None:
    _, headers = make_user("creator")
    path = tmp_path / "f.mp4"
    path.write_bytes(b"x" * 5000)
    upload = declare(client, headers, path)
    url = upload["upload_url"]
    short = client.put(url, content=b"x" * 4000, headers=headers)
    assert short.status_code == 422 and short.json()["code"] == "upload_size_mismatch"
    long = client.put(url, content=b"x" * 6000, headers=headers)
    assert long.status_code == 413
    early = client.post(f"/v1/uploads/{upload['id']}/complete", headers=headers)
    assert early.status_code == 422 and early.json()["code"] == "upload_incomplete"

    _, stranger = make_user("creator")
    assert client.put(url, content=b"x" * 5000, headers=stranger).status_code == 403
    assert client.post(f"/v1/uploads/{upload['id']}/complete", headers=stranger).status_code == 403

    checked = declare(client, headers, path, checksum_sha256="0" * 64)
    assert client.put(checked["upload_url"], content=path.read_bytes(), headers=headers).status_code == 204
    bad = client.post(f"/v1/uploads/{checked['id']}/complete", headers=headers)
    assert bad.status_code == 422 and bad.json()["code"] == "upload_checksum_mismatch"
    assert bad.headers["content-type"] == "application/problem+json"


def test_abort_removes_the_upload_and_its_clip(client: Any, make_user: Any, tmp_path: Path) -> None:
    _, headers = make_user("creator")
    path = tmp_path / "f.mp4"
    path.write_bytes(b"y" * 100)
    upload = declare(client, headers, path)
    assert client.put(upload["upload_url"], content=path.read_bytes(), headers=headers).status_code == 204
    assert _local_file(f"clips/{upload['clip_id']}/source").exists()
    assert client.delete(f"/v1/uploads/{upload['id']}", headers=headers).status_code == 204
    assert not _local_file(f"clips/{upload['clip_id']}").exists()
    again = client.post(f"/v1/uploads/{upload['id']}/complete", headers=headers)
    assert again.status_code == 409 and again.json()["code"] == "upload_not_pending"
    assert client.get(f"/v1/clips/{upload['clip_id']}", headers=headers).status_code == 404


def test_patch_caption_interests_visibility(client: Any, make_user: Any, tmp_path: Path) -> None:
    _, headers = make_user("creator")
    path = tmp_path / "f.mp4"
    path.write_bytes(b"z" * 10)
    upload = declare(client, headers, path, interests=["beauty.skincare"])
    clip_url = f"/v1/clips/{upload['clip_id']}"
    # Not ready yet: invisible to others, visible to its creator.
    assert client.get(clip_url).status_code == 404
    patched = client.patch(
        clip_url, json={"caption": "new", "interests": [], "visibility": "private"}, headers=headers
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["caption"] == "new" and patched.json()["interests"] == []
    assert patched.json()["visibility"] == "private" and patched.json()["status"] == "uploading"
    _, other = make_user("creator")
    assert client.patch(clip_url, json={"caption": "x"}, headers=other).status_code == 403
