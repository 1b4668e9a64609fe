"""Background jobs on Dramatiq, handed off durably.

With ``CLIPSHOP_REDIS_URL`` set, messages go to Redis and separate ``clipshop worker`` processes
run them. Without it (the embedded default) the same actors run on an in-process worker.

:func:`enqueue` writes a ``job`` row in the caller's transaction (a transactional outbox): the
job exists if and only if the state change it belongs to commits. A relay thread sends committed
rows to the broker (and keeps trying while the broker is down); a worker takes a lease on the row
before running it, a heartbeat renews the lease, and a reaper puts back the jobs of workers that
died. ``app/jobs/README.md`` describes the whole cycle.
"""

from __future__ import annotations

import atexit
import functools
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import dramatiq
import redis
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Middleware
from dramatiq.threading import Interrupt
from sqlalchemy.orm import Session

from app.config import get_settings
from app.db import on_commit
from app.jobs import outbox, scratch

logger = logging.getLogger("clipshop.jobs")

QUEUES = ("default", "transcode")
INPROCESS_STOP_TIMEOUT_MS = 10_000

_current = threading.local()


class _JobContext(Middleware):
    """Tells the actor wrapper which job row the message in this thread runs."""

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        _current.job_id = message.options.get(outbox.JOB_OPTION)

    def after_process_message(
        self, broker: dramatiq.Broker, message: MessageProxy, *, result: Any = None, exception: Any = None
    ) -> None:
        _current.job_id = None

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        _current.job_id = None


def _make_broker() -> dramatiq.Broker:
    settings = get_settings()
    broker: dramatiq.Broker
    if settings.redis_url:
        timeout = settings.redis_socket_timeout_seconds
        client = redis.Redis.from_url(
            settings.redis_url,
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            health_check_interval=30,
        )
        broker = RedisBroker(client=client, namespace=settings.redis_namespace)
    else:
        broker = StubBroker()
        broker.emit_after("process_boot")
    broker.add_middleware(_JobContext())
    for queue in QUEUES:
        broker.declare_queue(queue)
    dramatiq.set_broker(broker)
    return broker


broker = _make_broker()
relay = outbox.Relay(broker)
_worker: dramatiq.Worker | None = None


