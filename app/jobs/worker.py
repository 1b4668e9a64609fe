"""The ``clipshop worker`` process: consumes the Redis queues with Dramatiq."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from app import jobs
from app.registry import import_all_tasks

logger = logging.getLogger("clipshop.worker")


def run_worker(args: argparse.Namespace) -> int:
    if jobs.is_inprocess():
        logger.error("CLIPSHOP_REDIS_URL is not set: the embedded mode runs jobs inside the API process")
        return 2
    import_all_tasks()
    queues = set(args.queues) if args.queues else None
    worker = jobs.dramatiq.Worker(jobs.broker, queues=queues, worker_threads=args.threads)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    worker.start()
    logger.info("worker started", extra={"queues": sorted(queues or jobs.QUEUES), "threads": args.threads})
    stop.wait()
    logger.info("worker stopping")
    worker.stop()
    return 0
