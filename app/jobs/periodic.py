"""Periodic maintenance inside worker processes: every ``CLIPSHOP_SWEEP_INTERVAL_SECONDS`` the
domain ``maintenance`` actors are sent (recovery sweep of stuck clips, abandoned upload cleanup).

Each worker process schedules its own; the jobs are idempotent, so several workers sending them is
harmless (only wasted work).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from app.config import get_settings
from app.registry import domain_modules

logger = logging.getLogger("clipshop.jobs.periodic")

_stop = threading.Event()
_thread: threading.Thread | None = None


def maintenance_actors() -> list[Any]:
    return [m.maintenance for m in domain_modules("tasks") if hasattr(m, "maintenance")]


def send_maintenance() -> None:
    for maintenance_actor in maintenance_actors():
        maintenance_actor.send()


def _loop(interval: float, run_at_start: bool) -> None:
    if run_at_start:
        send_maintenance()
    while not _stop.wait(interval):
        try:
            send_maintenance()
        except Exception:  # the broker may be briefly unreachable; try again next round
            logger.exception("could not schedule maintenance")


def start_periodic_maintenance(*, run_at_start: bool = False) -> None:
    global _thread
    if _thread is not None:
        return
    _stop.clear()
    interval = float(get_settings().sweep_interval_seconds)
    _thread = threading.Thread(
        target=_loop, args=(interval, run_at_start), name="clipshop-maintenance", daemon=True
    )
    _thread.start()


def stop_periodic_maintenance() -> None:
    global _thread
    _stop.set()
    if _thread is not None:
        _thread.join(timeout=5)
    _thread = None
