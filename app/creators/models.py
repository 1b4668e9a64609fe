"""The creator programme: admission, rates and collaborations, captured commissions, the
append-only commission ledger, payouts, storefront curation and idea lists.

Money rules: amounts are integer minor units of ``currency``. The ledger (``commission_entry``)
is append-only: every row says how much it moved into or out of each bucket (``pending``,
``payable``, ``in_payout``, ``paid``); a balance is the sum of a bucket's column over a creator's
entries in one currency, never a stored number. ``creator_account`` holds no money: it is the row
that payout runs and reversals lock so that they serialise per creator and currency.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, Timestamps, UUIDPrimaryKey, utcnow

# BIGINT on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def _enum(kind: type[StrEnum], length: int = 24) -> Enum:
    return Enum(kind, native_enum=False, length=length)


# --- admission ----------------------------------------------------------------------------------


class AdmissionStatus(StrEnum):
    admitted = "admitted"
    waitlisted = "waitlisted"
    rejected = "rejected"
    suspended = "suspended"


class CreatorAdmission(Timestamps, Base):
    """A creator's place in the programme (one row per creator who applied)."""

    __tablename__ = "creator_admission"

    creator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[AdmissionStatus] = mapped_column(_enum(AdmissionStatus), index=True)
    # Top-level interest slug whose thresholds applied (``fashion``, ``gaming``...).
    category: Mapped[str] = mapped_column(String(64))
    # The creator asked for this category; otherwise it follows their clips.
    category_chosen: Mapped[bool] = mapped_column(default=False)
    # Each criterion: {criterion, value, threshold, passed, reason, improve}.
    evaluation: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    evaluated_at: Mapped[datetime]
    next_evaluation_at: Mapped[datetime | None] = mapped_column(index=True)
    # Set by an operator: periodic re-evaluation leaves the status alone.
    overridden_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    override_note: Mapped[str | None] = mapped_column(Text)


class AdmissionThreshold(Base):
    """Thresholds of one interest category (``default`` applies to the others). ``thresholds``
    maps criterion name -> minimum, so a new criterion needs no schema change."""

    __tablename__ = "admission_threshold"

    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    thresholds: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# --- rates and collaborations -------------------------------------------------------------------


class MerchantProgramme(Base):
    """A merchant's programme settings: default rate (basis points) and return window."""

    __tablename__ = "merchant_programme"

    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("merchant_organisation.id", ondelete="CASCADE"), primary_key=True
    )
    default_rate_bps: Mapped[int | None] = mapped_column(Integer)
    return_window_days: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CommissionRate(UUIDPrimaryKey, Base):
    """A per-category (product ``category`` text, case-insensitive) or per-product rate."""

    __tablename__ = "commission_rate"
    __table_args__ = (
        UniqueConstraint("organisation_id", "scope_key"),
        CheckConstraint("rate_bps >= 0 AND rate_bps <= 10000", name="rate_in_range"),
    )

    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("merchant_organisation.id", ondelete="CASCADE"), index=True
    )
    # ``category:<lower-cased category>`` or ``product:<uuid>``
    scope_key: Mapped[str] = mapped_column(String(260))
    category: Mapped[str | None] = mapped_column(String(200))
    product_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"))
    rate_bps: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CollaborationKind(StrEnum):
    open = "open"
    targeted = "targeted"


class Collaboration(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "collaboration"
    __table_args__ = (CheckConstraint("rate_bps >= 0 AND rate_bps <= 10000", name="rate_in_range"),)

    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("merchant_organisation.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[CollaborationKind] = mapped_column(_enum(CollaborationKind, 16))
    # None: the merchant's whole catalogue.
    product_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("product.id", ondelete="CASCADE"), index=True
    )
    rate_bps: Mapped[int] = mapped_column(Integer)
    brief: Mapped[str | None] = mapped_column(Text)
    ends_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))


class InvitationStatus(StrEnum):
    invited = "invited"
    accepted = "accepted"
    declined = "declined"


