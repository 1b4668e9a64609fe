"""Events in (write fast, aggregate after), follows, and the counters derived from events.

Write path of ``POST /v1/events``: check each event (``check_events``: no I/O when the engine
knows the clips), then hand the valid ones to the process's event writer (``app.feed.writer``),
which commits every batch queued meanwhile in one transaction and says which events were new (a
replayed event is reported as a duplicate and changes nothing). Aggregation is separate and
exactly-once: the aggregator takes unaggregated events (runs take turns), folds them into
``clip_stat`` / ``clip_like`` / ``creator_follow`` and flags them aggregated in the same
transaction, so counters never drift whatever the retries. Each API process's ranking engine
tails the same log (``app.feed.runtime``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import orjson
from pydantic import ValidationError
from sqlalchemy import bindparam, delete, func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.accounts import service as accounts_service
from app.config import get_settings
from app.db import is_postgres, utcnow
from app.errors import Unprocessable
from app.feed import sources
from app.feed.events import CLIP_EVENTS, SERVER_ONLY, EventType
from app.feed.models import ClipLike, ClipStat, CreatorFollow, FeedEvent, FeedEventRetraction
from app.feed.schemas import EventBatchResult, EventIn, EventResult
from app.feed.writer import NO_CONTEXT, EventContext, EventRow, get_writer
from app.feed.writer import writer_lock as writer_lock  # the aggregator takes it too

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


def store_events(user_id: uuid.UUID, raw_events: list[Any]) -> EventBatchResult:
    """Check, store (through the process's event writer) and answer a batch; the events are
    committed when this returns. ``POST /v1/events`` runs the same steps without blocking."""
    batch = check_events(user_id, raw_events)
    if batch.needs_database:
        resolve_with_database(batch)
    return batch.result(get_writer().write(batch.rows()))


def resolve_with_database(batch: PendingBatch) -> None:
    """Answer the references of a batch the in-memory engine could not (a read of its own)."""
    from app.feed.runtime import read_session

    with read_session() as session:
        batch.resolve_with_database(session)


class PendingBatch:
    """One batch of events on its way in.

    ``check_events`` does every check that needs no I/O (each event against ``EventIn``, the
    client timestamp, the fields each kind requires, event ids repeated within the batch) and
    resolves the referenced clips from the engine's in-memory index. What the engine cannot
    answer (a clip it does not serve, a creator id, a clip's duration for ``watch_ms``) takes a
    read (``needs_database``, ``resolve_with_database``). ``rows()`` are then handed to the event
    writer, and ``result()`` turns its answer (stored now / already stored) into the reply."""

    def __init__(self, user_id: uuid.UUID, now: datetime, context: EventContext | None = None) -> None:
        self.user_id = user_id
        self.now = now
        self.context = context
        self.results: list[EventResult] = []
        self.parsed: list[tuple[int, EventIn]] = []
        self.creators_of: dict[uuid.UUID, uuid.UUID] = {}
        self.missing_clips: set[uuid.UUID] = set()
        self.creator_ids: set[uuid.UUID] = set()
        self.known_creators: set[uuid.UUID] = set()
        self.durations: dict[uuid.UUID, int | None] = {}
        self._row_index: list[int] = []
        self._rows: list[EventRow] | None = None

    @property
    def needs_database(self) -> bool:
        return bool(self.missing_clips or self.creator_ids or self.durations)

    def resolve_with_database(self, session: Session) -> None:
        if self.missing_clips:
            self.creators_of.update(sources.clip_creators(session, self.missing_clips))
            self.missing_clips = set()
        if self.creator_ids:
            self.known_creators = set(accounts_service.get_creator_profiles(session, list(self.creator_ids)))
            self.creator_ids = set()
        if self.durations:
            self.durations = sources.clip_durations(session, list(self.durations))
        session.rollback()

    def rows(self) -> list[EventRow]:
        """The events to store (call once the references are resolved)."""
        if self._rows is not None:
            return self._rows
        rows: list[EventRow] = []
        row_index = self._row_index
        creators_of, user_id, now, context = self.creators_of, self.user_id, self.now, self.context
        for index, e in self.parsed:
            clip_id = e.clip_id
            if clip_id is not None and clip_id not in creators_of:
                self.results.append(_reject(index, e, "unknown_clip", "clip_id: no such clip"))
                continue
            creator = e.creator_id
            kind = e.type
            progress = e.progress
            if kind in _FOLLOW_KINDS:
                if creator is None:
                    creator = creators_of.get(clip_id) if clip_id else None
                elif creator not in self.known_creators:
                    self.results.append(_reject(index, e, "unknown_creator", "creator_id: no such creator"))
                    continue
            elif progress is None and kind is _VIEW_PROGRESS and e.watch_ms is not None and clip_id:
                duration = self.durations.get(clip_id)
                progress = min(1.0, e.watch_ms / duration) if duration else None
            rows.append(
                EventRow(
                    user_id,
                    e.event_id,
                    _KIND_TEXT[kind],
                    clip_id,
                    creator,
                    e.watch_ms,
                    progress,
                    e.at,
                    now,
                    context,
                )
            )
            row_index.append(index)
        self._rows = rows
        return rows

    def share_views(self, stored: list[bool]) -> list[tuple[str, uuid.UUID, uuid.UUID]]:
        """(share code, viewer, clip) of the new watch events that came through a share link."""
        coded = {index: e for index, e in self.parsed if e.share_code}
        if not coded:
            return []
        out = []
        for row, index, new in zip(self.rows(), self._row_index, stored, strict=True):
            e = coded.get(index)
            if new and e is not None and e.share_code and e.type in _SHARE_VIEWS and row.clip_id is not None:
                out.append((e.share_code, self.user_id, row.clip_id))
        return out

    def result(self, stored: list[bool]) -> EventBatchResult:
        """The reply, given for each row whether it was stored now (else: already stored)."""
        results = self.results
        rows = self.rows()
        accepted = 0
        for row, index, new in zip(rows, self._row_index, stored, strict=True):
            if new:
                accepted += 1
            else:
                results.append(EventResult(index=index, event_id=str(row.event_id), status="duplicate"))
        if results:
            results.sort(key=lambda r: r.index)
        duplicates = sum(1 for r in results if r.status == "duplicate")
        return EventBatchResult(
            accepted=accepted, duplicates=duplicates, rejected=len(results) - duplicates, results=results
        )


_FOLLOW_KINDS = frozenset((EventType.follow, EventType.unfollow))
_SHARE_VIEWS = frozenset(
    (EventType.impression, EventType.view_progress, EventType.complete, EventType.replay)
)
_VIEW_PROGRESS = EventType.view_progress
_KIND_TEXT = {kind: kind.value for kind in EventType}


def check_events(
    user_id: uuid.UUID,
    raw_events: list[Any],
    now: datetime | None = None,
    context: EventContext | None = None,
) -> PendingBatch:
    """The checks of a batch that need no I/O; see ``PendingBatch``. An item is an ``EventIn``
    (already validated) or the raw JSON value, validated here."""
    from app.feed.runtime import known_clip_creators

    settings = get_settings()
    now = now or utcnow()
    batch = PendingBatch(user_id, now, context)
    results = batch.results
    parsed = batch.parsed
    earliest = now - timedelta(seconds=settings.feed_event_max_skew_seconds)
    latest = now + timedelta(minutes=5)
    seen_ids: set[int] = set()  # UUID.int: hashed in C (a UUID hashes in Python)
    clip_ids: set[uuid.UUID] = set()
    for index, raw in enumerate(raw_events):
        if type(raw) is EventIn:
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
        at = event.at
        if at.tzinfo is None:
            at = event.at = at.replace(tzinfo=UTC)
        if not earliest <= at <= latest:
            results.append(
                _reject(index, event, "timestamp_out_of_range", "at: client timestamp is too far from now")
            )
            continue
        kind = event.type
        clip_id = event.clip_id
        if kind in SERVER_ONLY:
            results.append(
                _reject(index, event, "invalid_event", f"type: {kind.value} events come from the service")
            )
            continue
        if clip_id is None:
            if kind in CLIP_EVENTS:
                results.append(_reject(index, event, "clip_required", f"clip_id: required for {kind.value}"))
                continue
            if event.creator_id is None:
                results.append(
                    _reject(index, event, "creator_required", "creator_id: required for follow/unfollow")
                )
                continue
        if kind is _VIEW_PROGRESS and event.progress is None and event.watch_ms is None:
            results.append(
                _reject(index, event, "progress_required", "progress or watch_ms: required for view_progress")
            )
            continue
        event_key = event.event_id.int
        if event_key in seen_ids:
            results.append(EventResult(index=index, event_id=str(event.event_id), status="duplicate"))
            continue
        seen_ids.add(event_key)
        parsed.append((index, event))
        if clip_id is not None:
            clip_ids.add(clip_id)
            if kind is _VIEW_PROGRESS and event.progress is None:
                batch.durations[clip_id] = None  # watch_ms only: the clip's duration makes it a fraction
        if kind in _FOLLOW_KINDS and event.creator_id is not None:
            batch.creator_ids.add(event.creator_id)
    # referenced clips: the engine's index knows the clips it serves; others take a query
    batch.creators_of = known_clip_creators(clip_ids)
    batch.missing_clips = clip_ids - batch.creators_of.keys()
    return batch


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
    present: set[str],
) -> None:
    """Set or clear the (user, other) rows of a like/follow table: the last event of each pair
    (in log order) wins. A statement for each of the two kinds ``present`` in the selection,
    whatever the number of events."""
    on, off = kinds
    if on.value in present:
        session.execute(
            text(
                f"INSERT INTO {table} (user_id, {other}, created_at) "
                f"SELECT p.user_id, p.{other}, :now FROM ({_last_of_pairs(source, selection, kinds, other, on)}) "
                f"AS p WHERE true ON CONFLICT (user_id, {other}) DO NOTHING"
            ).bindparams(bindparam("now", type_=ClipLike.__table__.c.created_at.type)),
            {**params, "now": now},
        )
    if off.value in present:
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


AGGREGATOR_WORK_MEM = "64MB"  # PostgreSQL memory per sort or hash in an aggregation run


def aggregate_pending(session: Session, limit: int = 50_000) -> int:
    """Fold unaggregated events into counters, likes and follows; exactly once. Returns how many.

    Everything is set-based, inside the database, in one transaction: the counters are one
    ``INSERT .. SELECT .. GROUP BY .. ON CONFLICT DO UPDATE`` over the selected events; likes and
    follows (the last event of each (user, clip) / (user, creator) pair wins) a statement per kind
    the selection has; the like counters of the clips concerned are recounted from
    ``clip_like`` (exact whatever the order of like/unlike); the events are flagged aggregated.

    Aggregators take turns, so slices are folded in log order (with concurrent slices, an unlike
    could be applied before the like it follows and leave the like standing): on PostgreSQL
    behind a transaction-level advisory lock, then the selection is the pending ids, locked
    ``FOR UPDATE`` and kept in a temporary table; on SQLite the transaction holds the write lock, so "pending and id <= the last
    selected id" is the same set in every statement."""
    _load_slice_consumers()
    pending = select(FeedEvent.id).where(text("NOT feed_event.aggregated")).order_by(FeedEvent.id)
    pg = is_postgres(session)
    params: dict[str, Any]
    if pg:
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AGGREGATOR_LOCK_KEY})
        # The slice's groupings (tens of thousands of events, and the analytics fold's events x
        # entities) then sort and hash in memory instead of spilling to disk at the default 4 MB:
        # the analytics fold went from 9,700 to 13,200 events/s (bench/README.md).
        session.execute(text(f"SET LOCAL work_mem = '{AGGREGATOR_WORK_MEM}'"))
        # the slice's ids stay in the database (a temporary table emptied at commit) rather than
        # going to Python and back with every statement
        session.execute(
            text(
                "CREATE TEMPORARY TABLE IF NOT EXISTS feed_aggregate_slice (id bigint) ON COMMIT DELETE ROWS"
            )
        )
        count = (
            session.connection()
            .execute(
                text(
                    "INSERT INTO feed_aggregate_slice SELECT id FROM feed_event WHERE NOT aggregated "
                    "ORDER BY id LIMIT :limit FOR UPDATE"
                ),
                {"limit": limit},
            )
            .rowcount
        )
        if not count:
            return 0
        selection, params = "id IN (SELECT id FROM feed_aggregate_slice)", {}
    else:
        last = session.scalar(select(func.max(pending.limit(limit).subquery().c.id)))
        if last is None:
            return 0
        selection, params = "NOT aggregated AND id <= :hi", {"hi": last}
        count = 0
    now = utcnow()
    # SQLite: without the hint the planner walks the primary key (for id <= :hi) over the whole
    # log instead of the pending events
    source = "feed_event" if pg else "feed_event INDEXED BY ix_feed_event_pending"
    pair_kinds = ", ".join(f"'{t.value}'" for t in (*_LIKES, *_FOLLOWS))
    # which of the pair kinds the selection has (one row, whatever the number of events)
    concat = "string_agg(DISTINCT type, ',')" if pg else "group_concat(DISTINCT type)"
    present = set(
        (
            session.scalar(
                text(f"SELECT {concat} FROM {source} WHERE {selection} AND type IN ({pair_kinds})"),
                params,
            )
            or ""
        ).split(",")
    )
    session.execute(_counters_upsert(source, selection), {**params, "now": now})
    if present & {t.value for t in _LIKES}:
        _apply_pairs_sql(session, "clip_like", "clip_id", _LIKES, source, selection, params, now, present)
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
        _apply_pairs_sql(
            session, "creator_follow", "creator_id", _FOLLOWS, source, selection, params, now, present
        )
    for consumer in _slice_consumers:  # other domains fold the same slice, in this transaction
        consumer(session, source, selection, params)
    marked = session.execute(text(f"UPDATE {source} SET aggregated = true WHERE {selection}"), params)
    session.flush()
    return count or int(getattr(marked, "rowcount", 0) or 0)


