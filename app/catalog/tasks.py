"""Catalog jobs, registered with the worker: bulk imports, and the sweep of imports left behind."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from sqlalchemy import select

from app.catalog.imports import run_import
from app.catalog.models import CatalogImport, ImportStatus
from app.config import get_settings
from app.db import as_utc, session_scope, utcnow
from app.jobs import actor, enqueue
from app.jobs.models import JobStatus
from app.jobs.outbox import latest_job_status

__all__ = ["maintenance", "run_import", "sweep_stuck_imports"]

log = logging.getLogger("clipshop.catalog.tasks")


def sweep_stuck_imports(older_than: timedelta | None = None) -> list[uuid.UUID]:
    """Imports still ``queued``/``running`` past the deadline with no job left to run them (their
    job gave up, or they predate the outbox): schedule them again, or mark them failed when
    their job failed for good. Returns the imports scheduled again."""
    cutoff = utcnow() - (older_than or timedelta(seconds=get_settings().stuck_processing_seconds))
    requeued = []
    with session_scope() as session:
        stuck = session.scalars(
            select(CatalogImport).where(CatalogImport.status.in_([ImportStatus.queued, ImportStatus.running]))
        ).all()
        for row in stuck:
            if as_utc(row.updated_at) >= cutoff:
                continue
            status = latest_job_status(session, run_import, str(row.id))
            if status in (JobStatus.pending, JobStatus.sent, JobStatus.running):
                continue  # its job will run (the jobs reaper retries it if its worker died)
            if status is JobStatus.failed:
                row.status = ImportStatus.failed
                row.errors = [
                    {
                        "row": 0,
                        "sku": None,
                        "field": None,
                        "message": "The import could not be run; try again.",
                    }
                ]
                row.finished_at = utcnow()
                continue
            row.updated_at = utcnow()
            enqueue(session, run_import, str(row.id))
            requeued.append(row.id)
    return requeued


@actor(queue="default", max_retries=1, actor_name="catalog_maintenance")
def maintenance() -> None:
    """Periodic, with the other domains' maintenance (``app.jobs.periodic``)."""
    requeued = sweep_stuck_imports()
    if requeued:
        log.info("stuck imports scheduled again", extra={"imports": len(requeued)})