class CollaborationInvitation(Base):
    __tablename__ = "collaboration_invitation"

    collaboration_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("collaboration.id", ondelete="CASCADE"), primary_key=True
    )
    creator_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    status: Mapped[InvitationStatus] = mapped_column(_enum(InvitationStatus, 16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]


# --- captured commissions -----------------------------------------------------------------------


class AttributionSource(StrEnum):
    buy_button = "buy_button"
    product_tap = "product_tap"
    view = "view"


class CommissionState(StrEnum):
    pending = "pending"  # inside the merchant's return window
    payable = "payable"  # released to the creator's payable balance
    void = "void"  # earned nothing (not admitted, own purchase...) or fully reversed before release


class OrderLineCommission(UUIDPrimaryKey, Base):
    """What an attributed order line earns, captured once at payment: the clip and creator that
    drove it, the best rate that applied then, and the commission. One row per order line (a
    line never earns twice); refunds only ever add ledger reversals."""

    __tablename__ = "order_line_commission"
    __table_args__ = (
        CheckConstraint("commission_minor >= 0", name="commission_not_negative"),
        CheckConstraint("refunded_minor >= 0 AND refunded_minor <= base_minor", name="refund_in_range"),
        Index("ix_order_line_commission_creator_id_product_id", "creator_id", "product_id"),
    )

    order_line_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    # Plain ids, as on orders: financial records outlive clips, tags and products.
    order_id: Mapped[uuid.UUID] = mapped_column(index=True)
    creator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    buyer_id: Mapped[uuid.UUID]
    organisation_id: Mapped[uuid.UUID] = mapped_column(index=True)
    product_id: Mapped[uuid.UUID]
    clip_id: Mapped[uuid.UUID | None]
    tag_id: Mapped[uuid.UUID | None]
    source: Mapped[AttributionSource] = mapped_column(_enum(AttributionSource, 16))
    touched_at: Mapped[datetime | None]
    collaboration_id: Mapped[uuid.UUID | None]
    rate_source: Mapped[str] = mapped_column(String(32))
    rate_bps: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    quantity: Mapped[int] = mapped_column(Integer)
    base_minor: Mapped[int] = mapped_column(Integer)
    commission_minor: Mapped[int] = mapped_column(Integer)
    # Why it earns nothing (``not_admitted``, ``own_purchase``, ``merchant_account``), if so.
    no_commission_reason: Mapped[str | None] = mapped_column(String(32))
    state: Mapped[CommissionState] = mapped_column(_enum(CommissionState, 16))
    refunded_minor: Mapped[int] = mapped_column(Integer, default=0)
    payable_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CreatorAccount(Base):
    """Lock anchor per creator and currency (no balance here: balances come from the ledger)."""

    __tablename__ = "creator_account"

    creator_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user.id", ondelete="RESTRICT"), primary_key=True
    )
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EntryKind(StrEnum):
    commission = "commission"  # + pending
    release = "release"  # pending -> payable (return window over)
    reversal = "reversal"  # - pending (before release) or - payable (after; may go negative)
    payout = "payout"  # payable -> in_payout (a payout run took it)
    payout_paid = "payout_paid"  # in_payout -> paid
    payout_failed = "payout_failed"  # in_payout -> payable (provider gave it back)


