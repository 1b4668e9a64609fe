"""Group commit for the event log: one writer thread per process writes every queued batch at once.

``POST /v1/events`` checks a batch in the request, then hands its rows to the writer and waits.
The writer drains everything queued meanwhile (up to ``MAX_GROUP_ROWS`` rows) and writes it in ONE
transaction with ONE statement, so a burst of concurrent batches costs one commit instead of one
each:

* SQLite (one writer at a time): ``INSERT .. VALUES (..), (..), .. ON CONFLICT (user_id,
  event_id) DO NOTHING`` (``json_each`` over one JSON array when a group has more parameters than
  SQLite takes in one statement). Nobody else can write while it runs, so the new rows are the
  last ``rowcount`` ids; when that is every row, nothing more is read.
* PostgreSQL: ``INSERT .. SELECT FROM unnest(<one array per column>) ON CONFLICT DO NOTHING
  RETURNING user_id, event_id`` (the database decides, also against other processes).

The statement is its own transaction (autocommit): the events are committed when it returns.

A batch's rows are turned into what the statement takes (value tuples on SQLite, array literals
on PostgreSQL) by the request that submits them, so the writer thread only joins the pieces: the
less Python it runs while it holds the write lock, the less it waits for the GIL there. On SQLite
every statement is a single step for the same reason: the sqlite3 module releases and retakes the
GIL around each step, and under load each retake waits for another thread's switch interval (an
``executemany`` of 1,000 rows, a step per row, took seconds).

An event sent twice within the same group (two concurrent copies of a batch) is stored once: the
first batch in queue order gets it, the later one is told it was already stored, and both answers
are given only after the commit. When the group's transaction fails (say one batch's user was
deleted meanwhile: a foreign-key error), each batch of the group is written again in a
transaction of its own, so only the batch at fault gets the error.

A caller's future resolves, after the commit, to one flag per row: stored now (``True``) or
already stored (``False``); or fails with the error of its batch's write.
"""

from __future__ import annotations

import itertools
import logging
import sqlite3
import threading
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, NamedTuple

import orjson
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from app.config import get_settings
from app.db import as_utc, get_engine, sqlite_write_lock
from app.feed.engine import EngineEvent
from app.feed.events import EventType

logger = logging.getLogger("clipshop.feed")

_KINDS = {kind.value: kind for kind in EventType}

# Rows written in one transaction at most (a burst beyond this is written in several groups).
MAX_GROUP_ROWS = 5000


def writer_lock() -> AbstractContextManager[Any]:
    """Held by whoever writes the event log or aggregates it in this process (SQLite only: on
    PostgreSQL the event writer and the aggregator do not get in each other's way)."""
    return sqlite_write_lock if get_settings().is_sqlite else nullcontext()


class EventRow(NamedTuple):
    user_id: uuid.UUID
    event_id: uuid.UUID
    type: str
    clip_id: uuid.UUID | None
    creator_id: uuid.UUID | None
    watch_ms: int | None
    progress: float | None
    client_at: datetime
    received_at: datetime
    context: EventContext | None = None


class EventContext(NamedTuple):
    """Who sent a batch, as the authenticity checks need it (the same for every event of it)."""

    device_id: str | None = None  # ``X-Device-Id`` (only ``[A-Za-z0-9._:-]``, at most 64)
    client_ip: str | None = None
    account_guest: bool | None = None
    account_created_at: datetime | None = None


NO_CONTEXT = EventContext()


class PreparedBatch(NamedTuple):
    """A batch in the form the group statement takes (see ``prepare_columns``)."""

    events: Sequence[EngineEvent]  # each row as the feed engine takes it (for the write listeners)
    keys: list[str]  # each row's user id and event id, as 64 hex digits
    sqlite: list[tuple[Any, ...]]  # SQLite: the rows' values, in the order of _COLUMNS
    # PostgreSQL: per column, the rows' elements of an array literal (every value here is free of
    # quotes, commas, braces and spaces: hex ids, event kinds, numbers, ISO timestamps)
    postgres: tuple[str, ...]


class _Job(NamedTuple):
    batch: PreparedBatch
    future: Future[list[bool]]


_COLUMNS = (
    "user_id, event_id, type, clip_id, creator_id, watch_ms, progress, client_at, received_at, "
    "device_id, client_ip, account_guest, account_created_at, aggregated"
)