# Called by every aggregation run with the run's slice of the log, as (session, source, selection,
# params) usable as ``FROM {source} WHERE {selection}``, after the counters and before the events
# are flagged aggregated: a consumer that folds the slice here does so exactly once (same
# transaction, same slice; runs take turns).
SliceConsumer = Callable[[Session, str, str, dict[str, Any]], None]
_slice_consumers: list[SliceConsumer] = []


_consumers_loaded = False


def _load_slice_consumers() -> None:
    """Domains that fold the event log register their consumer in ``app/<domain>/events.py``:
    imported before the first run, so no process aggregates without them."""
    global _consumers_loaded
    if not _consumers_loaded:
        from app.registry import domain_modules

        domain_modules("events")
        _consumers_loaded = True


def on_aggregate(consumer: SliceConsumer) -> SliceConsumer:
    """Register a consumer of every aggregation run's slice (see ``_slice_consumers``)."""
    if consumer not in _slice_consumers:
        _slice_consumers.append(consumer)
    return consumer


def discount_events(session: Session, selection: str, params: dict[str, Any]) -> int:
    """Take events already counted (aggregated, or in the running aggregation's slice) back out of
    the counters, likes and follows, because they were just flagged as inauthentic; each process's
    engine takes them out too (``feed_event_retraction``). ``selection``: a condition on
    ``feed_event`` selecting exactly those events. Returns how many."""
    now = utcnow()
    columns = [*COUNTER_COLUMN.values(), "watch_ms"]
    sums = [f"-SUM(CASE WHEN type = '{kind.value}' THEN 1 ELSE 0 END)" for kind in COUNTER_COLUMN] + [
        "-COALESCE(SUM(watch_ms), 0)"
    ]
    kinds = ", ".join(f"'{kind.value}'" for kind in COUNTER_COLUMN)
    stamp = bindparam("now", type_=ClipStat.__table__.c.updated_at.type)
    session.execute(
        text(
            f"INSERT INTO clip_stat (clip_id, {', '.join(columns)}, updated_at) "
            f"SELECT clip_id, {', '.join(sums)}, :now FROM feed_event "
            f"WHERE ({selection}) AND clip_id IS NOT NULL AND type IN ({kinds}) GROUP BY clip_id "
            "ON CONFLICT (clip_id) DO UPDATE SET "
            + ", ".join(f"{c} = clip_stat.{c} + excluded.{c}" for c in columns)
            + ", updated_at = excluded.updated_at"
        ).bindparams(stamp),
        {**params, "now": now},
    )
    session.execute(
        text(
            "DELETE FROM clip_like WHERE (user_id, clip_id) IN (SELECT user_id, clip_id FROM feed_event "
            f"WHERE ({selection}) AND type = 'like' AND clip_id IS NOT NULL)"
        ),
        params,
    )
    session.execute(
        text(
            "UPDATE clip_stat SET likes = (SELECT count(*) FROM clip_like AS l WHERE l.clip_id = clip_stat.clip_id) "
            f"WHERE clip_id IN (SELECT clip_id FROM feed_event WHERE ({selection}) AND type = 'like')"
        ),
        params,
    )
    session.execute(
        text(
            "DELETE FROM creator_follow WHERE (user_id, creator_id) IN (SELECT user_id, creator_id "
            f"FROM feed_event WHERE ({selection}) AND type = 'follow' AND creator_id IS NOT NULL)"
        ),
        params,
    )
    logged = session.execute(
        text(
            "INSERT INTO feed_event_retraction (event_id, created_at) "
            f"SELECT id, :now FROM feed_event WHERE ({selection}) ORDER BY id"
        ).bindparams(bindparam("now", type_=FeedEventRetraction.__table__.c.created_at.type)),
        {**params, "now": now},
    )
    return int(getattr(logged, "rowcount", 0) or 0)


