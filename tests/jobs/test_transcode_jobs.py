"""Transcode jobs are idempotent and recover: duplicates, stuck clips, abandoned uploads. (A real
worker process killed in the middle of a transcode: ``test_job_faults.py``.)"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from app import jobs
from app.clips.models import Clip, ClipStatus, UploadSession
from app.clips.tasks import cleanup_uploads, sweep_stuck_clips, transcode_clip
from app.db import session_scope, utcnow
from app.storage import get_storage
from tests.clips.flow import declare, upload_file
from tests.media.media_checks import synth_video


def _synth(path: Path, size: str = "360x640", seconds: int = 2) -> Path:
    return synth_video(path, size, seconds)


def _keys(clip_id: str) -> list[str]:
    prefix = f"clips/{clip_id}/"
    return sorted(k.removeprefix(prefix) for k in get_storage().list_keys(prefix))


def _assert_one_consistent_set(clip_id: str, rungs: list[str]) -> None:
    """Exactly the objects one run produces: every segment is referenced by its playlist."""
    keys = _keys(clip_id)
    storage = get_storage()
    for rung in rungs:
        with storage.open(f"clips/{clip_id}/hls/{rung}/index.m3u8") as fh:
            listed = sorted(re.findall(r"^(seg_\d+\.ts)$", fh.read().decode(), re.MULTILINE))
        stored = sorted(k.split("/")[-1] for k in keys if k.startswith(f"hls/{rung}/seg_"))
        assert stored == listed
    others = {k for k in keys if not k.startswith(("hls/", "images/"))}
    assert others == {"source", "video.mp4", "storyboard/storyboard.jpg", "storyboard/storyboard.vtt"}
    assert {k for k in keys if k.startswith("hls/") and "/" not in k[4:]} == {"hls/master.m3u8"}
    with storage.open(f"clips/{clip_id}/hls/master.m3u8") as fh:
        listed_rungs = re.findall(r"^(\w+)/index\.m3u8$", fh.read().decode(), re.MULTILINE)
    assert listed_rungs == rungs


def _mark_processing(clip_id: str, started_ago: timedelta) -> None:
    with session_scope() as session:
        session.execute(
            update(Clip)
            .where(Clip.id == uuid.UUID(clip_id))
            .values(status=ClipStatus.processing, processing_started_at=utcnow() - started_ago)
        )
        session.execute(
            update(UploadSession)
            .where(UploadSession.clip_id == uuid.UUID(clip_id))
            .values(status="completed")
        )


def _uploaded_not_completed(client: Any, headers: dict[str, str], path: Path) -> dict[str, Any]:
    upload = declare(client, headers, path)
    response = client.put(upload["upload_url"], content=path.read_bytes(), headers=headers)
    assert response.status_code == 204
    return upload


def test_duplicate_messages_leave_one_set_of_renditions(client: Any, make_user: Any, tmp_path: Path) -> None:
    _, headers = make_user("creator")
    path = _synth(tmp_path / "a.mp4")
    clip = upload_file(client, headers, path)
    assert clip["status"] == "ready"
    before = _keys(clip["id"])
    # Redelivered / duplicated messages after success change nothing.
    transcode_clip.send(clip["id"])
    transcode_clip.send(clip["id"])
    jobs.drain()
    after = client.get(f"/v1/clips/{clip['id']}", headers=headers).json()
    assert _keys(clip["id"]) == before
    assert after["ready_at"] == clip["ready_at"] and after["renditions"] == clip["renditions"]
    _assert_one_consistent_set(clip["id"], ["360p"])


def test_concurrent_duplicates_while_processing_produce_one_set(
    client: Any, make_user: Any, tmp_path: Path
) -> None:
    _, headers = make_user("creator")
    upload = _uploaded_not_completed(client, headers, _synth(tmp_path / "b.mp4"))
    response = client.post(f"/v1/uploads/{upload['id']}/complete", headers=headers)
    assert response.status_code == 200
    transcode_clip.send(upload["clip_id"])  # a duplicate of the message complete() enqueued
    jobs.drain()
    clip = client.get(f"/v1/clips/{upload['clip_id']}", headers=headers).json()
    assert clip["status"] == "ready" and len(clip["renditions"]) == 1
    _assert_one_consistent_set(upload["clip_id"], ["360p"])


def test_sweep_requeues_only_clips_stuck_past_the_deadline(
    client: Any, make_user: Any, tmp_path: Path
) -> None:
    _, headers = make_user("creator")
    path = _synth(tmp_path / "c.mp4")
    stuck = _uploaded_not_completed(client, headers, path)
    fresh = _uploaded_not_completed(client, headers, path)
    _mark_processing(stuck["clip_id"], timedelta(hours=3))
    _mark_processing(fresh["clip_id"], timedelta(seconds=5))
    requeued = sweep_stuck_clips(older_than=timedelta(hours=1))
    assert [str(c) for c in requeued] == [stuck["clip_id"]]
    jobs.drain()
    assert client.get(f"/v1/clips/{stuck['clip_id']}", headers=headers).json()["status"] == "ready"
    assert client.get(f"/v1/clips/{fresh['clip_id']}", headers=headers).json()["status"] == "processing"
    # Immediately sweeping again does not enqueue the one that was just restarted.
    assert sweep_stuck_clips(older_than=timedelta(hours=1)) == []


def test_sweep_leaves_clips_whose_job_is_still_queued_to_that_job(
    client: Any, make_user: Any, tmp_path: Path
) -> None:
    from sqlalchemy import func, select

    from app.jobs import outbox
    from app.jobs.models import Job

    _, headers = make_user("creator")
    stuck = _uploaded_not_completed(client, headers, _synth(tmp_path / "g.mp4"))
    _mark_processing(stuck["clip_id"], timedelta(hours=3))
    with session_scope() as session:  # its job is in the outbox, not relayed yet (broker down)
        outbox.add_job(session, transcode_clip, [stuck["clip_id"]], {})
    assert [str(c) for c in sweep_stuck_clips(older_than=timedelta(hours=1))] == [stuck["clip_id"]]
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 1
    jobs.drain()
    assert client.get(f"/v1/clips/{stuck['clip_id']}", headers=headers).json()["status"] == "ready"


def test_cleanup_drops_expired_uploads_and_their_bytes(client: Any, make_user: Any, tmp_path: Path) -> None:
    _, headers = make_user("creator")
    path = tmp_path / "d.mp4"
    path.write_bytes(b"partial")
    expired = _uploaded_not_completed(client, headers, path)
    alive = _uploaded_not_completed(client, headers, path)
    with session_scope() as session:
        session.execute(
            update(UploadSession)
            .where(UploadSession.id == uuid.UUID(expired["id"]))
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
    assert cleanup_uploads() == {"expired_uploads": 1, "aborted_multipart": 0}
    assert _keys(expired["clip_id"]) == []
    assert _keys(alive["clip_id"]) == ["source"]
    assert client.get(f"/v1/clips/{expired['clip_id']}", headers=headers).status_code == 404
    late = client.post(f"/v1/uploads/{expired['id']}/complete", headers=headers)
    assert late.status_code == 409 and late.json()["code"] == "upload_not_pending"


def test_reprocess_clip_cli_rebuilds_in_place(
    client: Any, make_user: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.cli import build_parser

    _, headers = make_user("creator")
    clip = upload_file(client, headers, _synth(tmp_path / "f.mp4"))
    before = _keys(clip["id"])
    args = build_parser().parse_args(["reprocess-clip", clip["id"], "--wait"])
    assert args.func(args) == 0
    assert f"clip {clip['id']}: ready" in capsys.readouterr().out
    again = client.get(f"/v1/clips/{clip['id']}", headers=headers).json()
    assert again["status"] == "ready" and again["ready_at"] > clip["ready_at"]
    assert _keys(clip["id"]) == before  # same deterministic keys, overwritten


def test_clip_plays_at_its_first_rung_and_a_crash_after_it_is_completed_by_the_retry(
    client: Any, make_user: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.clips.tasks import run_transcode
    from app.media import MediaJob

    _, headers = make_user("creator")
    upload = _uploaded_not_completed(client, headers, _synth(tmp_path / "g.mp4", "720x1280", 2))
    clip_id = upload["clip_id"]
    _mark_processing(clip_id, timedelta(0))

    def worker_dies(self: MediaJob) -> None:
        raise SystemExit("worker died")  # what a kill looks like to the code after it

    monkeypatch.setattr(MediaJob, "rest", worker_dies)
    with pytest.raises(SystemExit):
        run_transcode(uuid.UUID(clip_id))
    playable = client.get(f"/v1/clips/{clip_id}", headers=headers).json()
    assert playable["status"] == "ready" and playable["playback_complete"] is False
    assert [r["rung"] for r in playable["renditions"]] == ["360p"]
    assert playable["playback"]["mp4"] is None and playable["playback"]["poster"]
    assert playable["playback"]["storyboard"]["count"] == 2
    assert 0 < playable["processing_progress"] < 100
    # What a player fetches works now: the master lists the one rung, whose segments are there.
    storage = get_storage()
    with storage.open(f"clips/{clip_id}/hls/master.m3u8") as fh:
        assert re.findall(r"^(\w+)/index\.m3u8$", fh.read().decode(), re.MULTILINE) == ["360p"]
    _assert_rung_segments_stored(clip_id, "360p")

    monkeypatch.undo()
    # The sweep finds the playable clip whose ladder is incomplete and the retry finishes it.
    assert [str(c) for c in sweep_stuck_clips(older_than=timedelta(0))] == [clip_id]
    jobs.drain()
    done = client.get(f"/v1/clips/{clip_id}", headers=headers).json()
    assert done["playback_complete"] is True and done["processing_progress"] == 100
    assert [r["rung"] for r in done["renditions"]] == ["360p", "540p", "720p"]
    assert done["playback"]["mp4"] and done["ready_at"] == playable["ready_at"]
    _assert_one_consistent_set(clip_id, ["360p", "540p", "720p"])
    # each rung's first segment is recorded (the first rung's kept through the second step):
    # the feed hands out the lowest one so that a player's start is fetched with the playlists
    with session_scope() as session:
        rows = session.get(Clip, uuid.UUID(clip_id)).renditions  # type: ignore[union-attr]
    storage = get_storage()
    for row in rows:
        with storage.open(row["playlist_key"]) as fh:
            first_listed = re.findall(r"^(seg_\d+\.ts)$", fh.read().decode(), re.MULTILINE)[0]
        assert row["first_segment_key"] == f"clips/{clip_id}/hls/{row['rung']}/{first_listed}"
    assert sweep_stuck_clips(older_than=timedelta(0)) == []


def _assert_rung_segments_stored(clip_id: str, rung: str) -> None:
    storage = get_storage()
    with storage.open(f"clips/{clip_id}/hls/{rung}/index.m3u8") as fh:
        segments = re.findall(r"^(seg_\d+\.ts)$", fh.read().decode(), re.MULTILINE)
    assert segments and all(storage.exists(f"clips/{clip_id}/hls/{rung}/{s}") for s in segments)
