"""Clip jobs: the transcode actor (idempotent), the stuck-clip sweep and upload cleanup."""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, or_, select, update

from app.clips.models import Clip, ClipStatus
from app.clips.service import abort_orphan_multipart_uploads, expire_abandoned_uploads
from app.config import get_settings
from app.db import as_utc, session_scope, utcnow
from app.jobs import actor, enqueue
from app.jobs.outbox import has_unfinished, live_lease_owners
from app.jobs.scratch import purge_dead as purge_dead_scratch
from app.media import FirstPlayable, MediaJob, MediaLimits, MediaRejected, Rendition, master_playlist
from app.media.exceptions import PLAIN_MESSAGES, RejectCode
from app.media.transcode import HLS_MASTER
from app.notifications import service as notifications_service
from app.storage import get_storage
from app.storage.s3 import S3Storage

log = logging.getLogger("clipshop.clips.tasks")

# A clip whose transcode has been started this many times without finishing is failed for good.
MAX_PROCESSING_ATTEMPTS = 4

CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".mp4": "video/mp4",
    ".jpg": "image/jpeg",
    ".webp": "image/webp",
    ".vtt": "text/vtt",
}


def media_limits() -> MediaLimits:
    s = get_settings()
    return MediaLimits(
        min_duration_s=s.min_duration_seconds,
        max_duration_s=s.max_duration_seconds,
        max_dimension=s.max_dimension,
        max_bytes=s.max_upload_bytes,
    )


def _claim(clip_id: uuid.UUID) -> tuple[str, bool] | None:
    """Start an attempt: (source key, whether the clip is already playable), or None when there is
    nothing to do. A clip published at its first rung whose ladder is incomplete (a crash half-way)
    is claimed again to finish it."""
    with session_scope() as session:
        clip = session.get(Clip, clip_id)
        if clip is None:
            return None
        finishing = clip.status is ClipStatus.ready and not clip.playback_complete
        if clip.status is not ClipStatus.processing and not finishing:
            return None  # already ready/failed/deleted: a rerun or duplicate message changes nothing
        clip.processing_attempts += 1
        clip.processing_started_at = utcnow()
        if clip.processing_attempts > MAX_PROCESSING_ATTEMPTS:
            if finishing:
                # It plays at the rungs it has; stop trying to add the others.
                log.error("clip ladder left incomplete", extra={"clip_id": str(clip_id)})
                clip.playback_complete = True
                clip.processing_progress = 100
                return None
            clip.status = ClipStatus.failed
            clip.failure_code = RejectCode.TRANSCODE_FAILED.value
            clip.failure_message = PLAIN_MESSAGES[RejectCode.TRANSCODE_FAILED]
            return None
        return (clip.source_key or ""), finishing


def _set_progress(clip_id: uuid.UUID, percent: int) -> None:
    with session_scope() as session:
        session.execute(
            update(Clip)
            .where(
                Clip.id == clip_id,
                Clip.status.in_((ClipStatus.processing, ClipStatus.ready)),
                Clip.processing_progress < percent,
            )
            .values(processing_progress=percent)
        )


def _fail(clip_id: uuid.UUID, exc: MediaRejected) -> None:
    """The clip fails with a stable code and a plain sentence; tool output and paths only go to
    the log."""
    log.info(
        "clip rejected", extra={"clip_id": str(clip_id), "code": exc.code.value, "detail": exc.detail}
    )
    with session_scope() as session:
        clip = session.get(Clip, clip_id)
        if clip is not None and clip.status is ClipStatus.processing:
            clip.status = ClipStatus.failed
            clip.failure_code = exc.code.value
            clip.failure_message = exc.message
            notifications_service.clip_processed(
                session, clip_id=clip.id, creator_id=clip.creator_id, status="failed", failure_code=exc.code.value
            )


def _fetch_source(key: str, target: Path) -> None:
    storage = get_storage()
    if isinstance(storage, S3Storage):
        storage.download_file(key, target)
        return
    with storage.open(key) as source, target.open("wb") as out:
        shutil.copyfileobj(source, out, 1024 * 1024)


def _upload(prefix: str, out_dir: Path, files: list[Path]) -> None:
    """Upload under deterministic keys (a rerun overwrites, never duplicates), in the given order
    (playlists after the segments they list)."""
    storage = get_storage()
    for path in files:
        rel = path.relative_to(out_dir).as_posix()
        storage.put_file(prefix + rel, path, CONTENT_TYPES.get(path.suffix, "application/octet-stream"))


def _rendition_rows(prefix: str, renditions: list[Rendition]) -> list[dict[str, Any]]:
    rows = []
    for r in renditions:
        row: dict[str, Any] = {
            "rung": r.rung,
            "width": r.width,
            "height": r.height,
            "bandwidth": r.bandwidth,
            "codecs": r.codecs,
            "playlist_key": prefix + r.playlist,
        }
        if r.first_segment:  # clips transcoded before it was recorded have none
            row["first_segment_key"] = prefix + r.first_segment
        rows.append(row)
    return rows


