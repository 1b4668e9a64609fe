"""Demo clips for ``clipshop seed-demo``: synthesised with ffmpeg's lavfi (no media files needed)
and sent through the real pipeline (upload session → storage → transcode job → ready)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app import jobs
from app.accounts import service as accounts_service
from app.clips import service
from app.clips.models import Clip, ClipStatus
from app.clips.schemas import UploadCreate
from app.db import session_scope
from app.interests.models import Interest
from app.storage import get_storage

DEMO_CREATOR_EMAIL = "creator@demo.clipshop"
# (caption, lavfi pattern, tone Hz)
DEMO_CLIPS = [
    ("Demo clip 1: unboxing the spring collection", "testsrc2", 440),
    ("Demo clip 2: three ways to style a scarf", "smptebars", 523),
    ("Demo clip 3: five-minute skincare routine", "rgbtestsrc", 659),
]


def synthesise_clip(path: Path, pattern: str, tone_hz: int, seconds: float = 3.5) -> Path:
    """A small vertical phone-like clip with sound."""
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y",
         "-f", "lavfi", "-i", f"{pattern}=s=360x640:r=30:d={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency={tone_hz}:duration={seconds}",
         "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
         str(path)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return path


def seed_demo_clips() -> dict[str, Any]:
    with session_scope() as session:
        creator = accounts_service.get_user_by_email(session, DEMO_CREATOR_EMAIL)
        if creator is None:
            return {}
        existing = set(
            session.scalars(
                select(Clip.caption).where(Clip.creator_id == creator.id, Clip.status != ClipStatus.deleted)
            )
        )
        slugs = list(
            session.scalars(
                select(Interest.slug).where(Interest.parent_id.is_not(None)).order_by(Interest.id)
            )
        )
    missing = [c for c in DEMO_CLIPS if c[0] not in existing]
    with tempfile.TemporaryDirectory(prefix="clipshop-seed-") as tmp:
        for index, (caption, pattern, tone) in enumerate(missing):
            path = synthesise_clip(Path(tmp) / f"demo{index}.mp4", pattern, tone)
            with session_scope() as session:
                creator = accounts_service.get_user_by_email(session, DEMO_CREATOR_EMAIL)
                assert creator is not None
                upload, _ = service.create_upload(
                    session,
                    creator,
                    UploadCreate(
                        size=path.stat().st_size,
                        content_type="video/mp4",
                        file_name=path.name,
                        caption=caption,
                        interests=slugs[index * 2 : index * 2 + 2],
                    ),
                )
                get_storage().put_file(upload.storage_key, path, "video/mp4")
                service.complete_upload(session, creator, upload.id)
    if missing and jobs.is_inprocess():
        jobs.drain(timeout_ms=600_000)
    with session_scope() as session:
        creator = accounts_service.get_user_by_email(session, DEMO_CREATOR_EMAIL)
        assert creator is not None
        statuses = list(session.scalars(select(Clip.status).where(Clip.creator_id == creator.id)))
    ready = sum(1 for s in statuses if s is ClipStatus.ready)
    return {"clips": f"{ready} ready, {len(statuses) - ready} other (demo creator)"}
