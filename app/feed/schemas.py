from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.feed.events import EventType
from app.tags.schemas import TagRead

# ---------------------------------------------------------------------------- events


class EventIn(BaseModel):
    """One client event. ``clip_id`` is required for every kind except follow/unfollow, which take
    ``creator_id`` (or the ``clip_id`` of one of the creator's clips)."""

    model_config = ConfigDict(extra="forbid")

    event_id: uuid.UUID = Field(description="Client-generated UUID; resending it is a no-op")
    type: EventType
    at: datetime = Field(description="Client timestamp (UTC)")
    clip_id: uuid.UUID | None = None
    creator_id: uuid.UUID | None = None
    watch_ms: int | None = Field(default=None, ge=0, le=24 * 3600 * 1000)
    progress: float | None = Field(default=None, ge=0.0, le=1.0, description="Watched fraction 0..1")
    share_code: str | None = Field(
        default=None,
        max_length=32,
        description="The share link (`/s/{code}`) the clip was opened from: views are counted to it",
    )


class EventBatch(BaseModel):
    # An item that is not a valid EventIn stays a plain object: it is rejected on its own (by
    # index, with a reason) while the rest of the batch is accepted.
    events: list[EventIn | dict[str, Any]] = Field(
        min_length=1, max_length=500, description="Up to 500 events, each an `EventIn`"
    )


class ValidEventBatch(BaseModel):
    """``EventBatch`` when every event is a valid ``EventIn`` (the usual case, validated in one go
    from the JSON bytes; anything else is validated as an ``EventBatch``)."""

    events: list[EventIn] = Field(min_length=1, max_length=500)


def _inline_refs(schema: Any, defs: dict[str, Any]) -> Any:
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline_refs(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline_refs(v, defs) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inline_refs(v, defs) for v in schema]
    return schema


# The request body of POST /v1/events as documented (the route reads the body itself).
_batch_schema = EventBatch.model_json_schema()
EVENT_BATCH_SCHEMA: dict[str, Any] = _inline_refs(_batch_schema, _batch_schema.get("$defs", {}))


class EventResult(BaseModel):
    index: int
    event_id: str | None
    status: Literal["accepted", "duplicate", "rejected"]
    code: str | None = None
    reason: str | None = None


class EventBatchResult(BaseModel):
    accepted: int
    duplicates: int
    rejected: int
    results: list[EventResult] = Field(description="Only duplicates and rejections are listed")


# ---------------------------------------------------------------------------- feed


class FeedCreator(BaseModel):
    id: uuid.UUID
    handle: str | None
    display_name: str | None
    avatar_url: str | None


class FeedPlayback(BaseModel):
    hls_url: str | None = Field(description="The HLS master playlist (adaptive, lowest rung first)")
    mp4_url: str | None = Field(description="The progressive MP4 (for players without HLS)")
    hls_start_playlist_url: str | None = Field(
        default=None,
        description=(
            "The media playlist of the master's lowest rung, where a player starts: a client may "
            "fetch it (and `hls_start_segment_url`) together with the master instead of after it"
        ),
    )
    hls_start_segment_url: str | None = Field(
        default=None,
        description="The first segment of `hls_start_playlist_url` (null for clips transcoded before it was recorded)",
    )


class FeedCounts(BaseModel):
    views: int
    completes: int
    likes: int
    shares: int


class FeedClip(BaseModel):
    id: uuid.UUID
    caption: str | None
    duration_ms: int | None
    poster_url: str | None
    playback: FeedPlayback
    creator: FeedCreator
    counts: FeedCounts


class FeedReason(BaseModel):
    code: Literal["follow", "similar", "interest", "trending", "explore"]
    text: str = Field(examples=["Because you follow @maya", "Popular in Skincare"])


class FeedItem(BaseModel):
    clip: FeedClip
    tags: list[TagRead] = Field(description="Active product tags with live price, stock and buy action")
    reason: FeedReason


class FeedPage(BaseModel):
    items: list[FeedItem]
    next_cursor: str | None = Field(description="Opaque; pass back as `cursor` for the next page")


class FollowRead(BaseModel):
    creator_id: uuid.UUID
    handle: str
    following: bool
