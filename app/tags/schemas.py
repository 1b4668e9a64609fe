from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from app.catalog.schemas import TextInput
from app.tags.models import TagSource, TagStatus


class TagCreate(TextInput):
    """`end_ms` must be greater than start_ms, and at most the clip's duration."""

    sku_id: uuid.UUID
    start_ms: int = Field(ge=0, le=86_400_000)
    end_ms: int = Field(gt=0, le=86_400_000)
    x: float | None = Field(
        default=None, ge=0, le=1, allow_inf_nan=False, description="Horizontal position, 0 = left edge"
    )
    y: float | None = Field(
        default=None, ge=0, le=1, allow_inf_nan=False, description="Vertical position, 0 = top edge"
    )
    label: str | None = Field(default=None, max_length=80)

    @model_validator(mode="after")
    def _ordered(self) -> TagCreate:
        if self.end_ms <= self.start_ms:
            raise ValueError("end_ms must be after start_ms")
        return self


class BuyAction(BaseModel):
    method: Literal["POST"] = "POST"
    href: str = "/v1/checkout"
    body: dict[str, Any] = Field(description="Checkout body to send with an Idempotency-Key header")


class TagRead(BaseModel):
    id: uuid.UUID
    clip_id: uuid.UUID
    sku_id: uuid.UUID
    product_id: uuid.UUID
    title: str
    sku: str
    options: dict[str, str]
    start_ms: int
    end_ms: int
    x: float | None
    y: float | None
    label: str | None
    status: TagStatus
    source: TagSource
    price_minor: int
    currency: str
    compare_at_minor: int | None
    available: int = Field(description="Live units available to sell")
    availability: Literal["in_stock", "low_stock", "out_of_stock"]
    image: str | None
    buy: BuyAction
    created_at: datetime


class TagList(BaseModel):
    items: list[TagRead]
