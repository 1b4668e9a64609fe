"""Database engine, declarative base and the unit of work.

One unit of work per request: :data:`SessionDep` commits when the endpoint returns and rolls back
when it raises. Services only ``flush()``. Work that must happen only once the data is durable
(enqueuing jobs, invalidating caches) is registered with :func:`on_commit`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import uuid
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy import DateTime, MetaData, Uuid, create_engine, event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

from app.config import get_settings

logger = logging.getLogger("clipshop.db")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), uuid.UUID: Uuid()}


class UUIDPrimaryKey:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# --- engine -------------------------------------------------------------------------------------

_engine: Engine | None = None
SQLITE_MMAP_BYTES = 1 << 30  # address space, not memory: only the pages read are resident
SQLITE_CHECKPOINT_SECONDS = 1.0
SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_RESTART_WAIT_MS = 200
SQLITE_WAL_RESTART_BYTES = 256 << 20
SQLITE_WAL_KEEP_BYTES = 64 << 20  # journal_size_limit: a WAL that started over is cut to this
_session_factory: sessionmaker[Session] | None = None


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling defers BEGIN in surprising ways; take it over so that
    # SQLAlchemy's transactions are real SQLite transactions (SQLAlchemy docs, "Serializable
    # isolation / Savepoints / Transactional DDL").
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Checkpoints are run by a background thread (``_SQLiteCheckpointer``), concurrently with
        # the writers: a writer that crosses the threshold would otherwise copy (and fsync) tens
        # of MB to the database file inside its own commit, holding up everyone behind it. The
        # automatic checkpoint stays as a backstop, at ~400 MB of WAL.
        cursor.execute("PRAGMA wal_autocheckpoint=100000")
        cursor.execute(f"PRAGMA journal_size_limit={SQLITE_WAL_KEEP_BYTES}")
        # read the database file through a memory map: pages come straight from the OS page
        # cache, and a connection's view survives other connections' writes (its own page cache
        # is dropped whenever another connection wrote, which the event writer and the
        # aggregator do many times a second)
        cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front: concurrent writers queue on busy_timeout
        # instead of failing on a lock upgrade, which is what keeps stock arithmetic safe.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs["poolclass"] = StaticPool
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    settings = get_settings()
    connect_args: dict[str, Any] = {}
    if url.startswith("postgresql"):
        connect_args["connect_timeout"] = settings.db_connect_timeout_seconds
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        connect_args=connect_args,
    )


# SQLite has one writer at a time: the threads of a process that write often (the event writer,
# the feed aggregator, the WAL checkpointer's restarts) queue on this lock rather than on SQLite's
# busy handler, whose sleeps (up to 100 ms) cost far more than the writes.
sqlite_write_lock = threading.Lock()


class _SQLiteCheckpointer:
    """Checkpoints the WAL of a SQLite database file every ``interval`` seconds.

    ``PASSIVE`` copies what it can without waiting for, or holding up, readers and writers. Under
    a steady stream of writes that never lets the WAL start over, so once the file has grown past
    ``SQLITE_WAL_RESTART_BYTES`` a ``RESTART`` (the rest, then the WAL starts over at the next
    write; ``journal_size_limit`` truncates it) runs under the process's write lock: little is
    left to copy right after a passive round."""

    def __init__(self, engine: Engine, interval: float = SQLITE_CHECKPOINT_SECONDS) -> None:
        self._engine = weakref.ref(engine)
        self._wal = f"{engine.url.database}-wal"
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            engine = self._engine()
            if engine is None:
                return
            try:
                raw = engine.raw_connection()  # not a Session: no BEGIN, no write lock
                try:
                    raw.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)").close()
                    if os.path.exists(self._wal) and os.path.getsize(self._wal) > SQLITE_WAL_RESTART_BYTES:
                        # waits for readers on old snapshots: briefly, or it holds up the
                        # process's writers behind the lock (the next round tries again)
                        cursor = raw.cursor()
                        cursor.execute(f"PRAGMA busy_timeout={SQLITE_RESTART_WAIT_MS}")
                        try:
                            with sqlite_write_lock:
                                cursor.execute("PRAGMA wal_checkpoint(RESTART)")
                        finally:
                            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
                            cursor.close()
                finally:
                    raw.close()
            except Exception:  # the next round retries; the automatic checkpoint is the backstop
                logger.warning("WAL checkpoint failed", exc_info=True)
            del engine

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


_checkpointer: _SQLiteCheckpointer | None = None


def get_engine() -> Engine:
    global _engine, _session_factory, _checkpointer
    if _engine is None:
        url = get_settings().database_url
        _engine = make_engine(url)
        _session_factory = sessionmaker(_engine, expire_on_commit=False)
        if url.startswith("sqlite") and url not in ("sqlite://", "sqlite:///:memory:"):
            _checkpointer = _SQLiteCheckpointer(_engine)
    return _engine


def reset_engine() -> None:
    """Forget the engine (tests and the CLI call this after changing settings)."""
    global _engine, _session_factory, _checkpointer
    if _checkpointer is not None:
        _checkpointer.stop()
        _checkpointer = None
    if _engine is not None:
        _engine.dispose()
    _engine = None
    _session_factory = None


def new_session() -> Session:
    get_engine()
    assert _session_factory is not None
    return _session_factory()


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


# --- unit of work -------------------------------------------------------------------------------

_CALLBACKS_KEY = "clipshop_on_commit"


def on_commit(session: Session, callback: Callable[[], Any]) -> None:
    """Run ``callback`` once the session's transaction has committed; dropped on rollback."""
    session.info.setdefault(_CALLBACKS_KEY, []).append(callback)


