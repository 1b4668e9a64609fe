"""Events in (write fast, aggregate after), follows, and the counters derived from events.

Write path of ``POST /v1/events``: validate each event, bulk-insert the valid ones with
``ON CONFLICT (user_id, event_id) DO NOTHING RETURNING`` (a replayed event is reported as a
duplicate and changes nothing), commit. Aggregation is separate and exactly-once: the aggregator
takes unaggregated events (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), folds them into
``clip_stat`` / ``clip_like`` / ``creator_follow`` and flags them aggregated in the same
transaction, so counters never drift whatever the retries. Each API process's ranking engine
tails the same log (``app.feed.runtime``).
"""

from __future__ import annotations

import threading
import uuid
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import bindparam, delete, func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.accounts import service as accounts_service
from app.config import get_settings
from app.db import is_postgres, session_scope, utcnow
from app.errors import Unprocessable
from app.feed import sources
from app.feed.events import CLIP_EVENTS, EventType
from app.feed.models import ClipLike, ClipStat, CreatorFollow, FeedEvent
from app.feed.schemas import EventBatchResult, EventIn, EventResult

# event type -> clip_stat column it increments
COUNTER_COLUMN: dict[EventType, str] = {
    EventType.impression: "impressions",
    EventType.view_progress: "views",
    EventType.complete: "completes",
    EventType.replay: "replays",
    EventType.skip: "skips",
    EventType.share: "shares",
    EventType.product_tap: "product_taps",
    EventType.add_to_cart: "add_to_carts",
    EventType.purchase: "purchases",
}


def _reject(index: int, raw: Any, code: str, reason: str) -> EventResult:
    event_id = raw.get("event_id") if isinstance(raw, dict) else getattr(raw, "event_id", None)
    return EventResult(
        index=index,
        event_id=str(event_id) if event_id is not None else None,
        status="rejected",
        code=code,
        reason=reason,
    )