def actor(fn: Callable[..., Any] | None = None, *, queue: str = "default", **options: Any) -> Any:
    """``dramatiq.actor`` bound to ClipShop's broker and queues.

    A message relayed from the outbox runs only under the job's lease (a duplicate is dropped);
    when the body raises, the job is retried from the outbox with exponential backoff
    (``min_backoff``/``max_backoff`` ms) up to ``max_retries`` times, then marked ``failed``.
    A message sent directly with ``.send()`` (periodic maintenance) runs as plain Dramatiq."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")

    def decorate(func: Callable[..., Any]) -> Any:
        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            job_id = getattr(_current, "job_id", None)
            if job_id is None:
                return func(*args, **kwargs)
            return _run_leased(uuid.UUID(job_id), func, options, args, kwargs)

        return dramatiq.actor(queue_name=queue, broker=broker, **options)(run)

    return decorate(fn) if fn is not None else decorate


def _run_leased(
    job_id: uuid.UUID, func: Callable[..., Any], options: dict[str, Any], args: Any, kwargs: Any
) -> Any:
    if not outbox.acquire(job_id):
        logger.debug("duplicate job message dropped", extra={"job_id": str(job_id)})
        return None
    try:
        result = func(*args, **kwargs)
    except (Exception, Interrupt) as exc:  # Interrupt: the actor's time limit
        outbox.fail(job_id, exc, options)
        relay.wake()
        return None
    outbox.complete(job_id)
    return result


def enqueue(session: Session, actor_fn: Any, *args: Any, **kwargs: Any) -> uuid.UUID:
    """Durably schedule ``actor_fn(*args, **kwargs)``: the job row joins ``session``'s
    transaction (nothing is scheduled on rollback) and is relayed to the broker once it commits,
    now or, if the broker is down, as soon as it is back. Returns the job id."""
    job_id = outbox.add_job(session, actor_fn, args, kwargs)
    on_commit(session, relay.wake)
    return job_id


def is_inprocess() -> bool:
    return isinstance(broker, StubBroker)


# --- the job runtime of a process that runs jobs: heartbeat, reaper, scratch folder ---------------


class _Supervisor:
    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.requeue_sent = False

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="clipshop-job-supervisor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._thread = None

    def _run(self) -> None:
        settings = get_settings()
        beat = settings.job_heartbeat_seconds
        reap_every = settings.job_reap_interval_seconds
        next_reap = 0.0
        failing = False
        while True:
            try:
                if self.requeue_sent:
                    # The in-memory queue of a previous embedded process is gone with it.
                    requeued = outbox.requeue_sent("in-process queue lost at restart")
                    self.requeue_sent = False
                    if requeued:
                        logger.info("jobs sent again after a restart", extra={"jobs": requeued})
                        relay.wake()
                outbox.heartbeat()
                scratch.touch()
                if time.monotonic() >= next_reap:
                    next_reap = time.monotonic() + reap_every
                    counts = outbox.reap_once(broker)
                    if counts["expired"] or counts["redelivered"]:
                        relay.wake()
                    scratch.purge_dead(live_lease_owners=outbox.live_lease_owners)
                if failing:
                    logger.info("job supervisor: the database answers again")
                failing = False
            except Exception as exc:  # the database is unreachable: next beat (logged once)
                if not failing:
                    logger.warning(
                        "job supervisor: leases cannot be renewed or reaped", extra={"error": repr(exc)[:300]}
                    )
                failing = True
            if self._stop.wait(min(beat, reap_every)):
                return


_supervisor = _Supervisor()


def start_job_runtime(*, after_crash_of_inprocess_broker: bool = False) -> int:
    """Start what every process that runs jobs needs: its own scratch folder (and removal of the
    folders of dead job processes), the lease heartbeat, the reaper and the relay. Returns the
    number of dead scratch folders removed."""
    scratch.claim(outbox.owner_id())
    removed = 0
    try:
        removed = scratch.purge_dead(live_lease_owners=outbox.live_lease_owners)
    except Exception:  # the database is not reachable (or not migrated) yet: maintenance retries
        logger.warning("could not check the scratch folders of dead job processes", exc_info=True)
    _supervisor.requeue_sent = after_crash_of_inprocess_broker
    _supervisor.start()
    relay.start()
    relay.wake()
    return removed


def stop_job_runtime(*, release_scratch: bool = True) -> None:
    _supervisor.stop()
    relay.stop()
    if release_scratch:
        scratch.release()


def start_inprocess_worker(threads: int = 2) -> bool:
    """Start the embedded worker once per process (True when this call started it); it lives
    until :func:`stop_inprocess_worker` or the process exits."""
    global _worker
    if _worker is not None or not is_inprocess():
        return False
    _worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=100)
    _worker.start()
    start_job_runtime(after_crash_of_inprocess_broker=True)
    atexit.register(scratch.release)
    atexit.register(stop_inprocess_worker)
    from app.jobs.periodic import start_periodic_maintenance

    start_periodic_maintenance()
    return True


def stop_inprocess_worker() -> bool:
    """Stop the embedded worker (True when one was running)."""
    global _worker
    if _worker is None:
        return False
    from app.jobs.periodic import stop_periodic_maintenance

    stop_periodic_maintenance()
    # Running jobs get a few seconds to finish (their leases renewed meanwhile); one still
    # running after that is retried by another process once its lease expires.
    _worker.stop(timeout=INPROCESS_STOP_TIMEOUT_MS)
    stop_job_runtime(release_scratch=False)  # the process's temporary files live there
    _worker = None
    return True


def drain(timeout_ms: int = 120_000) -> None:
    """Wait until every job due now has run, in-process (tests, CLI seeding)."""
    if not is_inprocess():
        raise RuntimeError("drain() only works with the in-process broker")
    start_inprocess_worker()
    assert isinstance(broker, StubBroker) and _worker is not None
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        while outbox.relay_once(broker):
            pass
        for queue in QUEUES:
            remaining = max(int((deadline - time.monotonic()) * 1000), 1)
            broker.join(queue, timeout=remaining, fail_fast=True)
        _worker.join()
        if not outbox.unfinished_count():
            return
        if time.monotonic() > deadline:
            raise TimeoutError("jobs still unfinished after drain's timeout")
        time.sleep(0.05)
