"""Clip lookups, playback URLs and lifecycle changes (services flush; the caller commits)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clips.exceptions import ClipNotFound
from app.clips.models import Clip, ClipInterest, ClipStatus, Visibility
from app.storage import get_storage


def clip_prefix(clip_id: uuid.UUID) -> str:
    """Every object of a clip lives under this prefix (deleting the clip deletes the prefix)."""
    return f"clips/{clip_id}/"


def get_clip(session: Session, clip_id: uuid.UUID, *, include_deleted: bool = False) -> Clip:
    clip = session.get(Clip, clip_id)
    if clip is None or (clip.status is ClipStatus.deleted and not include_deleted):
        raise ClipNotFound("No such clip.")
    return clip


def get_ready_public_clip(session: Session, clip_id: uuid.UUID) -> Clip:
    """A clip anyone may watch (ready, public or unlisted)."""
    clip = get_clip(session, clip_id)
    if clip.status is not ClipStatus.ready or clip.visibility is Visibility.private:
        raise ClipNotFound("No such clip.")
    return clip


def interest_ids(session: Session, clip_id: uuid.UUID) -> list[int]:
    rows = session.scalars(select(ClipInterest.interest_id).where(ClipInterest.clip_id == clip_id))
    return sorted(rows)


def playback(clip: Clip) -> dict[str, Any]:
    """URLs a player needs: HLS master, MP4 fallback, poster and thumbnails (None until ready)."""
    if clip.status is not ClipStatus.ready:
        return {"hls": None, "mp4": None, "poster": None, "thumbnails": {}}
    storage = get_storage()
    thumbs: dict[str, dict[str, str]] = {}
    for fmt, by_width in (clip.thumbnail_keys or {}).items():
        thumbs[fmt] = {str(w): storage.url_for(key) for w, key in by_width.items()}
    return {
        "hls": storage.url_for(clip.hls_master_key) if clip.hls_master_key else None,
        "mp4": storage.url_for(clip.mp4_key) if clip.mp4_key else None,
        "poster": storage.url_for(clip.poster_key) if clip.poster_key else None,
        "thumbnails": thumbs,
    }
