"""In-app notifications and outbound webhooks (endpoints, deliveries, attempts)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, Timestamps, UUIDPrimaryKey, utcnow


class NotificationKind(StrEnum):
    """Every kind of inbox entry the server writes: the one list (the API's ``kind`` enum, what
    :func:`app.notifications.service.notify` accepts). A domain that sends a new kind adds it here."""

    new_follower = "new_follower"
    reply = "reply"
    mention = "mention"
    moderation = "moderation"
    clip_ready = "clip_ready"
    clip_failed = "clip_failed"
    collaboration_invited = "collaboration_invited"
    creator_admission_changed = "creator_admission_changed"
    commission_pending = "commission_pending"
    commission_payable = "commission_payable"
    payout_created = "payout_created"
    payout_paid = "payout_paid"
    payout_failed = "payout_failed"


class Notification(UUIDPrimaryKey, Base):
    """One entry of a user's inbox."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_id_created_at", "user_id", "created_at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    read_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookEndpoint(UUIDPrimaryKey, Timestamps, Base):
    """A URL of a creator's (``user_id``) or merchant's (``organisation_id``) own system."""

    __tablename__ = "webhook_endpoint"

    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("merchant_organisation.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(200))
    # ``whsec_`` + base64 of 32 random bytes (the Standard Webhooks form)
    secret: Mapped[str] = mapped_column(String(100))
    # subscribed event types; empty: every type
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)


class DeliveryStatus(StrEnum):
    pending = "pending"  # due at next_attempt_at
    succeeded = "succeeded"
    failed = "failed"  # every retry used up (a manual redelivery starts over)


class WebhookDelivery(UUIDPrimaryKey, Base):
    """One message to one endpoint; the exact body is kept so every attempt sends the same bytes."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index("ix_webhook_delivery_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_endpoint_id_created_at", "endpoint_id", "created_at"),
    )

    endpoint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_endpoint.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(40))  # the ``webhook-id`` header
    event_type: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[DeliveryStatus] = mapped_column(
        Enum(DeliveryStatus, native_enum=False, length=16), default=DeliveryStatus.pending
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]


class WebhookAttempt(UUIDPrimaryKey, Base):
    """The delivery log: every request made, with its outcome."""

    __tablename__ = "webhook_attempt"

    delivery_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_delivery.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    response_body: Mapped[str | None] = mapped_column(Text)
