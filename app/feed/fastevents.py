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
from typing import Any, NamedTuple, cast

import orjson

from app.config import get_settings
from app.db import utcnow
from app.feed.engine import EngineEvent
from app.feed.events import CLIP_EVENTS, SERVER_ONLY, EventType
from app.feed.runtime import get_runtime
from app.feed.writer import EventContext, PreparedBatch, prepare_columns, sqlite_time

# what str(uuid.uuid4()) gives: 8-4-4-4-12 lowercase hex digits; a column of them, one a line
_UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_UUIDS = re.compile(f"(?:{_UUID}\n)*{_UUID}\\Z")
# RFC 3339 with an offset (``Z`` or ±hh:mm), at most microseconds: read alike by pydantic and
# ``datetime.fromisoformat``
_AT = "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\\.[0-9]{1,6})?(?:Z|[+-][0-9]{2}:[0-9]{2})"
_ATS = re.compile(f"(?:{_AT}\n)*{_AT}\\Z")
_FIELDS = frozenset(("event_id", "type", "at", "clip_id", "watch_ms", "progress"))
_KINDS = {kind.value: kind for kind in CLIP_EVENTS - SERVER_ONLY}
_VIEW_PROGRESS = EventType.view_progress
_MAX_WATCH_MS = 24 * 3600 * 1000
_MAX_EVENTS = 500


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
    if text[-1] == "Z":
        fraction = text[20:-1]
    elif text.endswith("+00:00"):
        fraction = text[20:-6]
    else:
        return sqlite_time(at)
    return text[:10] + " " + text[11:19] + "." + fraction + "000000"[len(fraction) :]


def clean_batch(
    user_id: uuid.UUID, body: bytes, now: datetime | None = None, context: EventContext | None = None
) -> CleanBatch | None:
    """The batch ready for the event writer, or ``None``: not a clean batch (see the module).

    Column by column: each check is one comprehension or one regular expression over the whole
    column, not a few Python steps per event."""
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
    if not all(type(e) is dict and e.keys() <= _FIELDS for e in events):
        return None
    event_ids = [e.get("event_id") for e in events]
    at_texts = [e.get("at") for e in events]
    clip_texts = [e.get("clip_id") for e in events]
    try:  # (join: a TypeError when one of them is not a string)
        columns = ("\n".join(event_ids), "\n".join(clip_texts), "\n".join(at_texts))
        if not (
            _UUIDS.match(columns[0])
            and _UUIDS.match(columns[1])
            and _ATS.match(columns[2])
            # one value a line: no value may bring a line break of its own
            and all(column.count("\n") == len(events) - 1 for column in columns)
        ):
            return None
        kinds = [_KINDS.get(e.get("type")) for e in events]  # (a TypeError: not hashable)
    except TypeError:
        return None
    n = len(events)
    if None in kinds or len(set(event_ids)) != n:
        return None  # a follow event or an unknown kind; an event id twice
    types = cast(list[EventType], kinds)
    clip_key = runtime.served_clip_by_text
    clips = [clip_key(text) for text in clip_texts]
    if None in clips:
        return None  # a clip the engine does not serve
    try:
        times = [datetime.fromisoformat(text) for text in at_texts]
    except ValueError:  # the right shape, not a date (a 13th month, say)
        return None
    now = now or utcnow()
    settings = get_settings()
    if min(times) < now - timedelta(seconds=settings.feed_event_max_skew_seconds) or max(
        times
    ) > now + timedelta(minutes=5):
        return None
    watch = [e.get("watch_ms") for e in events]
    if any(w is not None and (type(w) is not int or not 0 <= w <= _MAX_WATCH_MS) for w in watch):
        return None
    progresses: list[Any] = [e.get("progress") for e in events]
    if any(p is not None for p in progresses):
        if any(p is not None and (type(p) not in (float, int) or not 0.0 <= p <= 1.0) for p in progresses):
            return None
        progresses = [None if p is None else float(p) for p in progresses]
    if _VIEW_PROGRESS in types and any(
        k is _VIEW_PROGRESS and p is None for k, p in zip(types, progresses, strict=True)
    ):
        return None  # from watch_ms and the clip's duration (a read), or an error
    rows: list[EngineEvent] = [
        (user_id, kind, clip, at.timestamp(), progress or 0.0, None)
        for kind, clip, at, progress in zip(types, clips, times, progresses, strict=True)
    ]
    prepared = prepare_columns(
        rows,
        [user_id.hex] * n,
        [text.replace("-", "") for text in event_ids],
        [kind.value for kind in types],
        [text.replace("-", "") for text in clip_texts],
        [None] * n,
        watch,
        progresses,
        times,
        [now] * n,
        [_stored_time(text, at) for text, at in zip(at_texts, times, strict=True)]
        if settings.is_sqlite
        else None,
        context,
    )
    return CleanBatch(event_ids, prepared)
