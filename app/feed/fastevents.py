"""The usual ``POST /v1/events`` batch, checked straight from its JSON bytes.

Nearly every batch an app sends is clean: canonical UUID text, RFC 3339 timestamps with an
offset, clips the feed serves, no follow events, no ``watch_ms``-only view progress, every event
new to the batch and within the accepted time range. ``clean_batch`` takes such a batch from the
bytes to the event writer's input (``PreparedBatch``) without building a model per event, a UUID
object per id or an ``EventRow`` per event: the ids stay text until the database parses them.

It returns ``None`` for anything else, and the route then takes the general path
(``read_event_batch`` → ``service.check_events``), which answers every case, rejected events
included. For a clean batch both paths store the same rows and give the same answer (tested).
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import orjson

from app.config import get_settings
from app.db import utcnow
from app.feed.events import CLIP_EVENTS, EventType
from app.feed.runtime import get_runtime
from app.feed.writer import PreparedBatch, prepare_columns, sqlite_time

# what str(uuid.uuid4()) gives: 8-4-4-4-12 lowercase hex digits
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
# RFC 3339 with an offset (``Z`` or ±hh:mm), at most microseconds: read alike by pydantic and
# ``datetime.fromisoformat``
_AT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)\Z")
_FIELDS = frozenset(("event_id", "type", "at", "clip_id", "watch_ms", "progress"))
_KINDS = {kind.value: kind for kind in CLIP_EVENTS}
_VIEW_PROGRESS = EventType.view_progress
_MAX_WATCH_MS = 24 * 3600 * 1000
_MAX_EVENTS = 500


class CleanRow(NamedTuple):
    """What the engine reads of a stored event (the writer hands new rows to it)."""

    user_id: uuid.UUID
    type: str
    clip_id: uuid.UUID
    creator_id: None
    progress: float | None
    client_at: datetime


class CleanBatch(NamedTuple):
    event_ids: list[str]  # as sent (canonical text: what the answer lists for duplicates)
    prepared: PreparedBatch

    def answer(self, stored: list[bool]) -> bytes:
        """The reply body, as ``EventBatchResult`` (no rejections: a clean batch has none)."""
        duplicates = [
            {"index": index, "event_id": event_id, "status": "duplicate", "code": None, "reason": None}
            for index, (event_id, new) in enumerate(zip(self.event_ids, stored, strict=True))
            if not new
        ]
        return orjson.dumps(
            {
                "accepted": len(stored) - len(duplicates),
                "duplicates": len(duplicates),
                "rejected": 0,
                "results": duplicates,
            }
        )


def _stored_time(text: str, at: datetime) -> str:
    """``at`` as SQLite stores it (``sqlite_time``): from the request's text when that is UTC
    (formatting a datetime costs several times more)."""
    if text[-1] == "Z" or text.endswith("+00:00"):
        stop = len(text) - (1 if text[-1] == "Z" else 6)
        return f"{text[:10]} {text[11:19]}.{text[20:stop]:0<6}"
    return sqlite_time(at)


def clean_batch(user_id: uuid.UUID, body: bytes, now: datetime | None = None) -> CleanBatch | None:
    """The batch ready for the event writer, or ``None``: not a clean batch (see the module)."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if type(document) is not dict or len(document) != 1:
        return None
    events = document.get("events")
    if type(events) is not list or not 1 <= len(events) <= _MAX_EVENTS:
        return None
    runtime = get_runtime()
    if not runtime.loaded:
        return None
    clip_key = runtime.served_clip_by_text
    now = now or utcnow()
    settings = get_settings()
    earliest = now - timedelta(seconds=settings.feed_event_max_skew_seconds)
    latest = now + timedelta(minutes=5)
    user_hex = user_id.hex
    event_ids: list[str] = []
    event_hex: list[str] = []
    kinds: list[str] = []
    clip_hex: list[str | None] = []
    watch: list[int | None] = []
    progresses: list[float | None] = []
    times: list[datetime] = []
    sqlite = settings.is_sqlite
    sqlite_at: list[str] = []  # SQLite only: client_at as stored
    rows: list[CleanRow] = []
    seen: set[str] = set()
    for event in events:
        if type(event) is not dict or not event.keys() <= _FIELDS:
            return None
        event_id, kind_text, at_text = event.get("event_id"), event.get("type"), event.get("at")
        clip_text = event.get("clip_id")
        if (
            type(event_id) is not str
            or type(kind_text) is not str
            or type(at_text) is not str
            or type(clip_text) is not str
            or event_id in seen
            or not _UUID.match(event_id)
            or not _AT.match(at_text)
        ):
            return None
        kind = _KINDS.get(kind_text)
        clip = clip_key(clip_text)
        if kind is None or clip is None:
            return None  # a follow event, an unknown kind or a clip the engine does not serve
        at = datetime.fromisoformat(at_text)
        if not earliest <= at <= latest:
            return None
        watch_ms = event.get("watch_ms")
        if watch_ms is not None and (type(watch_ms) is not int or not 0 <= watch_ms <= _MAX_WATCH_MS):
            return None
        progress: Any = event.get("progress")
        if progress is not None:
            if (type(progress) is not float and type(progress) is not int) or not 0.0 <= progress <= 1.0:
                return None
            progress = float(progress)
        elif kind is _VIEW_PROGRESS:
            return None  # from watch_ms and the clip's duration (a read), or an error
        seen.add(event_id)
        event_ids.append(event_id)
        event_hex.append(event_id.replace("-", ""))
        kinds.append(kind_text)
        clip_hex.append(clip_text.replace("-", ""))
        watch.append(watch_ms)
        progresses.append(progress)
        times.append(at)
        if sqlite:
            sqlite_at.append(_stored_time(at_text, at))
        rows.append(CleanRow(user_id, kind_text, clip, None, progress, at))
    n = len(rows)
    prepared = prepare_columns(
        rows,
        [user_hex] * n,
        event_hex,
        kinds,
        clip_hex,
        [None] * n,
        watch,
        progresses,
        times,
        [now] * n,
        sqlite_at if sqlite else None,
    )
    return CleanBatch(event_ids, prepared)