_SQLITE_INSERT = (
    f"INSERT INTO feed_event ({_COLUMNS}) "
    "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), "
    "json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]'), "
    "json_extract(value, '$[6]'), json_extract(value, '$[7]'), json_extract(value, '$[8]'), "
    "json_extract(value, '$[9]'), json_extract(value, '$[10]'), json_extract(value, '$[11]'), "
    "json_extract(value, '$[12]'), 0 "
    "FROM json_each(?) WHERE true ON CONFLICT (user_id, event_id) DO NOTHING"
)

_COLUMNS_LIST = _COLUMNS.split(", ")[:-1]  # the values a row brings (``aggregated`` is 0)
_SQLITE_ROW = "(" + ", ".join(["?"] * len(_COLUMNS_LIST)) + ", 0)"


@lru_cache(maxsize=64)
def _sqlite_values_insert(rows: int) -> str:
    return (
        f"INSERT INTO feed_event ({_COLUMNS}) VALUES "
        + ", ".join([_SQLITE_ROW] * rows)
        + " ON CONFLICT (user_id, event_id) DO NOTHING"
    )


_max_parameters: int | None = None


def _sqlite_max_parameters(connection: Any) -> int:
    """How many parameters one statement may take (32,766 since SQLite 3.32, 999 before)."""
    global _max_parameters
    if _max_parameters is None:
        _max_parameters = int(connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    return _max_parameters


_PG_INSERT = (
    f"INSERT INTO feed_event ({_COLUMNS}) "
    "SELECT u, e, t, c, cr, w, p, ca, ra, d, ip, g, ac, false FROM unnest("
    "%s::uuid[], %s::uuid[], %s::text[], %s::uuid[], %s::uuid[], %s::int[], %s::float8[], "
    "%s::timestamptz[], %s::timestamptz[], %s::text[], %s::text[], %s::bool[], %s::timestamptz[]) "
    "AS r(u, e, t, c, cr, w, p, ca, ra, d, ip, g, ac) "
    "ON CONFLICT (user_id, event_id) DO NOTHING RETURNING user_id, event_id"
)


def sqlite_time(value: datetime) -> str:
    """The text SQLAlchemy's SQLite ``DateTime`` stores: the UTC wall time, microseconds always
    (``YYYY-MM-DD HH:MM:SS.ffffff``: the first 26 characters of ``isoformat``)."""
    if value.tzinfo is not None and value.utcoffset():
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]


def _hex(value: uuid.UUID | None) -> str | None:
    return None if value is None else value.hex


def _each_once(values: list[datetime], text: Any) -> list[str]:
    """``text`` of each value, computed once per run of the same object (a batch's rows share
    their receive time)."""
    out: list[str] = []
    last: datetime | None = None
    current = ""
    for value in values:
        if value is not last:
            last, current = value, text(value)
        out.append(current)
    return out


def engine_event(row: Any) -> EngineEvent:
    """A stored event (an ``EventRow``, a row of the log) as the feed engine takes it."""
    return (
        row.user_id,
        _KINDS[row.type],
        row.clip_id,
        as_utc(row.client_at).timestamp(),
        row.progress or 0.0,
        row.creator_id,
    )


def prepare(rows: Sequence[EventRow]) -> PreparedBatch:
    """``rows`` in the form the group statement takes, for the database in use."""
    return prepare_columns(
        [engine_event(r) for r in rows],
        [r.user_id.hex for r in rows],
        [r.event_id.hex for r in rows],
        [r.type for r in rows],
        [_hex(r.clip_id) for r in rows],
        [_hex(r.creator_id) for r in rows],
        [r.watch_ms for r in rows],
        [r.progress for r in rows],
        [r.client_at for r in rows],
        [r.received_at for r in rows],
        context=rows[0].context if rows else None,
    )


