"""The transactional outbox: job rows written with the state change, relayed to the broker after
commit, leased while they run, and put back when their worker dies.

Every function here runs its own short transaction (:func:`app.db.session_scope`) except
:func:`add_job`, which joins the caller's.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import threading
import traceback
import uuid
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

import dramatiq
from sqlalchemy import and_, delete, func, or_, select, text, update
from sqlalchemy.orm import Session

from app.config import get_settings
from app.db import get_engine, is_postgres, session_scope, utcnow
from app.jobs.models import Job, JobStatus

logger = logging.getLogger("clipshop.jobs")

# Message option naming the job row a message runs.
JOB_OPTION = "clipshop_job_id"
DEFAULT_MAX_RETRIES = 5
DEFAULT_MIN_BACKOFF_MS = 5_000
DEFAULT_MAX_BACKOFF_MS = 600_000
RELAY_BATCH = 200

_owner: tuple[int, str] | None = None


def owner_id() -> str:
    """``<host>:<pid>:<random>``: who holds a lease (new after a fork)."""
    global _owner
    pid = os.getpid()
    if _owner is None or _owner[0] != pid:
        _owner = (pid, f"{socket.gethostname()}:{pid}:{uuid.uuid4().hex[:8]}")
    return _owner[1]


# --- writing ----------------------------------------------------------------------------------


def run_key(actor_name: str, args: Iterable[Any], kwargs: dict[str, Any]) -> str:
    body = json.dumps([list(args), kwargs], sort_keys=True, separators=(",", ":"), default=str)
    return f"{actor_name[:180]}:{hashlib.sha256(body.encode()).hexdigest()[:40]}"


def add_job(session: Session, actor_fn: Any, args: Iterable[Any], kwargs: dict[str, Any]) -> uuid.UUID:
    """Add the job row to ``session``'s transaction: it exists if and only if that commits."""
    options = getattr(actor_fn, "options", {}) or {}
    max_retries = options.get("max_retries")
    args = list(args)
    job = Job(
        id=uuid.uuid4(),
        actor_name=actor_fn.actor_name,
        queue=actor_fn.queue_name,
        args=args,
        kwargs=dict(kwargs),
        run_key=run_key(actor_fn.actor_name, args, kwargs),
        status=JobStatus.pending,
        attempts=0,
        max_attempts=(DEFAULT_MAX_RETRIES if max_retries is None else int(max_retries)) + 1,
        created_at=utcnow(),
        available_at=utcnow(),
    )
    session.add(job)
    return job.id


# --- relay --------------------------------------------------------------------------------------


def _sqlite_nothing_pending() -> bool:
    """On SQLite every transaction takes the write lock: look without one first (the relay
    polls every couple of seconds, and the feed's writers share that lock)."""
    engine = get_engine()
    if engine.dialect.name != "sqlite":
        return False
    raw = engine.raw_connection()  # autocommit: no BEGIN, no write lock
    try:
        cursor = raw.cursor()
        cursor.execute("SELECT 1 FROM job WHERE status = 'pending' LIMIT 1")
        found = cursor.fetchone() is not None
        cursor.close()
    finally:
        raw.close()
    return not found


def relay_once(broker: dramatiq.Broker, limit: int = RELAY_BATCH) -> int:
    """Send due ``pending`` rows to the broker; returns how many were sent. Raises the broker's
    error when it refused the first one (the rows stay pending and are tried again)."""
    if _sqlite_nothing_pending():
        return 0
    now = utcnow()
    sent = 0
    with session_scope() as session:
        query = (
            select(Job)
            .where(Job.status == JobStatus.pending, Job.available_at <= now)
            .order_by(Job.available_at)
            .limit(limit)
        )
        if is_postgres(session):
            query = query.with_for_update(skip_locked=True)  # relays in other processes skip these
        for job in session.scalars(query):
            message: dramatiq.Message[Any] = dramatiq.Message(
                queue_name=job.queue,
                actor_name=job.actor_name,
                args=tuple(job.args),
                kwargs=dict(job.kwargs),
                options={JOB_OPTION: str(job.id)},
            )
            try:
                accepted = broker.enqueue(message)
            except Exception:
                if sent == 0:
                    raise
                break  # keep what was accepted; the rest goes next round
            job.status = JobStatus.sent
            job.sent_at = utcnow()
            job.broker_message_id = str(accepted.options.get("redis_message_id") or accepted.message_id)
            sent += 1
    return sent


