"""The ``clipshop worker`` process: consumes the Redis queues with Dramatiq."""

from __future__ import annotations

import argparse
import logging
import signal
import subprocess
import sys
import threading

from app import jobs
from app.jobs.periodic import start_periodic_maintenance, stop_periodic_maintenance
from app.registry import import_all_tasks

logger = logging.getLogger("clipshop.worker")


def _run_processes(args: argparse.Namespace) -> int:
    """--processes N: N independent worker processes (ffmpeg work scales across cores this way)."""
    cmd = [sys.executable, "-m", "app", "worker", "--processes", "1", "--threads", str(args.threads)]
    if args.queues:
        cmd += ["--queues", *args.queues]
    children = [subprocess.Popen(cmd) for _ in range(args.processes)]

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    return max(child.wait() for child in children)


def run_worker(args: argparse.Namespace) -> int:
    if jobs.is_inprocess():
        logger.error("CLIPSHOP_REDIS_URL is not set: the embedded mode runs jobs inside the API process")
        return 2
    if getattr(args, "processes", 1) > 1:
        return _run_processes(args)
    import_all_tasks()
    queues = set(args.queues) if args.queues else None
    worker = jobs.dramatiq.Worker(jobs.broker, queues=queues, worker_threads=args.threads)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    # Before taking any job: a scratch folder of its own, the folders of dead job processes
    # removed, leases renewed, dead workers' jobs put back, outbox rows relayed.
    removed = jobs.start_job_runtime()
    worker.start()
    # Recovery sweep + upload cleanup run on a timer in every worker process, starting now so a
    # restarted worker picks up clips that a crashed one left in `processing`.
    start_periodic_maintenance(run_at_start=True)
    logger.info(
        "worker started",
        extra={
            "queues": sorted(queues or jobs.QUEUES),
            "threads": args.threads,
            "owner": jobs.outbox.owner_id(),
            "dead_scratch_folders_removed": removed,
        },
    )
    stop.wait()
    logger.info("worker stopping")
    stop_periodic_maintenance()
    worker.stop()
    jobs.stop_job_runtime()
    return 0
