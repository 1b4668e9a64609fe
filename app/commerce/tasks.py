from __future__ import annotations

from app.commerce import service
from app.db import session_scope
from app.jobs import actor


@actor(queue="default", max_retries=3)
def expire_pending_orders() -> int:
    """Sweep unpaid orders past their expiry (state tidy-up; availability never waits for it)."""
    with session_scope() as session:
        return service.expire_orders(session)


@actor(queue="default", max_retries=1, actor_name="commerce_maintenance")
def maintenance() -> None:
    """Periodic, with the other domains' maintenance (``app.jobs.periodic``): releases the
    reservations of unpaid orders past their expiry and marks the orders expired."""
    with session_scope() as session:
        service.expire_orders(session)