class Relay:
    """A daemon thread per process that relays as soon as a transaction with jobs commits
    (:meth:`wake`) and every ``job_relay_interval_seconds`` anyway (rows the broker refused,
    rows committed by a process that died before relaying, retries that became due)."""

    def __init__(self, broker: dramatiq.Broker) -> None:
        self._broker = broker
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.broker_down = False
        self._db_down = False

    def wake(self) -> None:
        self._ensure_started()
        self._wake.set()

    def _ensure_started(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="clipshop-job-relay", daemon=True)
                self._thread.start()

    def start(self) -> None:
        self._ensure_started()

    def stop(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        self._stop.set()
        self._wake.set()
        if thread is not None:
            thread.join(timeout=10)

    def run_once(self) -> int:
        try:
            sent = relay_once(self._broker)
        except Exception as exc:
            if not self.broker_down:
                logger.warning("job relay: the broker refused jobs; they stay queued in the database and are "
                               "sent when it is back", extra={"error": repr(exc)[:300]})  # fmt: skip
            self.broker_down = True
            return 0
        if self.broker_down:
            logger.info("job relay: the broker accepts jobs again")
        self.broker_down = False
        if sent == RELAY_BATCH:
            self._wake.set()  # more are waiting: no pause
        return sent

    def _run(self) -> None:
        interval = get_settings().job_relay_interval_seconds
        while not self._stop.is_set():
            self._wake.wait(interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.run_once()
                self._db_down = False
            except Exception as exc:  # the database is unreachable: next round (logged once)
                if not self._db_down:
                    logger.warning("job relay: cannot read the outbox", extra={"error": repr(exc)[:300]})
                self._db_down = True


def latest_job_status(session: Session, actor_fn: Any, *args: Any, **kwargs: Any) -> JobStatus | None:
    """Status of the latest job with these arguments (None: there never was one)."""
    key = run_key(actor_fn.actor_name, args, kwargs)
    status = session.scalar(
        select(Job.status).where(Job.run_key == key).order_by(Job.created_at.desc()).limit(1)
    )
    return JobStatus(status) if status is not None else None


# --- leases -------------------------------------------------------------------------------------

_held: set[uuid.UUID] = set()
_held_lock = threading.Lock()


def _lease_until() -> Any:
    return utcnow() + timedelta(seconds=get_settings().job_lease_seconds)


def acquire(job_id: uuid.UUID) -> bool:
    """Take the lease of a job this process is about to run. False when the job is done, failed,
    not due yet, or leased by a live worker: the message is a duplicate and is dropped. A job
    whose twin (same actor and arguments) is running under a live lease waits for it: it goes
    back to ``pending`` until the twin's lease would have expired."""
    now = utcnow()
    with session_scope() as session:
        job = session.get(Job, job_id)
        if job is None:
            return False
        if is_postgres(session):
            # serialises the twins' acquisitions (SQLite transactions are serial already)
            session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": job.run_key})
        twin_running = session.scalar(
            select(func.count())
            .select_from(Job)
            .where(
                Job.run_key == job.run_key,
                Job.id != job_id,
                Job.status == JobStatus.running,
                Job.lease_expires_at >= now,
            )
        )
        if twin_running:
            session.execute(
                update(Job)
                .where(Job.id == job_id, Job.status.in_([JobStatus.sent, JobStatus.pending]))
                .values(status=JobStatus.pending, available_at=_lease_until())
                .execution_options(synchronize_session=False)
            )
            return False
        result = session.execute(
            update(Job)
            .where(
                Job.id == job_id,
                or_(
                    Job.status == JobStatus.sent,
                    and_(Job.status == JobStatus.pending, Job.available_at <= now),
                    and_(Job.status == JobStatus.running, Job.lease_expires_at < now),
                ),
            )
            .values(
                status=JobStatus.running,
                lease_owner=owner_id(),
                lease_expires_at=_lease_until(),
                attempts=Job.attempts + 1,
                started_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        taken = bool(getattr(result, "rowcount", 0))
    if taken:
        with _held_lock:
            _held.add(job_id)
    return taken


def has_unfinished(session: Session, actor_fn: Any, *args: Any, **kwargs: Any) -> bool:
    """Whether a job with these arguments is pending, sent or running (sweeps use it so as not
    to schedule a job twice)."""
    key = run_key(actor_fn.actor_name, args, kwargs)
    return bool(
        session.scalar(
            select(func.count())
            .select_from(Job)
            .where(
                Job.run_key == key,
                Job.status.in_([JobStatus.pending, JobStatus.sent, JobStatus.running]),
            )
        )
    )


def _release(job_id: uuid.UUID) -> None:
    with _held_lock:
        _held.discard(job_id)


def complete(job_id: uuid.UUID) -> None:
    try:
        with session_scope() as session:
            result = session.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == JobStatus.running, Job.lease_owner == owner_id())
                .values(status=JobStatus.done, finished_at=utcnow(), lease_owner=None, lease_expires_at=None)
                .execution_options(synchronize_session=False)
            )
            if not getattr(result, "rowcount", 0):
                logger.warning("job finished after its lease was lost", extra={"job_id": str(job_id)})
    finally:
        _release(job_id)


def backoff_seconds(attempts: int, options: dict[str, Any]) -> float:
    low = float(options.get("min_backoff") or DEFAULT_MIN_BACKOFF_MS)
    high = float(options.get("max_backoff") or DEFAULT_MAX_BACKOFF_MS)
    return min(high, low * 2 ** max(attempts - 1, 0)) / 1000


def fail(job_id: uuid.UUID, exc: BaseException, options: dict[str, Any]) -> JobStatus | None:
    """The run raised: retry later with backoff, or ``failed`` after ``max_attempts`` runs."""
    error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:4000]
    try:
        with session_scope() as session:
            job = session.get(Job, job_id, with_for_update=True)
            if job is None or job.status is not JobStatus.running or job.lease_owner != owner_id():
                return None
            job.lease_owner = None
            job.lease_expires_at = None
            job.last_error = error
            if job.attempts >= job.max_attempts:
                job.status = JobStatus.failed
                job.finished_at = utcnow()
            else:
                job.status = JobStatus.pending
                job.available_at = utcnow() + timedelta(seconds=backoff_seconds(job.attempts, options))
            status = job.status
            level = logging.ERROR if status is JobStatus.failed else logging.WARNING
            logger.log(
                level,
                "job failed" if status is JobStatus.failed else "job raised; retrying",
                extra={
                    "job_id": str(job_id),
                    "actor": job.actor_name,
                    "attempts": job.attempts,
                    "error": error,
                },
            )
            return status
    finally:
        _release(job_id)


def heartbeat() -> int:
    """Renew the leases of the jobs this process is running."""
    with _held_lock:
        held = list(_held)
    if not held:
        return 0
    with session_scope() as session:
        result = session.execute(
            update(Job)
            .where(Job.id.in_(held), Job.status == JobStatus.running, Job.lease_owner == owner_id())
            .values(lease_expires_at=_lease_until())
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0))


