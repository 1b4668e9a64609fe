"""Clips, their interests and the upload sessions that bring their source files in."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, Timestamps, UUIDPrimaryKey


class ClipStatus(StrEnum):
    uploading = "uploading"
    processing = "processing"
    ready = "ready"
    failed = "failed"
    deleted = "deleted"


class Visibility(StrEnum):
    public = "public"
    unlisted = "unlisted"
    private = "private"


class UploadMode(StrEnum):
    single = "single"  # one presigned PUT
    multipart = "multipart"  # presigned multipart parts
    proxy = "proxy"  # streamed through PUT /v1/uploads/{id}/content


class UploadStatus(StrEnum):
    pending = "pending"
    completed = "completed"
    aborted = "aborted"
    expired = "expired"


class Clip(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "clip"
    __table_args__ = (
        Index("ix_clip_status_updated_at", "status", "updated_at"),
        # the feed engine's scan for recently changed clips (any status)
        Index("ix_clip_updated_at", "updated_at"),
    )

    creator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    status: Mapped[ClipStatus] = mapped_column(
        Enum(ClipStatus, native_enum=False, length=16), default=ClipStatus.uploading
    )
    caption: Mapped[str] = mapped_column(Text, default="")
    visibility: Mapped[Visibility] = mapped_column(
        Enum(Visibility, native_enum=False, length=16), default=Visibility.public
    )
    processing_progress: Mapped[int] = mapped_column(Integer, default=0)
    failure_code: Mapped[str | None] = mapped_column(String(32))
    failure_message: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    aspect_ratio: Mapped[float | None]
    has_audio: Mapped[bool | None]
    poster_key: Mapped[str | None] = mapped_column(String(512))
    # {"jpeg": {"180": key, ...}, "webp": {...}}: thumbnail keys per format and width.
    thumbnail_keys: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # [{"rung", "width", "height", "bandwidth", "codecs", "playlist_key"}], lowest rung first.
    renditions: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    hls_master_key: Mapped[str | None] = mapped_column(String(512))
    mp4_key: Mapped[str | None] = mapped_column(String(512))
    # False while a ready clip still lacks rungs of its ladder or its MP4 (it is published as soon
    # as the lowest rung plays; the rest is added by the same job).
    playback_complete: Mapped[bool] = mapped_column(default=True, server_default=sa_true())
    # {"vtt_key", "sprite_key", "interval_s", "tile_width", "tile_height", "columns", "rows", "count"}
    storyboard: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    source_key: Mapped[str | None] = mapped_column(String(512))
    storage_prefix: Mapped[str] = mapped_column(String(255))
    processing_started_at: Mapped[datetime | None]
    processing_attempts: Mapped[int] = mapped_column(Integer, default=0)
    ready_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]


class ClipInterest(Base):
    __tablename__ = "clip_interest"

    clip_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clip.id", ondelete="CASCADE"), primary_key=True)
    interest_id: Mapped[int] = mapped_column(
        ForeignKey("interest.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class UploadSession(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "upload_session"
    __table_args__ = (Index("ix_upload_session_status_expires_at", "status", "expires_at"),)

    clip_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clip.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    declared_size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    file_name: Mapped[str | None] = mapped_column(String(255))
    checksum_sha256: Mapped[str | None] = mapped_column(String(64))
    mode: Mapped[UploadMode] = mapped_column(Enum(UploadMode, native_enum=False, length=16))
    storage_key: Mapped[str] = mapped_column(String(512))
    multipart_upload_id: Mapped[str | None] = mapped_column(String(1024))
    part_size: Mapped[int | None] = mapped_column(BigInteger)
    expires_at: Mapped[datetime]
    status: Mapped[UploadStatus] = mapped_column(
        Enum(UploadStatus, native_enum=False, length=16), default=UploadStatus.pending
    )
    completed_at: Mapped[datetime | None]