def retractions_after(session: Session, after: int, limit: int = 50_000) -> list[tuple[int, int]]:
    """(sequence, event id) of the retractions logged after ``after``, in order."""
    r = FeedEventRetraction
    query = select(r.id, r.event_id).where(r.id > after).order_by(r.id).limit(limit)
    return [(a, b) for a, b in session.connection().execute(query)]


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


def record_server_event(
    session: Session,
    user_id: uuid.UUID,
    kind: EventType,
    *,
    clip_id: uuid.UUID | None = None,
    creator_id: uuid.UUID | None = None,
    context: EventContext | None = None,
) -> None:
    """An event the service itself writes for an action taken through its API (a follow, a
    comment), in this transaction: the engine learns it and the aggregator folds it, into the
    feed's state and the analytics rollups (with the sender's context for the authenticity
    checks), exactly like a client's event."""
    now = utcnow()
    context = context or NO_CONTEXT
    session.execute(
        insert(FeedEvent).values(
            user_id=user_id,
            event_id=uuid.uuid4(),
            type=kind.value,
            clip_id=clip_id,
            creator_id=creator_id,
            client_at=now,
            received_at=now,
            aggregated=False,
            device_id=context.device_id,
            client_ip=context.client_ip,
            account_guest=context.account_guest,
            account_created_at=context.account_created_at,
        )
    )