# --- reaper -------------------------------------------------------------------------------------


def reap_once(broker: dramatiq.Broker | None = None) -> dict[str, int]:
    """Put back jobs whose worker died (lease expired) and jobs whose message the broker lost;
    delete finished rows past their retention."""
    settings = get_settings()
    now = utcnow()
    counts = {"expired": 0, "gave_up": 0, "redelivered": 0, "deleted": 0}
    with session_scope() as session:
        expired = session.scalars(
            select(Job)
            .where(Job.status == JobStatus.running, Job.lease_expires_at < now)
            .with_for_update(skip_locked=True)
        ).all()
        for job in expired:
            lost_owner = job.lease_owner
            job.last_error = f"lease expired: worker {lost_owner} stopped renewing it"
            job.lease_owner = None
            job.lease_expires_at = None
            if job.attempts >= job.max_attempts:
                job.status = JobStatus.failed
                job.finished_at = now
                counts["gave_up"] += 1
            else:
                job.status = JobStatus.pending
                job.available_at = now
                counts["expired"] += 1
            logger.warning(
                "job lease expired; " + ("giving up" if job.status is JobStatus.failed else "retrying"),
                extra={
                    "job_id": str(job.id),
                    "actor": job.actor_name,
                    "owner": lost_owner,
                    "attempts": job.attempts,
                },
            )
        stale = now - timedelta(seconds=settings.job_redeliver_seconds)
        grace = now - timedelta(seconds=max(2 * settings.job_relay_interval_seconds, 5))
        waiting = session.scalars(
            select(Job)
            .where(Job.status == JobStatus.sent, Job.sent_at < grace)
            .order_by(Job.sent_at)
            .limit(1000)
            .with_for_update(skip_locked=True)
        ).all()
        lost = _lost_by_broker(broker, waiting)
        for job in waiting:
            if job.id in lost or (job.sent_at is not None and job.sent_at < stale):
                job.status = JobStatus.pending
                job.available_at = now
                counts["redelivered"] += 1
        if counts["redelivered"]:
            logger.warning(
                "jobs sent again (message lost or never started)", extra={"jobs": counts["redelivered"]}
            )
        retention = now - timedelta(seconds=settings.job_retention_seconds)
        result = session.execute(
            delete(Job)
            .where(Job.status.in_([JobStatus.done, JobStatus.failed]), Job.finished_at < retention)
            .execution_options(synchronize_session=False)
        )
        counts["deleted"] = int(getattr(result, "rowcount", 0))
    return counts


