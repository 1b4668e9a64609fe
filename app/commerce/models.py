"""Orders, order lines, refunds, payments and received payment-provider webhooks."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, Timestamps, UUIDPrimaryKey, utcnow


class OrderStatus(StrEnum):
    pending_payment = "pending_payment"
    paid = "paid"
    cancelled = "cancelled"
    expired = "expired"
    failed = "failed"
    # Payment arrived after expiry and the stock was gone: money must go back.
    refund_required = "refund_required"
    # Paid, and some (not all) of the money went back: more refunds may follow.
    partially_refunded = "partially_refunded"
    refunded = "refunded"


class Order(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "order"
    __table_args__ = (
        UniqueConstraint("buyer_id", "idempotency_key"),
        CheckConstraint("total_minor >= 0", name="total_not_negative"),
        CheckConstraint("refunded_minor >= 0 AND refunded_minor <= total_minor", name="refund_within_total"),
    )

    buyer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"), index=True)
    # Set when every line belongs to one merchant (the usual case); lines always carry theirs.
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("merchant_organisation.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[OrderStatus] = mapped_column(
        Enum(OrderStatus, native_enum=False, length=32), default=OrderStatus.pending_payment, index=True
    )
    currency: Mapped[str] = mapped_column(String(3))
    subtotal_minor: Mapped[int] = mapped_column(Integer)
    total_minor: Mapped[int] = mapped_column(Integer)
    # The sum of the order's refunds (kept with them, under the order's row lock).
    refunded_minor: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    expires_at: Mapped[datetime] = mapped_column(index=True)
    idempotency_key: Mapped[str] = mapped_column(String(255))
    # SHA-256 of the canonical request body: same key + different body is refused.
    request_hash: Mapped[str] = mapped_column(String(64))
    # Attribution for the creator programme. Plain ids (no foreign keys): an order is a financial
    # record that must outlive the clip or tag that drove it.
    clip_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    tag_id: Mapped[uuid.UUID | None]
    creator_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    paid_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    refunded_at: Mapped[datetime | None]

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", order_by="OrderLine.position", lazy="selectin"
    )
    # Loaded when read (order pages load them in one query: ``service._page``); the payment and
    # stock paths that lock an order never need them.
    refunds: Mapped[list[Refund]] = relationship(back_populates="order", order_by="Refund.number")


class OrderLine(UUIDPrimaryKey, Base):
    __tablename__ = "order_line"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(
            "refunded_quantity >= 0 AND refunded_quantity <= quantity", name="refunded_quantity_in_range"
        ),
        CheckConstraint(
            "refunded_minor >= 0 AND refunded_minor <= line_total_minor", name="refunded_minor_in_range"
        ),
        CheckConstraint(
            "restocked_quantity >= 0 AND restocked_quantity <= refunded_quantity",
            name="restocked_quantity_in_range",
        ),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # RESTRICT: a SKU that orders reference cannot be deleted, only deactivated.
    sku_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sku.id", ondelete="RESTRICT"), index=True)
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("product.id", ondelete="RESTRICT"))
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("merchant_organisation.id", ondelete="RESTRICT"), index=True
    )
    sku_code: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_minor: Mapped[int] = mapped_column(Integer)
    line_total_minor: Mapped[int] = mapped_column(Integer)
    # What the line's refunds add up to: units given back, money given back, units put back on hand.
    refunded_quantity: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    refunded_minor: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    restocked_quantity: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    order: Mapped[Order] = relationship(back_populates="lines")


class Refund(UUIDPrimaryKey, Base):
    """One refund of an order (full or partial): never changed once written. ``number`` counts the
    order's refunds from 1; unique per order, so two refunds computed from the same state cannot
    both be stored."""

    __tablename__ = "order_refund"
    __table_args__ = (
        UniqueConstraint("order_id", "number"),
        UniqueConstraint("order_id", "idempotency_key"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("merchant_organisation.id", ondelete="SET NULL")
    )
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(Integer)
    restock: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    # SHA-256 of the canonical request: the same key with another request is refused.
    request_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    order: Mapped[Order] = relationship(back_populates="refunds")
    lines: Mapped[list[RefundLine]] = relationship(
        back_populates="refund", order_by="RefundLine.position", lazy="selectin"
    )


class RefundLine(UUIDPrimaryKey, Base):
    __tablename__ = "order_refund_line"
    __table_args__ = (
        UniqueConstraint("refund_id", "order_line_id"),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        CheckConstraint("amount_minor >= 0", name="amount_not_negative"),
        CheckConstraint(
            "restocked_quantity >= 0 AND restocked_quantity <= quantity", name="restocked_in_range"
        ),
    )

    refund_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("order_refund.id", ondelete="CASCADE"), index=True
    )
    order_line_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("order_line.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    quantity: Mapped[int] = mapped_column(Integer)
    amount_minor: Mapped[int] = mapped_column(Integer)
    restocked_quantity: Mapped[int] = mapped_column(Integer, default=0)

    refund: Mapped[Refund] = relationship(back_populates="lines")


class PaymentKind(StrEnum):
    charge = "charge"
    refund = "refund"


class Payment(UUIDPrimaryKey, Base):
    __tablename__ = "payment"
    # At most one captured charge per order, whatever the provider resends; one refund payment
    # per refund record.
    __table_args__ = (
        Index(
            "uq_payment_order_id_charge",
            "order_id",
            unique=True,
            postgresql_where=text("kind = 'charge'"),
            sqlite_where=text("kind = 'charge'"),
        ),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), index=True)
    kind: Mapped[PaymentKind] = mapped_column(Enum(PaymentKind, native_enum=False, length=16))
    refund_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("order_refund.id", ondelete="CASCADE"), unique=True
    )
    provider_reference: Mapped[str | None] = mapped_column(String(255))
    amount_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookEvent(UUIDPrimaryKey, Base):
    """Every accepted provider event, unique by the provider's event id (replay protection)."""

    __tablename__ = "webhook_event"

    provider_event_id: Mapped[str] = mapped_column(String(255), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    outcome: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
