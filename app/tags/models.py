"""Product tags on clips: the buy buttons shown while a clip plays."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Enum, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, Timestamps, UUIDPrimaryKey


class TagStatus(StrEnum):
    active = "active"
    pending = "pending"  # a merchant's tag waiting for the clip's creator
    rejected = "rejected"
    removed = "removed"


class TagSource(StrEnum):
    creator = "creator"
    merchant = "merchant"


class ProductTag(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "product_tag"
    __table_args__ = (
        Index("ix_product_tag_clip_id_status", "clip_id", "status"),
        CheckConstraint("start_ms >= 0", name="start_not_negative"),
        CheckConstraint("end_ms > start_ms", name="end_after_start"),
        CheckConstraint("x IS NULL OR (x >= 0 AND x <= 1)", name="x_in_unit_range"),
        CheckConstraint("y IS NULL OR (y >= 0 AND y <= 1)", name="y_in_unit_range"),
    )

    clip_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clip.id", ondelete="CASCADE"))
    sku_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sku.id", ondelete="CASCADE"), index=True)
    # The SKU's merchant, denormalised: merchants may remove the tags of their own SKUs.
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("merchant_organisation.id", ondelete="CASCADE"), index=True
    )
    start_ms: Mapped[int] = mapped_column(Integer)
    end_ms: Mapped[int] = mapped_column(Integer)
    x: Mapped[float | None] = mapped_column(Float)
    y: Mapped[float | None] = mapped_column(Float)
    label: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[TagStatus] = mapped_column(Enum(TagStatus, native_enum=False, length=16))
    source: Mapped[TagSource] = mapped_column(Enum(TagSource, native_enum=False, length=16))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