def prepare_columns(
    events: Sequence[EngineEvent],
    user_hex: list[str],
    event_hex: list[str],
    types: list[str],
    clip_hex: list[str | None],
    creator_hex: list[str | None],
    watch_ms: list[int | None],
    progress: list[float | None],
    client_at: list[datetime],
    received_at: list[datetime],
    sqlite_client_at: list[str] | None = None,
    context: EventContext | None = None,
) -> PreparedBatch:
    """A batch given column by column (ids as 32 hex digits, aware datetimes), in the form the
    group statement takes for the database in use. ``events`` are what the write listeners get;
    ``sqlite_client_at``: ``client_at`` already in SQLite's text form, when the caller has it;
    ``context``: who sent the batch (the same for each of its rows)."""
    keys = [u + e for u, e in zip(user_hex, event_hex, strict=True)]
    device, ip, guest, created = context or NO_CONTEXT
    if get_settings().is_sqlite:
        sqlite_context = (
            device,
            ip,
            None if guest is None else int(guest),
            None if created is None else sqlite_time(created),
        )
        columns = zip(
            user_hex,
            event_hex,
            types,
            clip_hex,
            creator_hex,
            watch_ms,
            progress,
            sqlite_client_at or [sqlite_time(at) for at in client_at],
            _each_once(received_at, sqlite_time),
            strict=True,
        )
        return PreparedBatch(events, keys, [row + sqlite_context for row in columns], ())
    postgres = (
        ",".join(user_hex),  # 32 hex digits: valid uuid input
        ",".join(event_hex),
        ",".join(types),
        ",".join(["NULL" if c is None else c for c in clip_hex]),
        ",".join(["NULL" if c is None else c for c in creator_hex]),
        ",".join(["NULL" if w is None else str(w) for w in watch_ms]),
        ",".join(["NULL" if p is None else repr(p) for p in progress]),
        ",".join([at.isoformat() for at in client_at]),
        ",".join(_each_once(received_at, datetime.isoformat)),
        *(
            ",".join([value] * len(keys))
            for value in (
                "NULL" if device is None else device,  # (checked: no quote, comma, brace or space)
                "NULL" if ip is None else ip,
                "NULL" if guest is None else ("t" if guest else "f"),
                "NULL" if created is None else created.isoformat(),
            )
        ),
    )
    return PreparedBatch(events, keys, [], postgres)


