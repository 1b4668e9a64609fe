"""Notifications: the in-app inbox and outbound webhooks.

Public API for other domains (call these, never the tables):

* :func:`notify` — put an entry in a user's inbox.
* :func:`emit_event` — queue a webhook event to the subscribed endpoints of a user or of a
  merchant organisation; sent after the caller's transaction commits, signed as Standard
  Webhooks, retried with backoff (``CLIPSHOP_WEBHOOK_RETRY_SCHEDULE_SECONDS``).
* :func:`new_follower`, :func:`clip_processed` — the inbox entry and webhook event of those
  moments, for the follow route and the transcoding job.

Services flush and never commit; HTTP requests to endpoints are only made by the delivery job
(``app/notifications/tasks.py``), never inside a request or a transaction.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.config import get_settings
from app.db import session_scope, utcnow
from app.notifications.exceptions import (
    InvalidWebhookUrl,
    NotificationNotFound,
    UnknownEventType,
    WebhookDeliveryNotFound,
    WebhookEndpointNotFound,
)
from app.notifications.models import (
    DeliveryStatus,
    Notification,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from app.notifications.models import (
    NotificationKind as NotificationKind,  # re-exported: the inbox kinds other domains send
)
from app.pagination import decode_cursor, encode_cursor

logger = logging.getLogger("clipshop.notifications")


# Webhook event types an endpoint may subscribe to: every type :func:`emit_event` sends (it
# refuses any other), plus ``webhook.test``.
WEBHOOK_EVENT_TYPES = (
    "clip.ready",
    "clip.failed",
    "order.paid",
    "order.refunded",
    "collaboration.invited",
    "creator.admission_changed",
    "commission.pending",
    "commission.payable",
    "commission.reversed",
    "payout.created",
    "payout.paid",
    "payout.failed",
    "webhook.test",
)

SIGNATURE_VERSION = "v1"
SECRET_PREFIX = "whsec_"


# ---------------------------------------------------------------------------- inbox


def notify(
    session: Session,
    *,
    user_id: uuid.UUID,
    kind: NotificationKind,
    title: str,
    body: str = "",
    data: dict[str, Any] | None = None,
) -> None:
    """Add an unread entry to ``user_id``'s inbox (flushed with the caller's transaction).
    ``kind`` must be a :class:`NotificationKind` (a ``ValueError`` otherwise)."""
    kind = NotificationKind(kind)
    session.add(
        Notification(
            id=uuid.uuid4(),
            user_id=user_id,
            kind=kind.value,
            title=title[:200],
            body=body,
            data=data or {},
            created_at=utcnow(),
        )
    )
    session.flush()


def new_follower(
    session: Session, *, creator_id: uuid.UUID, follower_id: uuid.UUID, name: str | None
) -> None:
    """The "you have a new follower", once a day per follower (follow/unfollow/follow again is one)."""
    since = utcnow() - timedelta(days=1)
    recent = session.scalars(
        select(Notification.data).where(
            Notification.user_id == creator_id,
            Notification.kind == NotificationKind.new_follower.value,
            Notification.created_at > since,
        )
    ).all()
    if any((data or {}).get("follower_id") == str(follower_id) for data in recent):
        return
    notify(
        session,
        user_id=creator_id,
        kind=NotificationKind.new_follower,
        title="You have a new follower",
        body=f"{name} follows you" if name else "Someone started following you",
        data={"follower_id": str(follower_id), "name": name},
    )


def clip_processed(
    session: Session,
    *,
    clip_id: uuid.UUID,
    creator_id: uuid.UUID,
    status: str,
    failure_code: str | None = None,
) -> None:
    """A clip finished processing (``status`` ``ready`` or ``failed``): the creator's inbox entry
    and the ``clip.ready`` / ``clip.failed`` webhook event. Call it in the transaction that sets
    the clip's final status."""
    ready = status == "ready"
    data: dict[str, Any] = {"clip_id": str(clip_id), "status": status}
    if not ready:
        data["failure_code"] = failure_code
    notify(
        session,
        user_id=creator_id,
        kind=NotificationKind.clip_ready if ready else NotificationKind.clip_failed,
        title="Your clip is ready" if ready else "Your clip could not be processed",
        body="" if ready else f"Reason: {failure_code or 'unknown'}",
        data=data,
    )
    emit_event(session, event_type="clip.ready" if ready else "clip.failed", payload=data, user_id=creator_id)