class CommissionEntry(Base):
    """One append-only ledger row. Never updated, never deleted."""

    __tablename__ = "commission_entry"
    __table_args__ = (
        # Summary: an index-only sum per creator and currency after the checkpoint's entry.
        Index(
            "ix_commission_entry_balances",
            "creator_id",
            "currency",
            "id",
            "pending_delta",
            "payable_delta",
            "in_payout_delta",
            "paid_delta",
        ),
        # Ledger pages, newest first.
        Index("ix_commission_entry_creator_id_id", "creator_id", "id"),
        Index("ix_commission_entry_creator_id_clip_id_id", "creator_id", "clip_id", "id"),
        Index("ix_commission_entry_line_id", "line_id"),
        Index("ix_commission_entry_organisation_id_creator_id", "organisation_id", "creator_id"),
        # A line earns once and is released once.
        Index(
            "uq_commission_entry_line_once",
            "line_id",
            "kind",
            unique=True,
            postgresql_where=text("kind IN ('commission', 'release')"),
            sqlite_where=text("kind IN ('commission', 'release')"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    creator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    currency: Mapped[str] = mapped_column(String(3))
    kind: Mapped[EntryKind] = mapped_column(_enum(EntryKind, 16))
    # The amount this entry is about (always positive except a reversal, which is negative).
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    pending_delta: Mapped[int] = mapped_column(BigInteger, default=0)
    payable_delta: Mapped[int] = mapped_column(BigInteger, default=0)
    in_payout_delta: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_delta: Mapped[int] = mapped_column(BigInteger, default=0)
    line_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("order_line_commission.id", ondelete="RESTRICT")
    )
    # A reversal names the commission entry it reverses.
    # (NO ACTION rather than RESTRICT: SQLite checks RESTRICT row by row, even within one table.)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("commission_entry.id"))
    payout_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("payout.id", ondelete="RESTRICT"))
    order_id: Mapped[uuid.UUID | None]
    clip_id: Mapped[uuid.UUID | None]
    organisation_id: Mapped[uuid.UUID | None]
    memo: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BalanceCheckpoint(Base):
    """The sums of a creator's entries in one currency up to ``upto_entry_id``: a cache of the
    ledger, not a second truth. Entries are immutable, so a checkpoint stays exact; balances are
    the checkpoint plus the entries after it. Written under the account lock (no writer of that
    creator and currency in flight), so no entry at or below ``upto_entry_id`` can appear later."""

    __tablename__ = "commission_balance_checkpoint"

    creator_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user.id", ondelete="RESTRICT"), primary_key=True
    )
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    upto_entry_id: Mapped[int] = mapped_column(BigInteger)
    entry_count: Mapped[int] = mapped_column(BigInteger)
    pending_minor: Mapped[int] = mapped_column(BigInteger)
    payable_minor: Mapped[int] = mapped_column(BigInteger)
    in_payout_minor: Mapped[int] = mapped_column(BigInteger)
    paid_minor: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# --- payouts ------------------------------------------------------------------------------------


class PayoutRun(UUIDPrimaryKey, Base):
    __tablename__ = "payout_run"

    # A rerun with the same key returns this run and pays nobody again.
    key: Mapped[str] = mapped_column(String(100), unique=True)
    threshold_minor: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PayoutStatus(StrEnum):
    created = "created"
    paid = "paid"
    failed = "failed"


class Payout(UUIDPrimaryKey, Base):
    __tablename__ = "payout"
    __table_args__ = (
        UniqueConstraint("run_id", "creator_id", "currency"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
    )

    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("payout_run.id", ondelete="RESTRICT"), index=True)
    creator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    entry_count: Mapped[int] = mapped_column(Integer)
    status: Mapped[PayoutStatus] = mapped_column(_enum(PayoutStatus, 16), index=True)
    provider_reference: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    paid_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]


class PayoutItem(Base):
    """The payable entries a payout settled: each entry belongs to at most one payout."""

    __tablename__ = "payout_item"

    entry_id: Mapped[int] = mapped_column(
        ForeignKey("commission_entry.id", ondelete="RESTRICT"), primary_key=True
    )
    payout_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("payout.id", ondelete="RESTRICT"), index=True)


# --- storefront ---------------------------------------------------------------------------------


class StorefrontProduct(Base):
    """A creator's curation of one product on their storefront."""

    __tablename__ = "storefront_product"

    creator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    product_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("product.id", ondelete="CASCADE"), primary_key=True
    )
    pinned: Mapped[bool] = mapped_column(default=False)
    hidden: Mapped[bool] = mapped_column(default=False)
    pinned_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class IdeaList(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "idea_list"

    creator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)


class IdeaListItem(Base):
    __tablename__ = "idea_list_item"

    idea_list_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("idea_list.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("product.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(String(200))