def _write_sqlite(
    engine: Engine, batches: Sequence[PreparedBatch], unique: int
) -> tuple[set[str] | None, tuple[int, int] | None]:
    """The new (user, event id) keys, or None: all ``unique`` distinct rows were new; and the
    ids the new rows took (first, last), or None when there are none.

    The INSERT runs on its own, outside ``BEGIN``: one statement is one transaction, so taking
    the write lock, the insert and the commit are a single step (one GIL release instead of
    three). It holds the write lock from start to commit, so its new rows took consecutive ids
    up to ``lastrowid``."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        try:
            rows = [row for b in batches for row in b.sqlite]
            if len(rows) * len(_COLUMNS_LIST) <= _sqlite_max_parameters(raw.driver_connection):
                # one multi-row VALUES statement: its parameters are bound in one call, and
                # SQLite reads them without parsing any JSON (a fifth less time than json_each)
                cursor.execute(_sqlite_values_insert(len(rows)), list(itertools.chain.from_iterable(rows)))
            else:  # more parameters than this SQLite takes in one statement
                cursor.execute(_SQLITE_INSERT, (orjson.dumps(rows).decode(),))
            new, last = cursor.rowcount, cursor.lastrowid
            ids = (last - new + 1, last) if new and last is not None else None
            if new == unique:
                return None, ids
            if not new or last is None:
                return set(), None
            cursor.execute(
                "SELECT json_group_array(json_array(user_id, event_id)) FROM feed_event WHERE id > ? AND id <= ?",
                (last - new, last),
            )
            found = cursor.fetchone()
            listed = found[0] if found else None
        except engine.dialect.loaded_dbapi.Error as exc:
            # the error SQLAlchemy would have raised (an IntegrityError is answered with a 409)
            raise DBAPIError.instance(_SQLITE_INSERT, None, exc, engine.dialect.loaded_dbapi.Error) from exc
        finally:
            cursor.close()
    finally:
        raw.close()
    return {u + e for u, e in orjson.loads(listed or "[]")}, ids


_PG_NEW = (
    "WITH new AS ({insert}) SELECT count(*), CASE WHEN count(*) < %s THEN "
    "string_agg(replace(user_id::text, '-', '') || replace(event_id::text, '-', ''), ',') END FROM new"
)


def _write_postgres(
    engine: Engine, batches: Sequence[PreparedBatch], unique: int
) -> tuple[set[str] | None, None]:
    """As ``_write_sqlite``; the statement in autocommit mode is its own transaction (one round
    trip instead of three). One row comes back: the number of new rows, and their keys only when
    that is not all of them. The new rows' ids are not reported: concurrent transactions take
    ids from the same sequence and commit in any order."""
    arrays = tuple("{" + ",".join(b.postgres[i] for b in batches if b.postgres[i]) + "}" for i in range(13))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        count, listed = conn.exec_driver_sql(_PG_NEW.format(insert=_PG_INSERT), (*arrays, unique)).one()
    if count == unique:
        return None, None
    keys = (listed or "").split(",") if count else []
    return set(keys), None


def write_prepared(batches: Sequence[PreparedBatch]) -> list[list[bool] | BaseException]:
    """Write several batches in one transaction; per batch, its flags (see the module) or the
    error that made its write fail.

    An event in a batch that an earlier batch of the group also carries is not stored twice:
    the earlier batch gets it, the later one is told it was already stored. When the group's
    transaction fails, the batches are written again one by one, each in its own transaction,
    so only the batch at fault gets the error."""
    seen: set[str] = set()
    first: list[list[bool]] = []  # per batch, per row: the group's first copy of its event
    for batch in batches:
        flags = []
        for key in batch.keys:
            flags.append(key not in seen)
            seen.add(key)
        first.append(flags)
    try:
        engine = get_engine()
        with writer_lock():
            write = _write_sqlite if engine.dialect.name == "sqlite" else _write_postgres
            new, ids = write(engine, batches, len(seen))
    except Exception as exc:
        if len(batches) == 1:
            return [exc]
        logger.warning("event group write failed; writing its batches one by one", exc_info=True)
        return [write_prepared([batch])[0] for batch in batches]
    outcomes: list[list[bool] | BaseException] = []
    new_rows: list[EngineEvent] = []  # in the order the statement inserted them (taking ids in turn)
    for batch, flags in zip(batches, first, strict=True):
        stored = (
            flags if new is None else [f and key in new for key, f in zip(batch.keys, flags, strict=True)]
        )
        outcomes.append(stored)
        if ids is not None and _listeners:
            new_rows += [event for event, s in zip(batch.events, stored, strict=True) if s]
    if ids is not None:
        for listener in _listeners:
            try:
                listener(ids[0], ids[1], new_rows)
            except Exception:  # a listener's failure is not the write's
                logger.exception("event write listener failed")
    return outcomes


# Called after each committed write whose new rows' ids are known (SQLite): (first id, last id,
# the new rows in id order, as the engine takes them). The feed runtime applies them to its engine from here instead of
# reading them back from the log.
_listeners: list[Callable[[int, int, list[EngineEvent]], None]] = []


def add_listener(listener: Callable[[int, int, list[EngineEvent]], None]) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def write_group(batches: Sequence[Sequence[EventRow]]) -> list[list[bool] | BaseException]:
    """``write_prepared`` for batches of rows."""
    return write_prepared([prepare(rows) for rows in batches])


class EventWriter:
    """The process's event writer thread (started on first use)."""

    def __init__(self) -> None:
        self._jobs: deque[_Job] = deque()
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(self, rows: Sequence[EventRow]) -> Future[list[bool]]:
        """Queue a batch (its event ids unique); the future resolves after the commit. The rows
        are prepared here, in the caller's thread."""
        return self.submit_prepared(prepare(rows))

    def submit_prepared(self, batch: PreparedBatch) -> Future[list[bool]]:
        """``submit`` for a batch already in the statement's form."""
        future: Future[list[bool]] = Future()
        if not batch.keys:
            future.set_result([])
            return future
        job = _Job(batch, future)
        self._ensure_started()
        with self._ready:
            self._jobs.append(job)
            self._ready.notify()
        return future

    def write(self, rows: Sequence[EventRow]) -> list[bool]:
        """``submit`` and wait."""
        return self.submit(rows).result()

    def _ensure_started(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="feed-event-writer", daemon=True)
                self._thread.start()

    def _take(self) -> list[_Job]:
        with self._ready:
            while not self._jobs:
                self._ready.wait()
            jobs: list[_Job] = []
            n = 0
            while self._jobs and (not jobs or n + len(self._jobs[0].batch.keys) <= MAX_GROUP_ROWS):
                job = self._jobs.popleft()
                # a caller that gave up waiting (its request was cancelled) got no answer: its
                # events are not written (it has to send them again; that is idempotent)
                if job.future.set_running_or_notify_cancel():
                    jobs.append(job)
                    n += len(job.batch.keys)
            return jobs

    def _run(self) -> None:
        while True:
            jobs = self._take()
            if not jobs:
                continue
            try:
                outcomes = write_prepared([job.batch for job in jobs])
            except BaseException as exc:  # never leave a caller waiting
                logger.exception("event writer failed")
                outcomes = [exc] * len(jobs)
            for job, outcome in zip(jobs, outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    job.future.set_exception(outcome)
                else:
                    job.future.set_result(outcome)


_writer: EventWriter | None = None
_writer_lock = threading.Lock()


def get_writer() -> EventWriter:
    global _writer
    if _writer is None:
        with _writer_lock:
            if _writer is None:
                _writer = EventWriter()
    return _writer
