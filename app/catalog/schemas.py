from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from app.schema_types import Omittable

Availability = Literal["in_stock", "low_stock", "out_of_stock"]
# Bounds that keep every stored amount and total inside a 32-bit integer column.
MAX_MINOR = 100_000_000
MAX_QUANTITY = 1_000_000


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class TextInput(BaseModel):
    """Request bodies whose strings are stored as text: NUL characters are refused (422), as
    PostgreSQL text cannot hold them."""

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul(cls, data: Any) -> Any:
        if _has_nul(data):
            raise ValueError("text must not contain NUL characters")
        return data


def _currency(value: str) -> str:
    value = value.strip().upper()
    if len(value) != 3 or not value.isalpha():
        raise ValueError("currency must be an ISO 4217 code such as EUR")
    return value


class SkuCreate(TextInput):
    sku: str = Field(min_length=1, max_length=100, description="Merchant-unique SKU code")
    price_minor: int = Field(ge=0, le=MAX_MINOR, description="Price in integer minor units (cents)")
    currency: str = Field(examples=["EUR"])
    quantity: int = Field(default=0, ge=0, le=MAX_QUANTITY, description="Units on hand")
    options: dict[str, str] = Field(default_factory=dict, examples=[{"size": "M", "colour": "black"}])
    compare_at_minor: int | None = Field(default=None, ge=0, le=MAX_MINOR)
    active: StrictBool = True

    _check_currency = field_validator("currency")(_currency)


class SkuUpdate(TextInput):
    sku: Omittable[Annotated[str, Field(min_length=1, max_length=100)]] = None
    price_minor: Omittable[Annotated[int, Field(ge=0, le=MAX_MINOR)]] = None
    currency: Omittable[str] = None
    options: Omittable[dict[str, str]] = None
    compare_at_minor: int | None = Field(default=None, ge=0, le=MAX_MINOR)
    active: Omittable[StrictBool] = None

    @field_validator("currency")
    @classmethod
    def _check_currency(cls, value: str | None) -> str | None:
        return None if value is None else _currency(value)


class ProductCreate(TextInput):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "title": "Everyday hoodie",
                "description": "Heavy cotton hoodie",
                "category": "Clothing > Hoodies",
                "skus": [
                    {
                        "sku": "HOOD-M",
                        "price_minor": 4900,
                        "currency": "EUR",
                        "quantity": 12,
                        "options": {"size": "M"},
                    }
                ],
            }
        }
    )

    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=20_000)
    brand: str | None = Field(default=None, max_length=120)
    category: str | None = Field(default=None, max_length=200)
    handle: str | None = Field(default=None, max_length=160)
    interests: list[str] | None = Field(
        default=None, description="Interest slugs; derived from the category when omitted"
    )
    active: StrictBool = True
    skus: list[SkuCreate] = Field(default_factory=list, max_length=250)


class ProductUpdate(TextInput):
    title: Omittable[Annotated[str, Field(min_length=1, max_length=200)]] = None
    description: str | None = Field(default=None, max_length=20_000)
    brand: str | None = Field(default=None, max_length=120)
    category: str | None = Field(default=None, max_length=200)
    interests: Omittable[list[str]] = None
    active: Omittable[StrictBool] = None


class ImageVariantRead(BaseModel):
    width: int
    format: str
    url: str


class ProductImageRead(BaseModel):
    id: uuid.UUID
    position: int
    url: str = Field(description="Default rendition (largest JPEG) or the imported source URL")
    width: int | None
    height: int | None
    alt: str | None
    variants: list[ImageVariantRead]


class SkuRead(BaseModel):
    id: uuid.UUID
    product_id: uuid.UUID
    sku: str
    options: dict[str, str]
    price_minor: int
    currency: str
    compare_at_minor: int | None
    active: bool
    available: int = Field(description="Units available to sell right now")
    availability: Availability


class MerchantSkuRead(SkuRead):
    quantity: int = Field(description="Units on hand")
    reserved: int = Field(description="Units held by live reservations of unpaid orders")
    version: int = Field(description="Stock version for If-Match on absolute stock edits")


class ProductRead(BaseModel):
    id: uuid.UUID
    organisation_id: uuid.UUID
    title: str
    description: str | None
    brand: str | None
    category: str | None
    handle: str | None
    interests: list[str]
    active: bool
    images: list[ProductImageRead]
    skus: list[SkuRead]
    created_at: datetime
    updated_at: datetime


class ProductPage(BaseModel):
    items: list[ProductRead]
    next_cursor: str | None = Field(description="Opaque; pass back as `cursor` for the next page")


class MerchantProductRead(ProductRead):
    skus: list[MerchantSkuRead]  # type: ignore[assignment]


class MerchantProductPage(BaseModel):
    items: list[MerchantProductRead]
    total: int
    limit: int
    offset: int


class SkuPublicRead(SkuRead):
    product_title: str
    image: str | None = Field(description="URL of the product's first image")


class StockRead(BaseModel):
    sku_id: uuid.UUID
    quantity: int
    reserved: int
    available: int
    availability: Availability
    version: int


class StockSet(TextInput):
    quantity: int = Field(ge=0, le=MAX_QUANTITY)
    note: str | None = Field(default=None, max_length=300)


class StockAdjust(TextInput):
    delta: int = Field(
        ge=-MAX_QUANTITY, le=MAX_QUANTITY, description="Positive to add units, negative to remove"
    )
    reason: str = Field(min_length=1, max_length=300, examples=["damaged in warehouse"])

    @field_validator("delta")
    @classmethod
    def _non_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("delta must not be zero")
        return value


class LedgerEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    sku_id: uuid.UUID
    reason: str
    note: str | None
    actor_id: uuid.UUID | None
    order_id: uuid.UUID | None
    quantity_before: int
    quantity_after: int
    reserved_before: int
    reserved_after: int
    delta: int
    created_at: datetime


class LedgerPage(BaseModel):
    items: list[LedgerEntryRead]
    total: int


class ImportErrorRead(BaseModel):
    row: int
    sku: str | None = None
    field: str | None = None
    message: str


class ImportRead(BaseModel):
    id: uuid.UUID
    format: str
    status: str
    total_rows: int
    done_rows: int
    products_written: int
    skus_written: int
    errors: list[ImportErrorRead]
    created_at: datetime
    finished_at: datetime | None
