from __future__ import annotations

from app.analytics import rollups
from app.db import new_session, session_scope
from app.feed import service as feed_service
from app.jobs import actor

AGGREGATE_LIMIT = 50_000


def refresh() -> tuple[int, int]:
    """Bring every rollup up to date: the pending events (the feed's aggregator, which folds them
    into the analytics rollups in the same transaction) and the orders changed since the last
    sync. Returns (events folded, orders looked at)."""
    events = 0
    while True:
        with feed_service.writer_lock(), new_session() as session:
            n = feed_service.aggregate_pending(session, AGGREGATE_LIMIT)
            session.commit()
        events += n
        if n < AGGREGATE_LIMIT:
            break
    with session_scope() as session:
        orders = rollups.sync_orders(session)
    return events, orders


@actor(queue="default", max_retries=1, actor_name="analytics_maintenance")
def maintenance() -> None:
    """Periodic, with the other domains' maintenance (``app.jobs.periodic``): folds pending events
    and changed orders into the rollups (the API processes fold events every second as well)."""
    refresh()
