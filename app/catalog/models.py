"""Catalog: products, SKUs with live stock, reservations, the stock ledger, images and imports.

Stock model (after Saleor's warehouse app): ``quantity`` is what is on hand, ``reserved`` the sum of
the *active* reservations held by unpaid orders. Available to sell = quantity - reserved + the
reservations that have already expired but were not released yet. Every read computes that sum in
the query, so an expired reservation never hides stock even if no sweeper has run; checkout
releases expired reservations of the SKU rows it has locked before reserving.
"""

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
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, Timestamps, UUIDPrimaryKey, utcnow


class Product(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "product"
    __table_args__ = (UniqueConstraint("organisation_id", "handle"),)

    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("merchant_organisation.id", ondelete="CASCADE"), index=True
    )
    # Merchant-chosen stable key (import handle); upserts of whole products match on it.
    handle: Mapped[str | None] = mapped_column(String(160))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    brand: Mapped[str | None] = mapped_column(String(120))
    category: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)

    skus: Mapped[list[Sku]] = relationship(back_populates="product", order_by="Sku.created_at")
    images: Mapped[list[ProductImage]] = relationship(
        back_populates="product", order_by="ProductImage.position", cascade="all, delete-orphan"
    )


class ProductInterest(Base):
    """Interests a product belongs to (from its category mapping, or set by the merchant)."""

    __tablename__ = "product_interest"

    product_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("product.id", ondelete="CASCADE"), primary_key=True
    )
    interest_id: Mapped[int] = mapped_column(ForeignKey("interest.id", ondelete="CASCADE"), primary_key=True)


class ProductImage(UUIDPrimaryKey, Base):
    __tablename__ = "product_image"

    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    # Uploaded images: storage key prefix + rendered variants [{width, height, format, key}].
    # Imported images keep their source URL (never fetched during an import).
    key_prefix: Mapped[str | None] = mapped_column(String(255))
    variants: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    source_url: Mapped[str | None] = mapped_column(String(1000))
    width: Mapped[int | None]
    height: Mapped[int | None]
    alt: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    product: Mapped[Product] = relationship(back_populates="images")


class Sku(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "sku"
    __table_args__ = (
        UniqueConstraint("organisation_id", "code"),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("quantity - reserved >= 0", name="available_not_negative"),
        CheckConstraint("price_minor >= 0", name="price_not_negative"),
    )

    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"), index=True)
    # Denormalised from the product so the SKU code is unique per merchant.
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("merchant_organisation.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(100))
    options: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    price_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    compare_at_minor: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(default=True)
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    # Optimistic concurrency for absolute stock edits (ETag / If-Match); bumped on quantity changes.
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Last change of quantity or reserved: the cheap "has stock moved" signal for the feed.
    stock_changed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    product: Mapped[Product] = relationship(back_populates="skus")


class LedgerReason(StrEnum):
    initial = "initial"
    set = "set"
    adjust = "adjust"
    import_ = "import"
    reserve = "reserve"
    release = "release"
    expire = "expire"
    sale = "sale"
    restock = "restock"


class StockLedgerEntry(UUIDPrimaryKey, Base):
    """One row per change of a SKU's on-hand quantity or reservations: who, when, why, before/after."""

    __tablename__ = "stock_ledger_entry"
    __table_args__ = (Index("ix_stock_ledger_entry_sku_id_created_at", "sku_id", "created_at"),)

    sku_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sku.id", ondelete="CASCADE"))
    reason: Mapped[LedgerReason] = mapped_column(
        Enum(LedgerReason, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    note: Mapped[str | None] = mapped_column(String(300))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    order_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    quantity_before: Mapped[int] = mapped_column(Integer)
    quantity_after: Mapped[int] = mapped_column(Integer)
    reserved_before: Mapped[int] = mapped_column(Integer)
    reserved_after: Mapped[int] = mapped_column(Integer)
    delta: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReservationState(StrEnum):
    active = "active"
    sold = "sold"
    released = "released"
    expired = "expired"


class StockReservation(UUIDPrimaryKey, Base):
    __tablename__ = "stock_reservation"
    __table_args__ = (
        Index("ix_stock_reservation_sku_id_state_expires_at", "sku_id", "state", "expires_at"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), index=True)
    order_line_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("order_line.id", ondelete="CASCADE"), index=True
    )
    sku_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sku.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime]
    state: Mapped[ReservationState] = mapped_column(
        Enum(ReservationState, native_enum=False, length=16), default=ReservationState.active
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ImportStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    completed_with_errors = "completed_with_errors"
    failed = "failed"


class CatalogImport(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "catalog_import"

    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("merchant_organisation.id", ondelete="CASCADE"), index=True
    )
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    format: Mapped[str] = mapped_column(String(32))
    # Currency of the prices in formats that do not carry one (Shopify, WooCommerce); Saleor
    # fixtures: the channel currency to import.
    currency: Mapped[str] = mapped_column(String(3))
    file_key: Mapped[str] = mapped_column(String(255))
    status: Mapped[ImportStatus] = mapped_column(
        Enum(ImportStatus, native_enum=False, length=32), default=ImportStatus.queued
    )
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    done_rows: Mapped[int] = mapped_column(Integer, default=0)
    products_written: Mapped[int] = mapped_column(Integer, default=0)
    skus_written: Mapped[int] = mapped_column(Integer, default=0)
    # [{"row": n, "sku": code, "field": ..., "message": ...}]
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    finished_at: Mapped[datetime | None]