def _rendition_of(prefix: str, row: dict[str, Any]) -> Rendition:
    return Rendition(
        rung=row["rung"], width=row["width"], height=row["height"], bandwidth=row["bandwidth"],
        codecs=row["codecs"], playlist=str(row["playlist_key"]).removeprefix(prefix),
        first_segment=str(row.get("first_segment_key") or "").removeprefix(prefix),
    )  # fmt: skip


def _publish_master(prefix: str, renditions: list[Rendition]) -> str:
    key = f"{prefix}hls/{HLS_MASTER}"
    get_storage().put_bytes(key, master_playlist(renditions).encode(), CONTENT_TYPES[".m3u8"])
    return key


def _first_fields(prefix: str, job: MediaJob, first: FirstPlayable) -> dict[str, Any]:
    out = job.out_dir
    thumbs: dict[str, dict[str, str]] = {}
    poster_key = None
    for image in first.images:
        key = prefix + image.path.relative_to(out).as_posix()
        if image.kind == "poster":
            if image.format == "jpeg":
                poster_key = key
        else:
            thumbs.setdefault(image.format, {})[str(image.width)] = key
    board = first.storyboard
    video = job.encoder.rungs[-1]
    mp4 = job.encoder.mp4_size()
    return {
        "mp4_key": prefix + first.mp4.relative_to(out).as_posix() if first.mp4 else None,
        "hls_master_key": f"{prefix}hls/{HLS_MASTER}",
        "renditions": _rendition_rows(prefix, first.renditions),
        "poster_key": poster_key,
        "thumbnail_keys": thumbs,
        "storyboard": {
            "vtt_key": prefix + board.vtt.relative_to(out).as_posix(),
            "sprite_key": prefix + board.sprite.relative_to(out).as_posix(),
            "interval_s": board.interval_s,
            "tile_width": board.tile_width,
            "tile_height": board.tile_height,
            "columns": board.columns,
            "rows": board.rows,
            "count": board.count,
        },
        "duration_ms": round(job.duration * 1000),
        "width": mp4[0],
        "height": mp4[1],
        "aspect_ratio": round(video.width / video.height, 4),
        "has_audio": job.probe.has_audio,
        "playback_complete": not job.has_rest,
    }


def _deleted_meanwhile(session: Any, clip: Clip | None, prefix: str) -> bool:
    if clip is not None and clip.status is ClipStatus.deleted:
        get_storage().delete_prefix(prefix)
    return clip is None or clip.status is ClipStatus.deleted


def run_transcode(clip_id: uuid.UUID) -> str:
    """The transcode job body; returns what happened (for logs and tests).

    Two steps, each published as soon as it is done: the lowest HLS rung with the poster,
    thumbnails and storyboard (the clip becomes `ready`, `playback_complete` false), then every
    other rung and the MP4 (the master playlist is rewritten to list them; `playback_complete`
    true). A crash after the first step leaves a clip that plays; the retry (or the sweep) runs
    the second step only."""
    claimed = _claim(clip_id)
    if claimed is None:
        return "skipped"
    source_key, finishing = claimed
    settings = get_settings()
    prefix = f"clips/{clip_id}/"
    work = Path(tempfile.mkdtemp(prefix=f"{WORKDIR_PREFIX}{clip_id}-"))
    last = {"pct": -1, "at": 0.0}

    def on_progress(pct: int) -> None:
        # Throttled: one small UPDATE per 5 % or 2 s at most.
        if pct >= 100 or pct - last["pct"] >= 5 or time.monotonic() - last["at"] > 2:
            last.update(pct=pct, at=time.monotonic())
            _set_progress(clip_id, min(pct, 99))

    job: MediaJob | None = None
    try:
        source = work / "source"
        _fetch_source(source_key, source)
        try:
            job = MediaJob(
                source, work / "out", media_limits(), on_progress=on_progress,
                timeout_s=settings.transcode_time_limit_seconds,
            )  # fmt: skip
            if not finishing:
                first = job.first(start_rest=True)
                _upload(prefix, job.out_dir, first.files)
                _publish_master(prefix, first.renditions)
                fields = _first_fields(prefix, job, first)
                with session_scope() as session:
                    # locked: the rest pass, running meanwhile, reports its progress on this row
                    clip = session.get(Clip, clip_id, with_for_update=True)
                    if _deleted_meanwhile(session, clip, prefix):
                        return "superseded"
                    assert clip is not None
                    if clip.status is not ClipStatus.processing:
                        return "superseded"  # finished by a concurrent duplicate
                    for name, value in fields.items():
                        setattr(clip, name, value)
                    clip.status = ClipStatus.ready
                    clip.processing_progress = 100 if clip.playback_complete else max(
                        clip.processing_progress, round(job.encoder.first_share * 100)
                    )
                    clip.failure_code = None
                    clip.failure_message = None
                    clip.ready_at = utcnow()
                    # playable from now on: the creator hears of it at once, not when the ladder ends
                    notifications_service.clip_processed(
                        session, clip_id=clip.id, creator_id=clip.creator_id, status="ready"
                    )
                if not job.has_rest:
                    return "ready"
            rest = job.rest()
        except MediaRejected as exc:
            if finishing or _is_ready(clip_id):
                # Playable already: keep what plays; the attempt limit ends the retries.
                log.error(
                    "clip ladder incomplete",
                    extra={"clip_id": str(clip_id), "code": exc.code.value, "detail": exc.detail},
                )
                raise
            _fail(clip_id, exc)
            return exc.code.value
        _upload(prefix, job.out_dir, rest.files)
        with session_scope() as session:
            clip = session.get(Clip, clip_id)
            if _deleted_meanwhile(session, clip, prefix):
                return "superseded"
            assert clip is not None
            if clip.status is not ClipStatus.ready or clip.playback_complete:
                return "superseded"
            have = [_rendition_of(prefix, row) for row in clip.renditions or []]
            known = {r.rung for r in have}
            renditions = have + [r for r in rest.renditions if r.rung not in known]
            # The master is rewritten last, once every playlist it lists is stored.
            _publish_master(prefix, renditions)
            clip.renditions = _rendition_rows(prefix, renditions)
            if rest.mp4 is not None:
                clip.mp4_key = prefix + rest.mp4.relative_to(job.out_dir).as_posix()
            clip.playback_complete = True
            clip.processing_progress = 100
        return "ready"
    finally:
        if job is not None:
            job.cancel()  # a rest pass still running in the background (the job ended early)
        shutil.rmtree(work, ignore_errors=True)