def list_notifications(
    session: Session, user_id: uuid.UUID, *, cursor: str | None, limit: int, unread_only: bool = False
) -> tuple[list[Notification], str | None, int]:
    """Newest first; returns (page, next cursor, unread count)."""
    query = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    key = decode_cursor(cursor, 2)
    if key is not None:
        at, last_id = datetime.fromisoformat(key[0]), uuid.UUID(key[1])
        query = query.where(
            (Notification.created_at < at) | ((Notification.created_at == at) & (Notification.id < last_id))
        )
    rows = list(
        session.scalars(
            query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit + 1)
        )
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].created_at.isoformat(), rows[-1].id)
    unread = session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )
    return rows, next_cursor, int(unread or 0)


def set_read(session: Session, user_id: uuid.UUID, notification_id: uuid.UUID, read: bool) -> Notification:
    row = session.get(Notification, notification_id)
    if row is None or row.user_id != user_id:
        raise NotificationNotFound("No such notification in your inbox")
    if read and row.read_at is None:
        row.read_at = utcnow()
    elif not read:
        row.read_at = None
    session.flush()
    return row


def mark_all_read(session: Session, user_id: uuid.UUID) -> int:
    result = session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    session.flush()
    return int(getattr(result, "rowcount", 0) or 0)


# ---------------------------------------------------------------------------- signatures


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _secret_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value (Standard Webhooks): ``v1,`` + base64 HMAC-SHA256 of
    ``"{webhook-id}.{webhook-timestamp}.{body}"`` keyed with the base64-decoded secret."""
    content = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_secret_bytes(secret), content, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def verify(
    secret: str, headers: dict[str, str], body: bytes, *, tolerance: int = 300, now: float | None = None
) -> bool:
    """What a receiver does: the timestamp within ``tolerance`` seconds and one of the
    space-separated signatures matching."""
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        message_id = lowered["webhook-id"]
        timestamp = int(lowered["webhook-timestamp"])
        signatures = lowered["webhook-signature"].split()
    except (KeyError, ValueError):
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, message_id, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in signatures)


# ---------------------------------------------------------------------------- endpoints


@dataclass(frozen=True)
class WebhookOwner:
    user_id: uuid.UUID | None = None
    organisation_id: uuid.UUID | None = None

    def where(self) -> Any:
        if self.organisation_id is not None:
            return WebhookEndpoint.organisation_id == self.organisation_id
        return (WebhookEndpoint.user_id == self.user_id) & WebhookEndpoint.organisation_id.is_(None)


def _is_private(host: str) -> bool:
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (socket.gaierror, UnicodeError):
        return True
    for address in addresses:
        ip = ipaddress.ip_address(str(address).split("%", 1)[0])
        if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast:
            return True
    return False


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidWebhookUrl("The endpoint URL must be an absolute http(s) URL")
    if parts.username or parts.password:
        raise InvalidWebhookUrl("The endpoint URL must not carry credentials")
    if not get_settings().webhook_private_urls_allowed and _is_private(parts.hostname):
        raise InvalidWebhookUrl("The endpoint must be reachable on a public address")
    return url


def _check_event_types(event_types: list[str]) -> list[str]:
    unknown = sorted(set(event_types) - set(WEBHOOK_EVENT_TYPES))
    if unknown:
        raise UnknownEventType(f"Unknown event types: {', '.join(unknown)}", known=list(WEBHOOK_EVENT_TYPES))
    return sorted(set(event_types))


def create_endpoint(
    session: Session, owner: WebhookOwner, *, url: str, description: str | None, event_types: list[str]
) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(
        id=uuid.uuid4(),
        user_id=owner.user_id,
        organisation_id=owner.organisation_id,
        url=check_url(url),
        description=description,
        secret=new_secret(),
        event_types=_check_event_types(event_types),
        active=True,
    )
    session.add(endpoint)
    session.flush()
    return endpoint


def list_endpoints(session: Session, owner: WebhookOwner) -> list[WebhookEndpoint]:
    return list(
        session.scalars(select(WebhookEndpoint).where(owner.where()).order_by(WebhookEndpoint.created_at))
    )


def get_endpoint(session: Session, owner: WebhookOwner, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    endpoint = session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id, owner.where()))
    if endpoint is None:
        raise WebhookEndpointNotFound("No such webhook endpoint")
    return endpoint


def update_endpoint(session: Session, endpoint: WebhookEndpoint, changes: dict[str, Any]) -> WebhookEndpoint:
    if "url" in changes and changes["url"] is not None:
        endpoint.url = check_url(changes["url"])
    if "description" in changes:
        endpoint.description = changes["description"]
    if "event_types" in changes and changes["event_types"] is not None:
        endpoint.event_types = _check_event_types(changes["event_types"])
    if "active" in changes and changes["active"] is not None:
        endpoint.active = bool(changes["active"])
    if changes.get("rotate_secret"):
        endpoint.secret = new_secret()
    session.flush()
    return endpoint


def delete_endpoint(session: Session, endpoint: WebhookEndpoint) -> None:
    session.delete(endpoint)
    session.flush()


# ---------------------------------------------------------------------------- events and deliveries


def _body(message_id: str, event_type: str, payload: dict[str, Any], at: datetime) -> str:
    return json.dumps(
        {
            "id": message_id,
            "type": event_type,
            "timestamp": at.isoformat().replace("+00:00", "Z"),
            "data": payload,
        },
        separators=(",", ":"),
        default=str,
    )


def _queue(
    session: Session, endpoint: WebhookEndpoint, event_type: str, payload: dict[str, Any]
) -> WebhookDelivery:
    now = utcnow()
    message_id = f"msg_{uuid.uuid4().hex}"
    delivery = WebhookDelivery(
        id=uuid.uuid4(),
        endpoint_id=endpoint.id,
        message_id=message_id,
        event_type=event_type,
        body=_body(message_id, event_type, payload, now),
        status=DeliveryStatus.pending,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(delivery)
    session.flush()
    _send_after_commit(session, delivery.id)
    return delivery


def emit_event(
    session: Session,
    *,
    event_type: str,
    payload: dict[str, Any],
    user_id: uuid.UUID | None = None,
    organisation_id: uuid.UUID | None = None,
) -> None:
    """Queue ``event_type`` with ``payload`` (JSON-serialisable) to every active endpoint of the
    owner (a user, or a merchant organisation) subscribed to it. The deliveries are stored in the
    caller's transaction and sent by the delivery job once it commits (dropped on rollback)."""
    if user_id is None and organisation_id is None:
        raise ValueError("emit_event needs a user_id or an organisation_id")
    if event_type not in WEBHOOK_EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r} (add it to WEBHOOK_EVENT_TYPES)")
    owner = WebhookOwner(
        user_id=user_id if organisation_id is None else None, organisation_id=organisation_id
    )
    endpoints = session.scalars(
        select(WebhookEndpoint).where(owner.where(), WebhookEndpoint.active.is_(True))
    ).all()
    for endpoint in endpoints:
        if endpoint.event_types and event_type not in endpoint.event_types:
            continue
        _queue(session, endpoint, event_type, payload)