def record_follow(
    session: Session, user_id: uuid.UUID, handle: str, following: bool, context: EventContext | None = None
) -> uuid.UUID:
    """Follow/unfollow by handle: written as an event (so the engine learns it, the analytics
    count it and the authenticity checks see it) and applied to ``creator_follow`` by the
    aggregator; applied here at once too so the answer is immediate (the aggregator's applying it
    again leaves the same state: the last event of a pair wins)."""
    profile = accounts_service.get_creator_by_handle(session, handle)
    if profile.user_id == user_id:
        raise Unprocessable("You cannot follow yourself", code="cannot_follow_self")
    kind = EventType.follow if following else EventType.unfollow
    record_server_event(session, user_id, kind, creator_id=profile.user_id, context=context)
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


_NO_ID_AFTER = 1 << 62  # above every event id


class EventLogRow(NamedTuple):
    id: int
    user_id: uuid.UUID
    type: str
    clip_id: uuid.UUID | None
    creator_id: uuid.UUID | None
    progress: float | None
    client_at: datetime


def recent_events(session: Session, after_id: int, limit: int, before: int | None = None) -> list[Any]:
    """Events after ``after_id`` (and before ``before``), in log order (what a process's engine
    has not applied yet)."""
    if not is_postgres(session):
        return _recent_events_sqlite(session, after_id, limit, before)
    query = select(*_EVENT_COLUMNS).where(FeedEvent.id > after_id)
    if before is not None:
        query = query.where(FeedEvent.id < before)
    query = query.order_by(FeedEvent.id).limit(limit)
    return list(session.connection().execute(query).all())  # Core: no ORM layer per row


