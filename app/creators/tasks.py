from __future__ import annotations

import logging

from app.config import get_settings
from app.creators import service
from app.db import session_scope, utcnow
from app.jobs import actor

logger = logging.getLogger("clipshop.creators")


def run_maintenance() -> dict[str, int]:
    """Release commissions whose return window is over, re-evaluate admissions that are due and
    (when ``CLIPSHOP_CREATOR_AUTO_PAYOUTS``) run the day's payout run, keyed by the UTC date so
    that running this again the same day pays nobody twice, and move the balance checkpoints of
    long ledgers. Each step is its own transaction."""
    with session_scope() as session:
        released = service.release_due(session)
    with session_scope() as session:
        reevaluated = service.reevaluate_due(session)
    payouts = 0
    if get_settings().creator_auto_payouts:
        with session_scope() as session:
            run, created = service.run_payouts(session, key=f"auto-{utcnow().date().isoformat()}")
            payouts = len(service.run_payouts_list(session, run.id)) if created else 0
    with session_scope() as session:
        checkpoints = service.checkpoint_balances(session)
    return {"released": released, "reevaluated": reevaluated, "payouts": payouts, "checkpoints": checkpoints}


@actor(queue="default", max_retries=1, actor_name="creators_maintenance")
def maintenance() -> None:
    """Periodic, with the other domains' maintenance (``app.jobs.periodic``)."""
    logger.info("creator programme maintenance", extra=run_maintenance())
