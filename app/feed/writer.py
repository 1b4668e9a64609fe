"""Group commit for the event log: one writer thread per process writes every queued batch at once.

``POST /v1/events`` validates a batch in the request, then hands its rows to the writer and waits.
The writer drains everything queued meanwhile (up to ``MAX_GROUP_ROWS`` rows) and writes it in ONE
transaction with one statement, so a burst of concurrent batches costs one commit instead of one
each:

* SQLite (one writer at a time, and this thread holds the write lock for the whole transaction):
  ``executemany`` of ``INSERT .. ON CONFLICT (user_id, event_id) DO NOTHING``; the rows with an id
  above the largest id before the insert are exactly the new ones (nobody else can write in
  between), the others were already stored.
* PostgreSQL: ``INSERT .. SELECT FROM unnest(<one array per column>) ON CONFLICT DO NOTHING
  RETURNING user_id, event_id`` (the database decides, also against other processes).

An event id sent twice within the same group (two concurrent copies of a batch) is written once:
the first batch in queue order gets it, the later one is told it is a duplicate, and both answers
are given only after the commit. When the group's transaction fails (say one batch's user was
deleted meanwhile: a foreign-key error), each batch of the group is written again in a
transaction of its own, so only the batch at fault gets the error.

A caller's future resolves, after the commit, to one flag per row: stored now (``True``) or
already stored (``False``); or fails with the error of its batch's write.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson
from sqlalchemy.engine import Connection

from app.config import get_settings
from app.db import get_engine

logger = logging.getLogger("clipshop.feed")

# Rows written in one transaction at most (a burst beyond this is written in several groups).
MAX_GROUP_ROWS = 5000


# SQLite has one writer at a time: this thread and the aggregator of a process queue on this lock
# rather than on SQLite's busy handler, whose sleeps (up to 100 ms) cost far more than the writes.
_sqlite_writer = threading.Lock()


def writer_lock() -> AbstractContextManager[Any]:
    """Held by whoever writes the event log or aggregates it in this process (SQLite only: on
    PostgreSQL the event writer and the aggregator do not get in each other's way)."""
    return _sqlite_writer if get_settings().is_sqlite else nullcontext()


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


class _Job(NamedTuple):
    rows: Sequence[EventRow]
    future: Future[list[bool]]


_COLUMNS = (
    "user_id, event_id, type, clip_id, creator_id, watch_ms, progress, client_at, received_at, aggregated"
)

# One statement for the whole group, its rows in one JSON parameter: the sqlite3 module releases
# and retakes the GIL around every step of a statement, so an ``executemany`` (a step per row)
# waits for the GIL once per row while the request threads are busy, which made a group take
# seconds; ``json_each`` is a single step.
_SQLITE_INSERT = (
    f"INSERT INTO feed_event ({_COLUMNS}) "
    "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), "
    "json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]'), "
    "json_extract(value, '$[6]'), json_extract(value, '$[7]'), json_extract(value, '$[8]'), 0 "
    "FROM json_each(?) WHERE true ON CONFLICT (user_id, event_id) DO NOTHING"
)

_PG_INSERT = (
    f"INSERT INTO feed_event ({_COLUMNS}) "
    "SELECT u, e, t, c, cr, w, p, ca, ra, false FROM unnest("
    "%s::uuid[], %s::uuid[], %s::text[], %s::uuid[], %s::uuid[], %s::int[], %s::float8[], "
    "%s::timestamptz[], %s::timestamptz[]) AS r(u, e, t, c, cr, w, p, ca, ra) "
    "ON CONFLICT (user_id, event_id) DO NOTHING RETURNING user_id, event_id"
)


def _sqlite_time(value: datetime) -> str:
    """The text SQLAlchemy's SQLite ``DateTime`` stores: the UTC wall time, microseconds always
    (``YYYY-MM-DD HH:MM:SS.ffffff``: the first 26 characters of ``isoformat``)."""
    if value.tzinfo is not None and value.utcoffset():
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]


def _hex(value: uuid.UUID | None) -> str | None:
    return None if value is None else value.hex