class _Converted(dict[Any, Any]):
    """A cache of conversions: a key seen before is a plain dict hit; a new one is converted once."""

    def __init__(self, convert: Callable[[Any], Any]) -> None:
        super().__init__()
        self.convert = convert

    def __missing__(self, key: Any) -> Any:
        value = self[key] = self.convert(key)
        return value


def _recent_events_sqlite(
    session: Session, after_id: int, limit: int, before: int | None
) -> list[EventLogRow]:
    # In one step, as one JSON document: the sqlite3 module releases and retakes the GIL for
    # every row it steps over, and while the request threads are busy each retake waits for
    # another thread's switch interval (tens of thousands of rows a second arrive here). Ids and
    # timestamps come back as stored (hex, UTC wall time); each distinct id is converted once.
    document = (
        session.connection()
        .exec_driver_sql(
            "SELECT json_group_array(json_array(id, user_id, type, clip_id, creator_id, progress, client_at)) "
            "FROM (SELECT id, user_id, type, clip_id, creator_id, progress, client_at FROM feed_event "
            "WHERE id > ? AND id < ? ORDER BY id LIMIT ?)",
            (after_id, _NO_ID_AFTER if before is None else before, limit),
        )
        .scalar()
    )
    # ids and timestamps repeat a lot in a stretch of the log: each distinct text is converted once
    uuids = _Converted(lambda text: uuid.UUID(hex=text))
    uuids[None] = None
    times = _Converted(lambda text: datetime.fromisoformat(text).replace(tzinfo=UTC))
    out = []
    for id_, user_hex, kind, clip_hex, creator_hex, progress, client_at in orjson.loads(document or "[]"):
        out.append(
            EventLogRow(
                id_, uuids[user_hex], kind, uuids[clip_hex], uuids[creator_hex], progress, times[client_at]
            )
        )
    out.sort(key=lambda row: row.id)  # the aggregate's order is the subquery's in practice; made sure
    return out


