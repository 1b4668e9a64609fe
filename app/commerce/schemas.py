from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.catalog.schemas import TextInput
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
    refunded_quantity: int = Field(description="Units of the line refunded so far")
    refunded_minor: int = Field(description="Money of the line refunded so far (minor units)")
    restocked_quantity: int = Field(description="Refunded units put back on hand")


class RefundLineRead(BaseModel):
    line_id: uuid.UUID = Field(description="The order line")
    quantity: int = Field(description="Units refunded (0: money only)")
    amount_minor: int
    restocked_quantity: int


class RefundRead(BaseModel):
    id: uuid.UUID
    order_id: uuid.UUID
    number: int = Field(description="1 for the order's first refund, 2 for the next, ...")
    currency: str
    amount_minor: int
    restock: bool
    reason: str | None
    created_by: uuid.UUID | None = Field(description="The merchant member who refunded (merchants only)")
    created_at: datetime
    lines: list[RefundLineRead]


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
    refunded_minor: int = Field(description="What the order's refunds add up to")
    refunds: list[RefundRead] = Field(description="The order's refunds, oldest first")
    created_at: datetime
    paid_at: datetime | None
    cancelled_at: datetime | None
    refunded_at: datetime | None = Field(description="When the order became fully refunded")


class OrderPage(BaseModel):
    items: list[OrderRead]
    total: int
    limit: int
    offset: int


class RefundRequest(TextInput):
    """Refund everything not refunded yet."""

    restock: StrictBool = Field(
        default=True, description="Put the units back on hand (recorded in the ledger)"
    )
    reason: str | None = Field(default=None, max_length=500, description="Kept with the refund")


# Largest amount one refund line may name (orders total at most 2e9 minor units).
MAX_REFUND_MINOR = 2_000_000_000


class RefundLineRequest(BaseModel):
    line_id: uuid.UUID = Field(description="An order line's `id`")
    quantity: int = Field(ge=0, le=1000, description="Units to refund (0: an amount only)")
    amount_minor: int | None = Field(
        default=None,
        ge=0,
        le=MAX_REFUND_MINOR,
        description="Money to give back for this line, at most what remains refundable on it; "
        "default: the units' share of what remains",
    )


class PartialRefundRequest(TextInput):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "lines": [{"line_id": "6c1f0f43-2b4e-4d55-9f0e-0d3a3b1b2c11", "quantity": 1}],
                "restock": True,
                "reason": "damaged in transit",
            }
        }
    )

    lines: list[RefundLineRequest] = Field(min_length=1, max_length=50)
    restock: StrictBool = Field(
        default=True, description="Put the refunded units back on hand (recorded in the stock ledger)"
    )
    reason: str | None = Field(default=None, max_length=500, description="Kept with the refund")


class RefundCreated(BaseModel):
    refund: RefundRead
    order: OrderRead


class WebhookAck(BaseModel):
    received: bool = True
    duplicate: bool = False
    outcome: str
