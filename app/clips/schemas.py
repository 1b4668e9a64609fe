from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.clips.models import ClipStatus, UploadMode, UploadStatus, Visibility
from app.tags.schemas import TagRead

Sha256Hex = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$")]


class UploadCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "size": 18_400_000,
                    "content_type": "video/mp4",
                    "file_name": "IMG_0412.MOV",
                    "caption": "Morning routine with the new serum",
                    "interests": ["beauty.skincare"],
                }
            ]
        },
    )

    size: int = Field(gt=0, description="Exact size of the file in bytes")
    content_type: str = Field(min_length=3, max_length=100)
    file_name: str | None = Field(default=None, max_length=255, description="Shown to the creator only")
    checksum_sha256: Sha256Hex | None = Field(default=None, description="Hex SHA-256 of the file, verified")
    caption: str = Field(default="", max_length=2200)
    interests: list[str] = Field(default_factory=list, max_length=10)
    visibility: Visibility = Visibility.public


class UploadPartUrl(BaseModel):
    part_number: int
    url: str
    size: int


class UploadRead(BaseModel):
    id: uuid.UUID
    clip_id: uuid.UUID
    mode: UploadMode
    status: UploadStatus
    size: int
    expires_at: datetime
    upload_url: str | None = Field(description="PUT the whole file here (modes single and proxy)")
    upload_headers: dict[str, str] = Field(
        default_factory=dict, description="Send these headers with the PUT"
    )
    part_size: int | None = None
    parts: list[UploadPartUrl] = Field(default_factory=list, description="Multipart: PUT each part here")
    content_url: str = Field(description="Streaming through the API, available in every mode")
    complete_url: str


class UploadCompletedPart(BaseModel):
    part_number: int = Field(ge=1, le=10_000)
    etag: str = Field(min_length=1, max_length=200)


class UploadComplete(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parts: list[UploadCompletedPart] | None = Field(
        default=None, description="Multipart: the ETags S3 returned; omitted = every part received"
    )


class RenditionRead(BaseModel):
    rung: str
    width: int
    height: int
    bandwidth: int
    codecs: str


class StoryboardRead(BaseModel):
    vtt: str = Field(description="WebVTT index: one cue per interval, pointing at a tile of the sprite")
    sprite: str = Field(description="The sprite sheet (JPEG) the cues point into with #xywh=x,y,w,h")
    interval_s: int
    tile_width: int
    tile_height: int
    columns: int
    rows: int
    count: int


class PlaybackRead(BaseModel):
    hls: str | None
    mp4: str | None = Field(description="Progressive MP4; null until `playback_complete` on multi-rung clips")
    poster: str | None
    thumbnails: dict[str, dict[str, str]] = Field(description="format -> width -> URL")
    storyboard: StoryboardRead | None = Field(default=None, description="Frames for scrubbing")


class ClipRead(BaseModel):
    id: uuid.UUID
    creator_id: uuid.UUID
    status: ClipStatus
    caption: str
    visibility: Visibility
    interests: list[str]
    processing_progress: int
    failure_code: str | None
    failure_message: str | None
    duration_ms: int | None
    width: int | None
    height: int | None
    aspect_ratio: float | None
    has_audio: bool | None
    renditions: list[RenditionRead] = Field(
        description="HLS rungs published so far, lowest first; grows until `playback_complete`"
    )
    playback_complete: bool = Field(
        description="False while a ready clip (playable at its first rung) still gets rungs or its MP4"
    )
    playback: PlaybackRead
    tags: list[TagRead] = Field(
        default_factory=list,
        description="Active product tags with live price, availability and buy action",
    )
    created_at: datetime
    updated_at: datetime
    ready_at: datetime | None


class ClipUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    caption: str | None = Field(default=None, max_length=2200)
    interests: list[str] | None = Field(default=None, max_length=10)
    visibility: Visibility | None = None


class ClipPage(BaseModel):
    items: list[ClipRead]
    next_offset: int | None