def events_by_ids(session: Session, ids: list[int]) -> list[Any]:
    return list(session.execute(select(*_EVENT_COLUMNS).where(FeedEvent.id.in_(ids))).all())


def as_timestamp(value: datetime) -> float:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


# ---------------------------------------------------------------------------- creator programme


def is_following(session: Session, user_id: uuid.UUID, creator_id: uuid.UUID) -> bool:
    """Whether ``user_id`` follows ``creator_id`` now."""
    return (
        session.scalar(
            select(CreatorFollow.user_id).where(
                CreatorFollow.user_id == user_id, CreatorFollow.creator_id == creator_id
            )
        )
        is not None
    )


def follower_count(session: Session, creator_id: uuid.UUID) -> int:
    return follower_counts(session, [creator_id]).get(creator_id, 0)


def creator_audience(session: Session, creator_id: uuid.UUID) -> dict[str, int]:
    """A creator's audience on ClipShop, for admission: followers, ready public clips and the
    summed counters of those clips."""
    from app.clips.models import Clip, ClipStatus, Visibility

    row = session.execute(
        select(
            func.count(Clip.id),
            func.coalesce(func.sum(ClipStat.impressions), 0),
            func.coalesce(func.sum(ClipStat.views), 0),
            func.coalesce(func.sum(ClipStat.completes), 0),
            func.coalesce(func.sum(ClipStat.likes), 0),
            func.coalesce(func.sum(ClipStat.shares), 0),
            func.coalesce(func.sum(ClipStat.product_taps), 0),
        )
        .select_from(Clip)
        .outerjoin(ClipStat, ClipStat.clip_id == Clip.id)
        .where(
            Clip.creator_id == creator_id,
            Clip.status == ClipStatus.ready,
            Clip.visibility == Visibility.public,
        )
    ).one()
    names = ("clips", "impressions", "views", "completes", "likes", "shares", "product_taps")
    result = {name: int(value or 0) for name, value in zip(names, row, strict=True)}
    result["followers"] = follower_count(session, creator_id)
    return result


class ClipTouch(NamedTuple):
    clip_id: uuid.UUID
    kind: str  # "product_tap" | "view"
    at: datetime
    event_id: int


def clip_touches(
    session: Session, user_id: uuid.UUID, since: datetime, until: datetime, view_fraction: float
) -> list[ClipTouch]:
    """The viewer's product taps and views watched past ``view_fraction`` (completes count as
    watched) with a client time in ``[since, until]``, oldest first."""
    tap, view, complete = EventType.product_tap.value, EventType.view_progress.value, EventType.complete.value
    rows = session.execute(
        select(
            FeedEvent.id, FeedEvent.type, FeedEvent.clip_id, FeedEvent.client_at, FeedEvent.progress
        ).where(
            FeedEvent.user_id == user_id,
            FeedEvent.type.in_((tap, view, complete)),
            FeedEvent.client_at >= since,
            FeedEvent.client_at <= until,
            FeedEvent.clip_id.is_not(None),
        )
    )
    touches = []
    for event_id, kind, clip_id, at, progress in rows:
        if clip_id is None or (kind == view and (progress is None or progress < view_fraction)):
            continue
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        touches.append(ClipTouch(clip_id, "product_tap" if kind == tap else "view", at, event_id))
    touches.sort(key=lambda t: (t.at, t.event_id))
    return touches


def follower_counts(session: Session, creator_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Current followers of each creator (``creator_follow``)."""
    out: dict[uuid.UUID, int] = {}
    for start in range(0, len(creator_ids), 5000):
        chunk = creator_ids[start : start + 5000]
        for creator_id, n in session.execute(
            select(CreatorFollow.creator_id, func.count())
            .where(CreatorFollow.creator_id.in_(chunk))
            .group_by(CreatorFollow.creator_id)
        ):
            out[creator_id] = int(n)
    return out