def _validation_reason(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "event"
    return f"{where}: {first.get('msg', 'invalid')}"


# SQLite has one writer at a time: the event writers (and the aggregator) of a process queue on
# this lock instead of on SQLite's busy handler, whose sleeps (up to 100 ms) made 32 concurrent
# batches wait far longer than the writes themselves take. On PostgreSQL a few writers at a time
# keep within the connection pool (an overflow connection is opened and closed per checkout) and
# leave the database's CPU to the writes rather than to dozens of competing backends.
_sqlite_writer = threading.Lock()
_pg_writers = threading.BoundedSemaphore(8)


def writer_lock() -> AbstractContextManager[Any]:
    return _sqlite_writer if get_settings().is_sqlite else _pg_writers


def store_events(user_id: uuid.UUID, raw_events: list[Any]) -> tuple[EventBatchResult, list[dict[str, Any]]]:
    """``ingest_events`` in its own short transaction (committed before returning)."""
    with writer_lock(), session_scope() as session:
        return ingest_events(session, user_id, raw_events)


def ingest_events(
    session: Session, user_id: uuid.UUID, raw_events: list[Any]
) -> tuple[EventBatchResult, list[dict[str, Any]]]:
    """Validate and store a batch. Returns the result and the rows actually inserted."""
    settings = get_settings()
    now = utcnow()
    skew = timedelta(seconds=settings.feed_event_max_skew_seconds)
    results: list[EventResult] = []
    parsed: list[tuple[int, EventIn]] = []
    seen_ids: set[uuid.UUID] = set()
    for index, raw in enumerate(raw_events):
        if isinstance(raw, EventIn):
            event = raw
        elif not isinstance(raw, dict):
            results.append(_reject(index, raw, "invalid_event", "an event must be a JSON object"))
            continue
        else:
            try:
                event = EventIn.model_validate(raw)
            except ValidationError as exc:
                results.append(_reject(index, raw, "invalid_event", _validation_reason(exc)))
                continue
        at = event.at if event.at.tzinfo else event.at.replace(tzinfo=UTC)
        if not now - skew <= at <= now + timedelta(minutes=5):
            results.append(
                _reject(index, event, "timestamp_out_of_range", "at: client timestamp is too far from now")
            )
            continue
        event.at = at
        if event.type in CLIP_EVENTS and event.clip_id is None:
            results.append(
                _reject(index, event, "clip_required", f"clip_id: required for {event.type.value}")
            )
            continue
        if (
            event.type in (EventType.follow, EventType.unfollow)
            and event.creator_id is None
            and event.clip_id is None
        ):
            results.append(
                _reject(index, event, "creator_required", "creator_id: required for follow/unfollow")
            )
            continue
        if event.type is EventType.view_progress and event.progress is None and event.watch_ms is None:
            results.append(
                _reject(index, event, "progress_required", "progress or watch_ms: required for view_progress")
            )
            continue
        if event.event_id in seen_ids:
            results.append(EventResult(index=index, event_id=str(event.event_id), status="duplicate"))
            continue
        seen_ids.add(event.event_id)
        parsed.append((index, event))
    # referenced clips and creators must exist (one query each)
    clip_ids = {e.clip_id for _, e in parsed if e.clip_id is not None}
    creators_of = _clip_creators(session, clip_ids)
    creator_ids = {e.creator_id for _, e in parsed if e.creator_id is not None}
    known_creators = (
        set(accounts_service.get_creator_profiles(session, list(creator_ids))) if creator_ids else set()
    )
    rows: list[dict[str, Any]] = []
    row_index: dict[uuid.UUID, int] = {}
    for index, e in parsed:
        if e.clip_id is not None and e.clip_id not in creators_of:
            results.append(_reject(index, e, "unknown_clip", "clip_id: no such clip"))
            continue
        creator = e.creator_id
        if e.type in (EventType.follow, EventType.unfollow):
            if creator is None:
                creator = creators_of.get(e.clip_id) if e.clip_id else None
            elif creator not in known_creators:
                results.append(_reject(index, e, "unknown_creator", "creator_id: no such creator"))
                continue
        progress = e.progress
        if e.type is EventType.view_progress and progress is None and e.watch_ms is not None:
            progress = sources.progress_of(session, e.clip_id, e.watch_ms) if e.clip_id else None
        rows.append(
            {
                "user_id": user_id,
                "event_id": e.event_id,
                "type": e.type.value,
                "clip_id": e.clip_id,
                "creator_id": creator,
                "watch_ms": e.watch_ms,
                "progress": progress,
                "client_at": e.at,
                "received_at": now,
                "aggregated": False,
            }
        )
        row_index[e.event_id] = index
    inserted: list[dict[str, Any]] = []
    if rows:
        # One multi-row INSERT .. ON CONFLICT DO NOTHING RETURNING (SQLAlchemy's insertmanyvalues):
        # the ids it returns are the new events; the others were already stored (a replay). On
        # PostgreSQL a concurrent replay of the same batch may make both replies say "accepted";
        # the log, and so every counter, holds each event once.
        stmt = _insert_ignore(session).returning(FeedEvent.event_id)
        new_ids = set(session.connection().execute(stmt, rows).scalars())
        for row in rows:
            if row["event_id"] in new_ids:
                inserted.append(row)
            else:
                results.append(
                    EventResult(
                        index=row_index[row["event_id"]], event_id=str(row["event_id"]), status="duplicate"
                    )
                )
    results.sort(key=lambda r: r.index)
    duplicates = sum(1 for r in results if r.status == "duplicate")
    rejected = sum(1 for r in results if r.status == "rejected")
    return EventBatchResult(
        accepted=len(inserted), duplicates=duplicates, rejected=rejected, results=results
    ), inserted


def _clip_creators(session: Session, clip_ids: set[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """Servable clips -> creator, from the in-memory engine when it knows them (no query)."""
    from app.feed.runtime import known_clip_creators

    found = known_clip_creators(clip_ids)
    missing = clip_ids - found.keys()
    if missing:
        found.update(sources.clip_creators(session, missing))
    return found


def _insert_ignore(session: Session) -> Any:
    dialect = postgresql if is_postgres(session) else sqlite
    return dialect.insert(FeedEvent).on_conflict_do_nothing(index_elements=["user_id", "event_id"])


def _counters_upsert(source: str, selection: str) -> Any:
    """One set-based statement: per clip, the counter increments of the selected events, added
    to ``clip_stat`` (row created when missing). Runs inside the database, not in Python."""
    columns = [*COUNTER_COLUMN.values(), "watch_ms"]
    sums = [f"SUM(CASE WHEN type = '{kind.value}' THEN 1 ELSE 0 END)" for kind in COUNTER_COLUMN] + [
        "COALESCE(SUM(watch_ms), 0)"
    ]
    kinds = ", ".join(f"'{kind.value}'" for kind in COUNTER_COLUMN)
    return text(
        f"INSERT INTO clip_stat (clip_id, {', '.join(columns)}, updated_at) "
        f"SELECT clip_id, {', '.join(sums)}, :now FROM {source} "
        f"WHERE {selection} AND clip_id IS NOT NULL AND type IN ({kinds}) GROUP BY clip_id "
        "ON CONFLICT (clip_id) DO UPDATE SET "
        + ", ".join(f"{c} = clip_stat.{c} + excluded.{c}" for c in columns)
        + ", updated_at = excluded.updated_at"
    ).bindparams(bindparam("now", type_=ClipStat.__table__.c.updated_at.type))


def _last_of_pairs(
    source: str, selection: str, kinds: tuple[EventType, EventType], other: str, on: EventType
) -> str:
    """The (user, other) pairs whose last selected event of ``kinds`` (log order) is ``on``."""
    pair_filter = f"{other} IS NOT NULL" + (" AND creator_id != user_id" if other == "creator_id" else "")
    last = (
        f"SELECT max(id) FROM {source} WHERE {selection} AND type IN ('{kinds[0].value}', '{kinds[1].value}') "
        f"AND {pair_filter} GROUP BY user_id, {other}"
    )
    return (
        f"SELECT f.user_id, f.{other} FROM feed_event AS f WHERE f.id IN ({last}) AND f.type = '{on.value}'"
    )


def _apply_pairs_sql(
    session: Session,
    table: str,
    other: str,
    kinds: tuple[EventType, EventType],
    source: str,
    selection: str,
    params: dict[str, Any],
    now: datetime,
) -> None:
    """Set or clear the (user, other) rows of a like/follow table: the last event of each pair
    (in log order) wins. Two statements, whatever the number of events."""
    on, off = kinds
    when = bindparam("now", type_=ClipLike.__table__.c.created_at.type)
    session.execute(
        text(
            f"INSERT INTO {table} (user_id, {other}, created_at) "
            f"SELECT p.user_id, p.{other}, :now FROM ({_last_of_pairs(source, selection, kinds, other, on)}) AS p "
            f"WHERE true ON CONFLICT (user_id, {other}) DO NOTHING"
        ).bindparams(when),
        {**params, "now": now},
    )
    session.execute(
        text(
            f"DELETE FROM {table} WHERE (user_id, {other}) IN "
            f"({_last_of_pairs(source, selection, kinds, other, off)})"
        ),
        params,
    )


_LIKES = (EventType.like, EventType.unlike)
_FOLLOWS = (EventType.follow, EventType.unfollow)


# PostgreSQL advisory lock the aggregators of every process take turns on (an arbitrary constant)
AGGREGATOR_LOCK_KEY = 0x636C6970_61676772


def aggregate_pending(session: Session, limit: int = 50_000) -> int:
    """Fold unaggregated events into counters, likes and follows; exactly once. Returns how many.

    Everything is set-based, inside the database, in one transaction: the counters are one
    ``INSERT .. SELECT .. GROUP BY .. ON CONFLICT DO UPDATE`` over the selected events; likes and
    follows (the last event of each (user, clip) / (user, creator) pair wins) two statements each,
    when the selection has any; the like counters of the clips concerned are recounted from
    ``clip_like`` (exact whatever the order of like/unlike); the events are flagged aggregated.

    Aggregators take turns, so slices are folded in log order (with concurrent slices, an unlike
    could be applied before the like it follows and leave the like standing): on PostgreSQL
    behind a transaction-level advisory lock, then the selection is the pending ids, locked
    ``FOR UPDATE``; on SQLite the transaction holds the write lock, so "pending and id <= the last
    selected id" is the same set in every statement."""
    pending = select(FeedEvent.id).where(text("NOT feed_event.aggregated")).order_by(FeedEvent.id)
    pg = is_postgres(session)
    params: dict[str, Any]
    if pg:
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AGGREGATOR_LOCK_KEY})
        ids = list(session.scalars(pending.limit(limit).with_for_update(skip_locked=True)))
        if not ids:
            return 0
        selection, params, count = "id = ANY(:ids)", {"ids": ids}, len(ids)
    else:
        last = session.scalar(pending.offset(limit - 1).limit(1))
        if last is None:
            last = session.scalar(select(func.max(FeedEvent.id)).where(text("NOT feed_event.aggregated")))
            if last is None:
                return 0
        selection, params = "NOT aggregated AND id <= :hi", {"hi": last}
        count = 0
    now = utcnow()
    # SQLite: without the hint the planner walks the primary key (for id <= :hi) over the whole
    # log instead of the pending events
    source = "feed_event" if pg else "feed_event INDEXED BY ix_feed_event_pending"
    pair_kinds = ", ".join(f"'{t.value}'" for t in (*_LIKES, *_FOLLOWS))
    present = set(
        session.scalars(
            text(f"SELECT DISTINCT type FROM {source} WHERE {selection} AND type IN ({pair_kinds})"), params
        )
    )
    session.execute(_counters_upsert(source, selection), {**params, "now": now})
    if present & {t.value for t in _LIKES}:
        _apply_pairs_sql(session, "clip_like", "clip_id", _LIKES, source, selection, params, now)
        like_kinds = ", ".join(f"'{t.value}'" for t in _LIKES)
        session.execute(
            text(
                "INSERT INTO clip_stat (clip_id, likes, updated_at) "
                "SELECT t.clip_id, (SELECT count(*) FROM clip_like AS l WHERE l.clip_id = t.clip_id), :now "
                f"FROM (SELECT DISTINCT clip_id FROM {source} WHERE {selection} AND type IN ({like_kinds}) "
                "AND clip_id IS NOT NULL) AS t WHERE true "
                "ON CONFLICT (clip_id) DO UPDATE SET likes = excluded.likes, updated_at = excluded.updated_at"
            ).bindparams(bindparam("now", type_=ClipStat.__table__.c.updated_at.type)),
            {**params, "now": now},
        )
    if present & {t.value for t in _FOLLOWS}:
        _apply_pairs_sql(session, "creator_follow", "creator_id", _FOLLOWS, source, selection, params, now)
    marked = session.execute(text(f"UPDATE {source} SET aggregated = true WHERE {selection}"), params)
    session.flush()
    return count or int(getattr(marked, "rowcount", 0) or 0)


def _apply_pairs(
    session: Session,
    model: type[ClipLike] | type[CreatorFollow],
    other: str,
    pairs: dict[tuple[uuid.UUID, uuid.UUID], bool],
) -> None:
    """Set or clear (user, other) rows of a like/follow table: the last event of each pair wins."""
    if not pairs:
        return
    dialect = postgresql if is_postgres(session) else sqlite
    on = [{"user_id": u, other: o, "created_at": utcnow()} for (u, o), v in pairs.items() if v]
    if on:
        session.execute(dialect.insert(model).on_conflict_do_nothing(index_elements=["user_id", other]), on)
    column = getattr(model, other)
    for (u, o), v in pairs.items():
        if not v:
            session.execute(delete(model).where(model.user_id == u, column == o))


def _apply_follows(session: Session, follows: dict[tuple[uuid.UUID, uuid.UUID], bool]) -> None:
    _apply_pairs(session, CreatorFollow, "creator_id", follows)


def all_clip_stats(session: Session) -> list[Any]:
    c = ClipStat
    return list(
        session.execute(
            select(
                c.clip_id,
                c.impressions,
                c.views,
                c.completes,
                c.replays,
                c.likes,
                c.shares,
                c.product_taps,
                c.add_to_carts,
                c.purchases,
            )
        ).all()
    )


def get_clip_stats(session: Session, clip_ids: list[uuid.UUID]) -> dict[uuid.UUID, ClipStat]:
    return {s.clip_id: s for s in session.scalars(select(ClipStat).where(ClipStat.clip_id.in_(clip_ids)))}


# ---------------------------------------------------------------------------- follows


def record_follow(session: Session, user_id: uuid.UUID, handle: str, following: bool) -> uuid.UUID:
    """Follow/unfollow by handle: written as an event (so the engine learns it) and applied to
    ``creator_follow`` by the aggregator; applied here at once too so the answer is immediate."""
    profile = accounts_service.get_creator_by_handle(session, handle)
    if profile.user_id == user_id:
        raise Unprocessable("You cannot follow yourself", code="cannot_follow_self")
    kind = EventType.follow if following else EventType.unfollow
    session.execute(
        insert(FeedEvent).values(
            user_id=user_id,
            event_id=uuid.uuid4(),
            type=kind.value,
            creator_id=profile.user_id,
            client_at=utcnow(),
            received_at=utcnow(),
            aggregated=True,
        )
    )
    _apply_follows(session, {(user_id, profile.user_id): following})
    session.flush()
    return profile.user_id


def last_event_id(session: Session) -> int | None:
    return session.scalar(select(func.max(FeedEvent.id)))


_EVENT_COLUMNS = (
    FeedEvent.id,
    FeedEvent.user_id,
    FeedEvent.type,
    FeedEvent.clip_id,
    FeedEvent.creator_id,
    FeedEvent.progress,
    FeedEvent.client_at,
)


def recent_events(session: Session, after_id: int, limit: int) -> list[Any]:
    """Events after ``after_id``, in log order (what a process's engine has not applied yet)."""
    query = select(*_EVENT_COLUMNS).where(FeedEvent.id > after_id).order_by(FeedEvent.id).limit(limit)
    return list(session.execute(query).all())


def events_by_ids(session: Session, ids: list[int]) -> list[Any]:
    return list(session.execute(select(*_EVENT_COLUMNS).where(FeedEvent.id.in_(ids))).all())


def as_timestamp(value: datetime) -> float:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