def _run_on_commit(session: Session) -> None:
    # The transaction is durable by now: a failing callback (say, the broker is briefly down when
    # a job is sent) must not turn the request into an error. It is logged; the periodic sweeps
    # pick up work whose message never left.
    callbacks = session.info.pop(_CALLBACKS_KEY, [])
    for callback in callbacks:
        try:
            callback()
        except Exception:
            logger.exception("after-commit callback failed", extra={"callback": repr(callback)[:200]})


def _commit(session: Session) -> None:
    session.commit()
    _run_on_commit(session)


def _rollback(session: Session) -> None:
    session.info.pop(_CALLBACKS_KEY, None)
    session.rollback()


def _finish_with_error(session: Session, exc: BaseException) -> None:
    # Some failures must still persist what the service recorded (e.g. revoking a refresh-token
    # family when reuse is detected): such errors set ``commit_on_error``.
    if getattr(exc, "commit_on_error", False):
        _commit(session)
    else:
        _rollback(session)


# Transactions of requests end on threads of their own. The endpoint runs on the shared
# threadpool; if the commit needed a thread from that same pool, a burst of requests all waiting
# on row locks held by earlier requests could take every thread and the commits that would
# release those locks could never run. Commits only ever release locks, so this pool always
# drains.
_finisher = ThreadPoolExecutor(max_workers=16, thread_name_prefix="clipshop-uow")


async def _finish(func: Callable[..., Any], *args: Any) -> None:
    await asyncio.get_running_loop().run_in_executor(_finisher, func, *args)


def _close_after(func: Callable[..., Any], session: Session, *args: Any) -> None:
    try:
        func(session, *args)
    finally:
        session.close()


async def get_session() -> AsyncIterator[Session]:
    session = new_session()
    try:
        yield session
    except BaseException as exc:
        await _finish(_close_after, _finish_with_error, session, exc)
        raise
    await _finish(_close_after, _commit, session)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A unit of work outside a request (workers, CLI). Never hold one open across slow work
    such as an ffmpeg run: on SQLite every transaction takes the write lock."""
    session = new_session()
    try:
        yield session
        _commit(session)
    except BaseException as exc:
        _finish_with_error(session, exc)
        raise
    finally:
        session.close()


# "function" scope: the commit happens before the response is sent, so a failed commit is the
# client's error response rather than a silently lost write.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
