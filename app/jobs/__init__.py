"""Background jobs on Dramatiq.

With ``CLIPSHOP_REDIS_URL`` set, messages go to Redis and separate ``clipshop worker`` processes
run them. Without it (the embedded default) the same actors run on an in-process worker.
Jobs are only ever sent after the enqueuing transaction commits (:func:`enqueue`).
"""

from __future__ import annotations

import atexit
from collections.abc import Callable
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from sqlalchemy.orm import Session

from app.config import get_settings
from app.db import on_commit

QUEUES = ("default", "transcode")


def _make_broker() -> dramatiq.Broker:
    settings = get_settings()
    broker: dramatiq.Broker
    if settings.redis_url:
        broker = RedisBroker(url=settings.redis_url, namespace=settings.redis_namespace)
    else:
        broker = StubBroker()
        broker.emit_after("process_boot")
    for queue in QUEUES:
        broker.declare_queue(queue)
    dramatiq.set_broker(broker)
    return broker


broker = _make_broker()
_worker: dramatiq.Worker | None = None


def actor(fn: Callable[..., Any] | None = None, *, queue: str = "default", **options: Any) -> Any:
    """``dramatiq.actor`` bound to ClipShop's broker and queues."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")

    def decorate(func: Callable[..., Any]) -> Any:
        return dramatiq.actor(queue_name=queue, broker=broker, **options)(func)

    return decorate(fn) if fn is not None else decorate


def enqueue(session: Session, actor_fn: Any, *args: Any, **kwargs: Any) -> None:
    """Send ``actor_fn(*args, **kwargs)`` once ``session`` commits; nothing is sent on rollback."""
    on_commit(session, lambda: actor_fn.send(*args, **kwargs))


def is_inprocess() -> bool:
    return isinstance(broker, StubBroker)


def start_inprocess_worker(threads: int = 2) -> None:
    """Start the embedded worker once per process; it lives until the process exits."""
    global _worker
    if _worker is None and is_inprocess():
        _worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=100)
        _worker.start()
        atexit.register(stop_inprocess_worker)
        from app.jobs.periodic import start_periodic_maintenance

        start_periodic_maintenance()


def stop_inprocess_worker() -> None:
    global _worker
    if _worker is not None:
        from app.jobs.periodic import stop_periodic_maintenance

        stop_periodic_maintenance()
        _worker.stop()
        _worker = None


def drain(timeout_ms: int = 120_000) -> None:
    """Wait until every queued in-process job has run (tests, CLI seeding)."""
    if not is_inprocess():
        raise RuntimeError("drain() only works with the in-process broker")
    start_inprocess_worker()
    assert isinstance(broker, StubBroker) and _worker is not None
    for queue in QUEUES:
        broker.join(queue, timeout=timeout_ms, fail_fast=True)
    _worker.join()