def _is_ready(clip_id: uuid.UUID) -> bool:
    with session_scope() as session:
        clip = session.get(Clip, clip_id)
        return clip is not None and clip.status is ClipStatus.ready


@actor(
    queue="transcode",
    max_retries=3,
    min_backoff=5_000,
    max_backoff=120_000,
    time_limit=(get_settings().transcode_time_limit_seconds + 600) * 1000,
)
def transcode_clip(clip_id: str) -> None:
    run_transcode(uuid.UUID(clip_id))


def sweep_stuck_clips(older_than: timedelta | None = None) -> list[uuid.UUID]:
    """Re-enqueue clips whose transcode stopped past the deadline (a worker died mid-transcode):
    clips left in `processing`, and playable clips whose ladder was left incomplete."""
    settings = get_settings()
    if older_than is None:
        older_than = timedelta(seconds=settings.stuck_processing_seconds)
    cutoff = utcnow() - older_than
    unfinished = or_(
        Clip.status == ClipStatus.processing,
        and_(Clip.status == ClipStatus.ready, Clip.playback_complete.is_(False)),
    )
    with session_scope() as session:
        stuck = [
            clip.id
            for clip in session.scalars(select(Clip).where(unfinished))
            if clip.processing_started_at is None or as_utc(clip.processing_started_at) < cutoff
        ]
        for clip_id in stuck:
            # Restart the clock so the next sweep does not enqueue it again while it runs.
            session.execute(update(Clip).where(Clip.id == clip_id).values(processing_started_at=utcnow()))
            if not has_unfinished(session, transcode_clip, str(clip_id)):  # else its job is retried
                enqueue(session, transcode_clip, str(clip_id))
    return stuck


def cleanup_uploads() -> dict[str, int]:
    with session_scope() as session:
        expired = expire_abandoned_uploads(session)
        orphans = abort_orphan_multipart_uploads(
            session, older_than=timedelta(seconds=get_settings().upload_expiry_seconds)
        )
    return {"expired_uploads": expired, "aborted_multipart": orphans}


WORKDIR_PREFIX = "clipshop-"


def purge_stale_workdirs(root: Path | None = None) -> int:
    """Remove the scratch folders of dead job processes (work folders of transcodes a killed
    worker left behind). Only folders of job processes that are provably gone and hold no
    unexpired lease are removed, never a folder by the look of its name (``app.jobs.scratch``)."""
    return purge_dead_scratch(root, live_lease_owners=live_lease_owners)


@actor(queue="default", max_retries=1, time_limit=600_000)
def maintenance() -> None:
    """Periodic: recovery sweep + abandoned upload cleanup (scheduled by the worker process)."""
    from app.catalog.imports import purge_import_files

    stuck = sweep_stuck_clips()
    cleaned = cleanup_uploads()
    scratch = purge_stale_workdirs()
    imports = purge_import_files()
    log.info(
        "maintenance",
        extra={"requeued": len(stuck), "stale_workdirs": scratch, "import_files": imports, **cleaned},
    )