def send_test(session: Session, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A ``webhook.test`` event to this endpoint only (whatever it subscribes to)."""
    return _queue(session, endpoint, "webhook.test", {"endpoint_id": str(endpoint.id)})


def list_deliveries(
    session: Session,
    endpoint: WebhookEndpoint,
    *,
    cursor: str | None,
    limit: int,
    status: DeliveryStatus | None,
) -> tuple[list[WebhookDelivery], str | None]:
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    key = decode_cursor(cursor, 2)
    if key is not None:
        at, last_id = datetime.fromisoformat(key[0]), uuid.UUID(key[1])
        query = query.where(
            (WebhookDelivery.created_at < at)
            | ((WebhookDelivery.created_at == at) & (WebhookDelivery.id < last_id))
        )
    rows = list(
        session.scalars(
            query.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc()).limit(limit + 1)
        )
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].created_at.isoformat(), rows[-1].id)
    return rows, next_cursor


def get_delivery(session: Session, endpoint: WebhookEndpoint, delivery_id: uuid.UUID) -> WebhookDelivery:
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint.id:
        raise WebhookDeliveryNotFound("No such delivery for this endpoint")
    return delivery


def delivery_attempts(session: Session, delivery_id: uuid.UUID) -> list[WebhookAttempt]:
    return list(
        session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id == delivery_id)
            .order_by(WebhookAttempt.attempted_at, WebhookAttempt.id)
        )
    )


def redeliver(session: Session, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send the same message (same ``webhook-id`` and body) again now, with a fresh retry
    schedule, whatever its state."""
    delivery.status = DeliveryStatus.pending
    delivery.attempts = 0
    delivery.next_attempt_at = utcnow()
    session.flush()
    _send_after_commit(session, delivery.id)
    return delivery


def _send_after_commit(session: Session, delivery_id: uuid.UUID, delay_seconds: float = 0.0) -> None:
    from app.notifications import tasks

    tasks.enqueue_delivery(session, delivery_id, delay_seconds)


# ---------------------------------------------------------------------------- the delivery job


def _claim(delivery_id: uuid.UUID, now: datetime) -> tuple[str, str, str, str] | None:
    """Take a due delivery for one attempt (a lease as long as the request may take, so that a
    sweep or a duplicate message does not send it twice meanwhile): its (url, secret, message id,
    body), or ``None`` when it is not due, not pending or its endpoint is disabled."""
    lease = now + timedelta(seconds=get_settings().webhook_timeout_seconds + 30)
    with session_scope() as session:
        claimed = session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == delivery_id,
                WebhookDelivery.status == DeliveryStatus.pending,
                WebhookDelivery.next_attempt_at <= now,
            )
            .values(next_attempt_at=lease)
        )
        if not getattr(claimed, "rowcount", 0):
            return None
        delivery = session.get(WebhookDelivery, delivery_id)
        assert delivery is not None
        endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
        if endpoint is None or not endpoint.active:
            delivery.status = DeliveryStatus.failed
            delivery.next_attempt_at = None
            delivery.last_error = "endpoint disabled"
            return None
        return endpoint.url, endpoint.secret, delivery.message_id, delivery.body


