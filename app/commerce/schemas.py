from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.commerce.models import OrderStatus
from app.schema_types import StrictBool


class CheckoutLine(BaseModel):
    sku_id: uuid.UUID
    quantity: int = Field(ge=1, le=1000)


class CheckoutRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "lines": [{"sku_id": "6c1f0f43-2b4e-4d55-9f0e-0d3a3b1b2c11", "quantity": 1}],
                "clip_id": "0b6c8ad4-8a5f-4b3e-9a53-9c1d2d3e4f50",
                "tag_id": "1d2c8ad4-8a5f-4b3e-9a53-9c1d2d3e4f51",
            }
        }
    )

    lines: list[CheckoutLine] = Field(min_length=1, max_length=50)
    clip_id: uuid.UUID | None = Field(default=None, description="The clip that drove the purchase")
    tag_id: uuid.UUID | None = Field(default=None, description="The product tag tapped on that clip")
    share_code: str | None = Field(
        default=None, max_length=32, description="The share link the buyer came through (`/s/{code}`)"
    )


class OrderLineRead(BaseModel):
    id: uuid.UUID
    sku_id: uuid.UUID
    product_id: uuid.UUID
    sku: str
    title: str
    quantity: int
    unit_price_minor: int
    line_total_minor: int


class OrderRead(BaseModel):
    id: uuid.UUID
    status: OrderStatus
    buyer_id: uuid.UUID
    organisation_id: uuid.UUID | None
    currency: str
    subtotal_minor: int
    total_minor: int
    expires_at: datetime = Field(description="Unpaid orders release their stock at this time")
    clip_id: uuid.UUID | None
    tag_id: uuid.UUID | None
    creator_id: uuid.UUID | None
    lines: list[OrderLineRead]
    created_at: datetime
    paid_at: datetime | None
    cancelled_at: datetime | None
    refunded_at: datetime | None


class OrderPage(BaseModel):
    items: list[OrderRead]
    total: int
    limit: int
    offset: int


class RefundRequest(BaseModel):
    restock: StrictBool = Field(default=True, description="Put the units back on hand (recorded in the ledger)")


class WebhookAck(BaseModel):
    received: bool = True
    duplicate: bool = False
    outcome: str
