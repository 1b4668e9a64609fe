"""Webhook delivery jobs.

Every delivery is a row (``webhook_delivery``) written in the transaction that produced the
event; the job message only says "try this one now". :func:`enqueue_delivery` is the one place
that sends such messages (after the commit; a retry with the backoff delay). Should a message be
lost (broker down at commit, worker killed), the periodic ``maintenance`` sweep sends overdue
deliveries again; an attempt first claims its delivery with a lease, so duplicates are harmless.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from app.db import on_commit, session_scope
from app.jobs import actor
from app.notifications import service


@actor(queue="default", max_retries=0, actor_name="notifications_deliver_webhook")
def deliver_webhook(delivery_id: str) -> None:
    service.attempt_delivery(uuid.UUID(delivery_id))


def enqueue_delivery(session: Session, delivery_id: uuid.UUID, delay_seconds: float = 0.0) -> None:
    """Send the delivery job once ``session`` commits (nothing on rollback)."""
    delay_ms = max(0, int(delay_seconds * 1000))

    def send() -> None:
        if delay_ms:
            deliver_webhook.send_with_options(args=(str(delivery_id),), delay=delay_ms)
        else:
            deliver_webhook.send(str(delivery_id))

    on_commit(session, send)


@actor(queue="default", max_retries=1, actor_name="notifications_maintenance")
def maintenance() -> None:
    """Periodic (``app.jobs.periodic``): send again the deliveries whose message was lost."""
    with session_scope() as session:
        due = service.due_deliveries(session)
    for delivery_id in due:
        deliver_webhook.send(str(delivery_id))