def _post(url: str, secret: str, message_id: str, body: bytes) -> tuple[int | None, str | None, str | None]:
    """(status code, response body excerpt, error)."""
    settings = get_settings()
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "user-agent": "ClipShop-Webhooks/1",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id, timestamp, body),
    }
    try:
        host = urlsplit(url).hostname or ""
        if not settings.webhook_private_urls_allowed and _is_private(host):
            return None, None, "the endpoint resolves to a private address"
        with httpx.Client(timeout=settings.webhook_timeout_seconds, follow_redirects=False) as client:
            response = client.post(url, content=body, headers=headers)
        excerpt = response.content[: settings.webhook_log_body_bytes].decode("utf-8", "replace")
        return response.status_code, excerpt, None
    except httpx.HTTPError as exc:
        return None, None, f"{type(exc).__name__}: {exc}"[:500]


def attempt_delivery(delivery_id: uuid.UUID, now: datetime | None = None) -> str:
    """One attempt at a due delivery (what the job runs): ``succeeded``, ``retry`` (scheduled
    again after the next backoff step), ``failed`` (retries used up) or ``skipped``."""
    claimed = _claim(delivery_id, now or utcnow())
    if claimed is None:
        return "skipped"
    url, secret, message_id, body = claimed
    started = time.perf_counter()
    status_code, excerpt, error = _post(url, secret, message_id, body.encode())
    duration_ms = int((time.perf_counter() - started) * 1000)
    ok = status_code is not None and 200 <= status_code < 300
    schedule = get_settings().webhook_retry_schedule_seconds
    with session_scope() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is None:  # its endpoint was deleted meanwhile
            return "skipped"
        finished = utcnow()
        session.add(
            WebhookAttempt(
                id=uuid.uuid4(),
                delivery_id=delivery_id,
                attempted_at=finished,
                status_code=status_code,
                duration_ms=duration_ms,
                error=error,
                response_body=excerpt,
            )
        )
        delivery.attempts += 1
        delivery.last_attempt_at = finished
        delivery.last_status_code = status_code
        delivery.last_error = error if not ok else None
        if ok:
            delivery.status = DeliveryStatus.succeeded
            delivery.delivered_at = finished
            delivery.next_attempt_at = None
            return "succeeded"
        if delivery.attempts > len(schedule):
            delivery.status = DeliveryStatus.failed
            delivery.next_attempt_at = None
            return "failed"
        delay = float(schedule[delivery.attempts - 1])
        delivery.next_attempt_at = finished + timedelta(seconds=delay)
        _send_after_commit(session, delivery_id, delay)
        return "retry"


def due_deliveries(
    session: Session, *, now: datetime | None = None, grace_seconds: float = 30.0, limit: int = 500
) -> list[uuid.UUID]:
    """Pending deliveries overdue by more than ``grace_seconds`` (their message was lost, say the
    broker was down at commit): the maintenance sweep sends them again."""
    cutoff = (now or utcnow()) - timedelta(seconds=grace_seconds)
    return list(
        session.scalars(
            select(WebhookDelivery.id)
            .where(
                WebhookDelivery.status == DeliveryStatus.pending, WebhookDelivery.next_attempt_at <= cutoff
            )
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(limit)
        )
    )