def _lost_by_broker(broker: dramatiq.Broker | None, jobs: Sequence[Job]) -> set[uuid.UUID]:
    """Jobs whose message the Redis broker no longer holds (Redis restarted without persistence,
    or the keys were flushed). Other brokers: none known lost."""
    client, namespace = getattr(broker, "client", None), getattr(broker, "namespace", None)
    if client is None or namespace is None or not jobs:
        return set()
    try:
        pipe = client.pipeline(transaction=False)
        for job in jobs:
            pipe.hexists(f"{namespace}:{job.queue}.msgs", job.broker_message_id or "")
        present = pipe.execute()
    except Exception:  # broker down: nothing can be resent now anyway
        return set()
    return {job.id for job, there in zip(jobs, present, strict=True) if not there}


def requeue_sent(reason: str) -> int:
    """Back to ``pending``: every job handed to an in-memory broker that died with its process."""
    with session_scope() as session:
        result = session.execute(
            update(Job)
            .where(Job.status == JobStatus.sent)
            .values(status=JobStatus.pending, available_at=utcnow(), last_error=reason)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0))


def live_lease_owners() -> set[str]:
    """Workers that hold an unexpired lease now."""
    with session_scope() as session:
        rows = session.scalars(
            select(Job.lease_owner)
            .where(Job.status == JobStatus.running, Job.lease_expires_at >= utcnow())
            .distinct()
        )
        return {owner for owner in rows if owner}


def unfinished_count(*, due_only: bool = True) -> int:
    """Jobs still to run: pending (due now unless ``due_only`` is False), sent or running."""
    now = utcnow()
    pending = Job.status == JobStatus.pending
    if due_only:
        pending = and_(pending, Job.available_at <= now)
    with session_scope() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Job)
                .where(or_(pending, Job.status.in_([JobStatus.sent, JobStatus.running])))
            )
            or 0
        )


# --- operators ----------------------------------------------------------------------------------


def summary(failed_limit: int = 20) -> dict[str, Any]:
    """What ``clipshop jobs`` prints: counts per actor and status, the oldest job still waiting
    to be sent, the running leases and the latest failed jobs."""
    now = utcnow()
    with session_scope() as session:
        counts: dict[str, dict[str, int]] = {}
        for actor_name, status, count in session.execute(
            select(Job.actor_name, Job.status, func.count()).group_by(Job.actor_name, Job.status)
        ):
            counts.setdefault(actor_name, {})[JobStatus(status).value] = int(count)
        oldest = session.scalar(select(func.min(Job.created_at)).where(Job.status == JobStatus.pending))
        running = [
            {
                "id": str(j.id),
                "actor": j.actor_name,
                "owner": j.lease_owner,
                "lease_expires_at": j.lease_expires_at,
            }
            for j in session.scalars(
                select(Job).where(Job.status == JobStatus.running).order_by(Job.started_at)
            )
        ]
        failed = [
            {
                "id": str(j.id),
                "actor": j.actor_name,
                "args": j.args,
                "attempts": j.attempts,
                "error": j.last_error,
            }
            for j in session.scalars(
                select(Job)
                .where(Job.status == JobStatus.failed)
                .order_by(Job.finished_at.desc())
                .limit(failed_limit)
            )
        ]
    return {
        "counts": counts,
        "oldest_pending_seconds": round((now - oldest).total_seconds(), 1) if oldest else None,
        "running": running,
        "failed": failed,
    }


def retry(job_id: uuid.UUID) -> bool:
    """Operator action: run a failed job again (its attempts start over)."""
    with session_scope() as session:
        result = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.failed)
            .values(status=JobStatus.pending, attempts=0, available_at=utcnow(), finished_at=None)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))