def _write_sqlite(conn: Connection, rows: list[EventRow]) -> set[tuple[str, str]] | None:
    """Rows in; out the (user, event id) keys (as stored: hex) that were new, or None: all were."""
    received: dict[datetime, str] = {}
    params = []
    for r in rows:
        at = received.get(r.received_at)
        if at is None:
            at = received[r.received_at] = _sqlite_time(r.received_at)
        params.append(
            (
                r.user_id.hex,
                r.event_id.hex,
                r.type,
                _hex(r.clip_id),
                _hex(r.creator_id),
                r.watch_ms,
                r.progress,
                _sqlite_time(r.client_at),
                at,
            )
        )
    last = conn.exec_driver_sql("SELECT max(id) FROM feed_event").scalar() or 0
    conn.exec_driver_sql(_SQLITE_INSERT, (orjson.dumps(params).decode(),))
    # Nobody else writes in this transaction: the rows above the previous last id are the new ones.
    # Counted (and only then listed) in one step, for the reason above.
    new = conn.exec_driver_sql("SELECT count(*) FROM feed_event WHERE id > ?", (last,)).scalar()
    if new == len(rows):
        return None
    listed = conn.exec_driver_sql(
        "SELECT json_group_array(json_array(user_id, event_id)) FROM feed_event WHERE id > ?", (last,)
    ).scalar()
    return {(u, e) for u, e in orjson.loads(listed or "[]")}


def _write_postgres(conn: Connection, rows: list[EventRow]) -> set[tuple[uuid.UUID, uuid.UUID]]:
    columns = tuple(list(column) for column in zip(*rows, strict=True))
    return {(u, e) for u, e in conn.exec_driver_sql(_PG_INSERT, columns)}


def write_rows(rows: list[EventRow]) -> list[bool]:
    """One transaction: insert ``rows`` (unique per (user, event id)); which ones were new."""
    engine = get_engine()
    with engine.connect() as conn, conn.begin():
        if engine.dialect.name == "sqlite":
            new_hex = _write_sqlite(conn, rows)
            if new_hex is None:
                return [True] * len(rows)
            return [(r.user_id.hex, r.event_id.hex) in new_hex for r in rows]
        new = _write_postgres(conn, rows)
        return [(r.user_id, r.event_id) in new for r in rows]


class EventWriter:
    """The process's event writer thread (started on first use)."""

    def __init__(self) -> None:
        self._jobs: deque[_Job] = deque()
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(self, rows: Sequence[EventRow]) -> Future[list[bool]]:
        """Queue a batch (unique event ids); the future resolves after the commit."""
        future: Future[list[bool]] = Future()
        if not rows:
            future.set_result([])
            return future
        self._ensure_started()
        with self._ready:
            self._jobs.append(_Job(rows, future))
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
            while self._jobs and (not jobs or n + len(self._jobs[0].rows) <= MAX_GROUP_ROWS):
                job = self._jobs.popleft()
                # a caller that gave up waiting (its request was cancelled) got no answer: its
                # events are not written (it has to send them again; that is idempotent)
                if job.future.set_running_or_notify_cancel():
                    jobs.append(job)
                    n += len(job.rows)
            return jobs

    def _run(self) -> None:
        while True:
            jobs = self._take()
            if not jobs:
                continue
            try:
                outcomes = write_group([job.rows for job in jobs])
            except BaseException as exc:  # never leave a caller waiting
                logger.exception("event writer failed")
                outcomes = [exc] * len(jobs)
            for job, outcome in zip(jobs, outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    job.future.set_exception(outcome)
                else:
                    job.future.set_result(outcome)


def write_group(batches: Sequence[Sequence[EventRow]]) -> list[list[bool] | BaseException]:
    """Write several batches in one transaction; per batch, its flags (see the module) or the
    error that made its write fail.

    An event in a batch that an earlier batch of the group also carries is not written twice:
    the earlier batch gets it, the later one is told it was already stored. When the group's
    transaction fails, the batches are written again one by one, each in its own transaction,
    so only the batch at fault gets the error."""
    rows: list[EventRow] = []
    # per batch: for each of its rows, the position in ``rows`` (None: a copy of an earlier one)
    where: list[list[int | None]] = []
    seen: set[tuple[int, int]] = set()
    for batch in batches:
        positions: list[int | None] = []
        for row in batch:
            key = (row.user_id.int, row.event_id.int)
            if key in seen:
                positions.append(None)
            else:
                seen.add(key)
                positions.append(len(rows))
                rows.append(row)
        where.append(positions)
    try:
        with writer_lock():
            new = write_rows(rows)
    except Exception as exc:
        if len(batches) == 1:
            return [exc]
        logger.warning("event group write failed; writing its batches one by one", exc_info=True)
        return [write_group([batch])[0] for batch in batches]
    return [[p is not None and new[p] for p in positions] for positions in where]


_writer: EventWriter | None = None
_writer_lock = threading.Lock()


def get_writer() -> EventWriter:
    global _writer
    if _writer is None:
        with _writer_lock:
            if _writer is None:
                _writer = EventWriter()
    return _writer
