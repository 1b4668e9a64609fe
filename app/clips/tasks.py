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

from sqlalchemy import select, update

from app.clips.models import Clip, ClipStatus
from app.clips.service import abort_orphan_multipart_uploads, expire_abandoned_uploads
from app.config import get_settings
from app.db import as_utc, session_scope, utcnow
from app.jobs import actor
from app.media import MediaLimits, MediaOutputs, MediaRejected, process_video
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
}


def media_limits() -> MediaLimits:
    s = get_settings()
    return MediaLimits(
        min_duration_s=s.min_duration_seconds,
        max_duration_s=s.max_duration_seconds,
        max_dimension=s.max_dimension,
        max_bytes=s.max_upload_bytes,
    )


def _claim(clip_id: uuid.UUID) -> str | None:
    """Start an attempt: returns the source key, or None when there is nothing to do."""
    with session_scope() as session:
        clip = session.get(Clip, clip_id)
        if clip is None or clip.status is not ClipStatus.processing:
            return None  # already ready/failed/deleted: a rerun or duplicate message changes nothing
        clip.processing_attempts += 1
        clip.processing_started_at = utcnow()
        if clip.processing_attempts > MAX_PROCESSING_ATTEMPTS:
            clip.status = ClipStatus.failed
            clip.failure_code = "transcode_failed"
            clip.failure_message = "Processing did not finish after several attempts."
            return None
        return clip.source_key


def _set_progress(clip_id: uuid.UUID, percent: int) -> None:
    with session_scope() as session:
        session.execute(
            update(Clip)
            .where(
                Clip.id == clip_id, Clip.status == ClipStatus.processing, Clip.processing_progress < percent
            )
            .values(processing_progress=percent)
        )


def _fail(clip_id: uuid.UUID, code: str, message: str) -> None:
    with session_scope() as session:
        clip = session.get(Clip, clip_id)
        if clip is not None and clip.status is ClipStatus.processing:
            clip.status = ClipStatus.failed
            clip.failure_code = code
            clip.failure_message = message[:2000]


def _fetch_source(key: str, target: Path) -> None:
    storage = get_storage()
    if isinstance(storage, S3Storage):
        storage.download_file(key, target)
        return
    with storage.open(key) as source, target.open("wb") as out:
        shutil.copyfileobj(source, out, 1024 * 1024)


def _publish(clip_id: uuid.UUID, prefix: str, outputs: MediaOutputs) -> dict[str, Any]:
    """Upload every output under deterministic keys (a rerun overwrites, never duplicates).
    Playlists go last so nothing references a segment that is not there yet."""
    storage = get_storage()
    files = outputs.files
    files.sort(key=lambda p: (p.suffix == ".m3u8", p.name == "master.m3u8"))
    for path in files:
        rel = path.relative_to(outputs.output_dir).as_posix()
        storage.put_file(prefix + rel, path, CONTENT_TYPES.get(path.suffix, "application/octet-stream"))
    video = outputs.video
    thumbs: dict[str, dict[str, str]] = {}
    poster_key = None
    for image in outputs.images:
        key = prefix + image.path.relative_to(outputs.output_dir).as_posix()
        if image.kind == "poster":
            if image.format == "jpeg":
                poster_key = key
        else:
            thumbs.setdefault(image.format, {})[str(image.width)] = key
    return {
        "mp4_key": prefix + video.mp4.relative_to(outputs.output_dir).as_posix(),
        "hls_master_key": prefix + video.master.relative_to(outputs.output_dir).as_posix(),
        "renditions": [
            {
                "rung": r.rung,
                "width": r.width,
                "height": r.height,
                "bandwidth": r.bandwidth,
                "codecs": r.codecs,
                "playlist_key": prefix + r.playlist,
            }
            for r in video.renditions
        ],
        "poster_key": poster_key,
        "thumbnail_keys": thumbs,
        "duration_ms": round(video.duration * 1000),
        "width": video.width,
        "height": video.height,
        "aspect_ratio": round(video.width / video.height, 4),
        "has_audio": video.source_has_audio,
    }


def run_transcode(clip_id: uuid.UUID) -> str:
    """The transcode job body; returns what happened (for logs and tests)."""
    source_key = _claim(clip_id)
    if source_key is None:
        return "skipped"
    settings = get_settings()
    prefix = f"clips/{clip_id}/"
    work = Path(tempfile.mkdtemp(prefix=f"{WORKDIR_PREFIX}{clip_id}-"))
    last = {"pct": -1, "at": 0.0}

    def on_progress(pct: int) -> None:
        # Throttled: one small UPDATE per 5 % or 2 s at most.
        if pct >= 100 or pct - last["pct"] >= 5 or time.monotonic() - last["at"] > 2:
            last.update(pct=pct, at=time.monotonic())
            _set_progress(clip_id, min(pct, 99))

    try:
        source = work / "source"
        _fetch_source(source_key, source)
        try:
            outputs = process_video(
                source,
                work / "out",
                media_limits(),
                on_progress=on_progress,
                timeout_s=settings.transcode_time_limit_seconds,
            )
        except MediaRejected as exc:
            log.info("clip rejected", extra={"clip_id": str(clip_id), "code": exc.code.value})
            _fail(clip_id, exc.code.value, exc.message)
            return exc.code.value
        fields = _publish(clip_id, prefix, outputs)
        with session_scope() as session:
            clip = session.get(Clip, clip_id)
            if clip is None or clip.status is not ClipStatus.processing:
                # Deleted (or finished by a concurrent duplicate) meanwhile.
                if clip is not None and clip.status is ClipStatus.deleted:
                    get_storage().delete_prefix(prefix)
                return "superseded"
            for name, value in fields.items():
                setattr(clip, name, value)
            clip.status = ClipStatus.ready
            clip.processing_progress = 100
            clip.failure_code = None
            clip.failure_message = None
            clip.ready_at = utcnow()
        return "ready"
    finally:
        shutil.rmtree(work, ignore_errors=True)


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
    """Re-enqueue clips left in `processing` past the deadline (a worker died mid-transcode)."""
    settings = get_settings()
    cutoff = utcnow() - (older_than or timedelta(seconds=settings.stuck_processing_seconds))
    with session_scope() as session:
        stuck = [
            clip.id
            for clip in session.scalars(select(Clip).where(Clip.status == ClipStatus.processing))
            if clip.processing_started_at is None or as_utc(clip.processing_started_at) < cutoff
        ]
        for clip_id in stuck:
            # Restart the clock so the next sweep does not enqueue it again while it runs.
            session.execute(update(Clip).where(Clip.id == clip_id).values(processing_started_at=utcnow()))
    for clip_id in stuck:
        transcode_clip.send(str(clip_id))
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
    """Remove transcode scratch folders left by killed workers on this machine. A folder older
    than the actor's time limit cannot belong to a job that is still running."""
    root = root or Path(tempfile.gettempdir())
    limit = get_settings().transcode_time_limit_seconds + 600
    removed = 0
    for path in root.glob(f"{WORKDIR_PREFIX}*-*"):
        try:
            uuid.UUID(path.name[len(WORKDIR_PREFIX) : len(WORKDIR_PREFIX) + 36])
        except ValueError:
            continue
        if path.is_dir() and time.time() - path.stat().st_mtime > limit:
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed


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
