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
from app.storage import get_storage

DEMO_CREATOR_EMAIL = "creator@demo.clipshop"
# Creators of the demo feed and their clips: (caption, interest slugs, background colours,
# product colour, tone Hz). Captions name the demo catalogue's products, which the catalogue seed
# tags in them; the picture is a slow colour gradient with the product's swatch where its tag
# point is (x 0.5, y 0.42).
DEMO_CLIPS: dict[str, list[tuple[str, list[str], tuple[str, str], str, int]]] = {
    DEMO_CREATOR_EMAIL: [
        ("Vitamin C serum: my five-minute morning skincare routine", ["beauty.skincare"], ("0xf6d7b0", "0xe07a5f"), "0xf0aa3c", 440),
        ("Court sneakers unboxing: the gum sole is everything", ["fashion.sneakers"], ("0xdfe7ee", "0x6d8fb3"), "0xe6e6e1", 523),
        ("Three ways to style the everyday hoodie", ["fashion.streetwear"], ("0x2b2d42", "0x8d99ae"), "0x34548c", 659),
    ],
    "lea.style@demo.clipshop": [
        ("Spring outfit: everyday hoodie and white court sneakers", ["fashion.streetwear", "fashion.sneakers"], ("0xffd6e0", "0x7c6a9a"), "0xe6e6e1", 587),
    ],
    "sam.brews@demo.clipshop": [
        ("Pour-over with single-origin Ethiopian coffee beans", ["kitchen.coffee"], ("0x3d2b1f", "0xc8a27a"), "0x6e4628", 392),
    ],
}  # fmt: skip


def synthesise_clip(
    path: Path,
    colours: tuple[str, str] = ("0x303040", "0x8080a0"),
    swatch: str = "0xffffff",
    tone_hz: int = 440,
    seconds: float = 3.5,
) -> Path:
    """A small vertical phone-like clip with sound: a moving colour gradient and a product swatch."""
    video = (
        f"gradients=s=360x640:r=30:d={seconds}:c0={colours[0]}:c1={colours[1]}:x0=0:y0=0:x1=360:y1=640:speed=0.04,"
        f"drawbox=x=110:y=199:w=140:h=140:color={swatch}@0.95:t=fill,"
        f"drawbox=x=110:y=199:w=140:h=140:color=white@0.9:t=6"
    )
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y",
         "-f", "lavfi", "-i", video,
         "-f", "lavfi", "-i", f"sine=frequency={tone_hz}:duration={seconds}",
         "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
         str(path)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return path


def seed_demo_clips() -> dict[str, Any]:
    missing: list[tuple[str, tuple[str, list[str], tuple[str, str], str, int]]] = []
    with session_scope() as session:
        for email, clips in DEMO_CLIPS.items():
            creator = accounts_service.get_user_by_email(session, email)
            if creator is None:
                continue
            existing = set(
                session.scalars(
                    select(Clip.caption).where(Clip.creator_id == creator.id, Clip.status != ClipStatus.deleted)
                )
            )
            missing += [(email, clip) for clip in clips if clip[0] not in existing]
    with tempfile.TemporaryDirectory(prefix="clipshop-seed-") as tmp:
        for index, (email, (caption, interests, colours, swatch, tone)) in enumerate(missing):
            path = synthesise_clip(Path(tmp) / f"demo{index}.mp4", colours, swatch, tone)
            with session_scope() as session:
                creator = accounts_service.get_user_by_email(session, email)
                assert creator is not None
                upload, _ = service.create_upload(
                    session,
                    creator,
                    UploadCreate(
                        size=path.stat().st_size,
                        content_type="video/mp4",
                        file_name=path.name,
                        caption=caption,
                        interests=interests,
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
