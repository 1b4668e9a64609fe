from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.accounts.schemas import AvatarUrls
from app.catalog.schemas import TextInput
from app.clips.schemas import PlaybackRead
from app.creators.models import (
    AdmissionStatus,
    AttributionSource,
    CollaborationKind,
    EntryKind,
    InvitationStatus,
    PayoutStatus,
)

Rate = Field(ge=0, le=10_000, description="Basis points: 500 = 5 %")
EXAMPLE_ID = "0b6c8ad4-8a5f-4b3e-9a53-9c1d2d3e4f50"

# --- admission ----------------------------------------------------------------------------------


class ApplicationCreate(TextInput):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"category": "fashion"}]})

    category: str | None = Field(
        default=None,
        max_length=64,
        description="Top-level interest whose thresholds apply; default: the one most of your clips belong to",
    )


class CriterionResult(BaseModel):
    criterion: str = Field(examples=["followers"])
    value: float
    threshold: float
    passed: bool
    reason: str = Field(examples=["You have 40 followers on ClipShop; this category asks for 100."])
    improve: str | None = Field(examples=["Post regularly and invite your audience to follow you here."])


class AdmissionRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "creator_id": EXAMPLE_ID,
                    "status": "waitlisted",
                    "category": "fashion",
                    "evaluation": [
                        {
                            "criterion": "followers",
                            "value": 60,
                            "threshold": 100,
                            "passed": False,
                            "reason": "You have 60 followers on ClipShop; this category asks for 100.",
                            "improve": "Post regularly and invite your audience from other platforms to follow you here.",
                        }
                    ],
                    "evaluated_at": "2026-11-29T12:00:00Z",
                    "next_evaluation_at": "2026-12-06T12:00:00Z",
                    "decided_by_operator": False,
                    "note": None,
                }
            ]
        }
    )

    creator_id: uuid.UUID
    status: AdmissionStatus
    category: str
    evaluation: list[CriterionResult]
    evaluated_at: datetime
    next_evaluation_at: datetime | None
    decided_by_operator: bool
    note: str | None


class AdmissionOverride(TextInput):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"status": "suspended", "note": "Fake engagement"}]}
    )

    status: Literal["admitted", "waitlisted", "rejected", "suspended", "automatic"] = Field(
        description="`automatic` drops an earlier operator decision and evaluates again"
    )
    note: str | None = Field(default=None, max_length=1000)


class ThresholdsRead(BaseModel):
    category: str = Field(examples=["fashion"])
    thresholds: dict[str, float] = Field(examples=[{"followers": 1000, "clips": 10, "engagement_rate": 0.04}])


class ThresholdsList(BaseModel):
    items: list[ThresholdsRead]
    criteria: list[str] = Field(description="Criteria admission checks, in order")


class ThresholdsUpdate(TextInput):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"thresholds": {"followers": 1000, "engagement_rate": 0.04}}]},
    )

    thresholds: dict[str, float] = Field(description="Criterion -> minimum; criteria left out use `default`")


# --- rates and collaborations -------------------------------------------------------------------


class RatesDocument(TextInput):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "default_rate_bps": 800,
                    "return_window_days": 30,
                    "category_rates": {"Clothing > Hoodies": 1200},
                    "product_rates": {EXAMPLE_ID: 1500},
                }
            ]
        },
    )

    default_rate_bps: int | None = Field(
        default=None, ge=0, le=10_000, description="None: the platform default"
    )
    return_window_days: int | None = Field(
        default=None, ge=0, le=365, description="None: the platform default"
    )
    category_rates: dict[str, int] = Field(
        default_factory=dict, description="Product category -> basis points"
    )
    product_rates: dict[uuid.UUID, int] = Field(
        default_factory=dict, description="Product id -> basis points"
    )


class RatesRead(RatesDocument):
    platform_default_rate_bps: int
    platform_return_window_days: int


class CollaborationCreate(TextInput):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "targeted",
                    "product_id": EXAMPLE_ID,
                    "rate_bps": 1500,
                    "brief": "Show the hoodie on a rainy walk",
                    "ends_at": "2027-01-31T23:59:59Z",
                    "creator_handles": ["maya.makes"],
                }
            ]
        },
    )

    kind: CollaborationKind
    product_id: uuid.UUID | None = Field(default=None, description="None: your whole catalogue")
    rate_bps: int = Rate
    brief: str | None = Field(default=None, max_length=4000)
    ends_at: datetime | None = None
    creator_handles: list[str] = Field(default_factory=list, max_length=100, description="Targeted only")


class InvitationRead(BaseModel):
    creator_id: uuid.UUID
    handle: str
    status: InvitationStatus
    decided_at: datetime | None


class CollaborationRead(BaseModel):
    id: uuid.UUID
    organisation_id: uuid.UUID
    kind: CollaborationKind
    product_id: uuid.UUID | None
    rate_bps: int
    brief: str | None
    ends_at: datetime | None
    ended_at: datetime | None
    live: bool
    created_at: datetime
    invitations: list[InvitationRead]


class CollaborationPage(BaseModel):
    items: list[CollaborationRead]
    next_cursor: str | None


class MyCollaborationRead(BaseModel):
    collaboration_id: uuid.UUID
    organisation_id: uuid.UUID
    product_id: uuid.UUID | None
    rate_bps: int
    brief: str | None
    ends_at: datetime | None
    live: bool
    status: InvitationStatus
    decided_at: datetime | None


class MyCollaborationPage(BaseModel):
    items: list[MyCollaborationRead]
    next_cursor: str | None


class SkuOffer(BaseModel):
    sku_id: uuid.UUID
    sku: str
    price_minor: int
    currency: str
    available: int
    availability: str


class ProductCardRead(BaseModel):
    product_id: uuid.UUID
    organisation_id: uuid.UUID
    title: str
    brand: str | None
    category: str | None
    image_url: str | None
    interests: list[str]
    skus: list[SkuOffer]


class OpenProductRead(ProductCardRead):
    rate_bps: int
    rate_source: str = Field(examples=["open_collaboration"])
    collaboration_ids: list[uuid.UUID]
    tag_with: str = Field(description="Tag one of the SKUs on your clip: `POST /v1/clips/{clip_id}/tags`")


class OpenProductPage(BaseModel):
    items: list[OpenProductRead]
    next_cursor: str | None


# --- money --------------------------------------------------------------------------------------


class BalanceRead(BaseModel):
    currency: str = Field(examples=["EUR"])
    pending_minor: int = Field(description="Inside merchants' return windows")
    payable_minor: int = Field(
        description="Due to you at the next payout run (may be negative after refunds)"
    )
    in_payout_minor: int = Field(description="In a payout that is on its way")
    paid_minor: int


class EarningsSummary(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "creator_id": EXAMPLE_ID,
                    "admission_status": "admitted",
                    "balances": [
                        {
                            "currency": "EUR",
                            "pending_minor": 1250,
                            "payable_minor": 4000,
                            "in_payout_minor": 0,
                            "paid_minor": 18000,
                        }
                    ],
                }
            ]
        }
    )

    creator_id: uuid.UUID
    admission_status: AdmissionStatus | None
    balances: list[BalanceRead]


class LedgerEntryRead(BaseModel):
    id: int
    created_at: datetime
    kind: EntryKind
    currency: str
    amount_minor: int
    pending_delta: int
    payable_delta: int
    in_payout_delta: int
    paid_delta: int
    order_id: uuid.UUID | None
    clip_id: uuid.UUID | None
    organisation_id: uuid.UUID | None
    payout_id: uuid.UUID | None
    reverses_entry_id: int | None
    memo: str | None


class LedgerPage(BaseModel):
    items: list[LedgerEntryRead]
    next_cursor: str | None


class PayoutRead(BaseModel):
    id: uuid.UUID
    run_id: uuid.UUID
    creator_id: uuid.UUID
    handle: str | None = None
    currency: str
    amount_minor: int
    entry_count: int
    status: PayoutStatus
    provider_reference: str | None
    created_at: datetime
    paid_at: datetime | None
    failed_at: datetime | None


class PayoutPage(BaseModel):
    items: list[PayoutRead]
    next_cursor: str | None


class PayoutRunCreate(TextInput):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"key": "2026-11-29"}]})

    key: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="Same key, same run: a rerun pays nobody twice",
    )
    threshold_minor: int | None = Field(default=None, ge=1, le=2_000_000_000)


class PayoutRunRead(BaseModel):
    id: uuid.UUID
    key: str
    threshold_minor: int
    created_at: datetime
    payouts: list[PayoutRead]
    csv_url: str


class PayoutRunPage(BaseModel):
    items: list[PayoutRunRead]
    next_cursor: str | None


class PayoutSettle(TextInput):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"status": "paid", "provider_reference": "tr_123"}]}
    )

    status: Literal["paid", "failed"] = "paid"
    provider_reference: str | None = Field(default=None, max_length=255)


class PayoutWebhookAck(BaseModel):
    payout_id: uuid.UUID
    status: PayoutStatus


class MerchantCommissionRow(BaseModel):
    creator_id: uuid.UUID
    handle: str | None
    clip_id: uuid.UUID | None
    currency: str
    orders: int
    earned_minor: int = Field(description="Commissions captured on paid lines")
    reversed_minor: int = Field(description="Reversed by refunds and cancellations (negative)")
    pending_minor: int = Field(description="Still inside your return window")
    released_minor: int = Field(description="Released to the creator (owed through payouts)")


class MerchantCommissionPage(BaseModel):
    items: list[MerchantCommissionRow]
    next_cursor: str | None


# --- profiles and storefronts -------------------------------------------------------------------


class ClipCard(BaseModel):
    id: uuid.UUID
    caption: str
    duration_ms: int | None
    playback: PlaybackRead
    created_at: datetime


class ClipGrid(BaseModel):
    items: list[ClipCard]
    next_cursor: str | None


class CreatorPublicProfile(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "user_id": EXAMPLE_ID,
                    "handle": "maya.makes",
                    "display_name": "Maya",
                    "bio": "Knits and hoodies",
                    "avatar": None,
                    "follower_count": 1520,
                    "clip_count": 42,
                    "programme_member": True,
                    "following": False,
                    "storefront_url": "http://127.0.0.1:8000/v1/creators/maya.makes/storefront",
                    "clips": {"items": [], "next_cursor": None},
                }
            ]
        }
    )

    user_id: uuid.UUID
    handle: str
    display_name: str
    bio: str | None
    avatar: AvatarUrls | None
    follower_count: int
    clip_count: int
    programme_member: bool = Field(description="Admitted to the creator programme")
    following: bool | None = Field(
        default=None,
        description="Whether the caller follows this creator; null when the request is not signed in",
    )
    storefront_url: str
    clips: ClipGrid = Field(
        description="First page of the clip grid; more from `/v1/creators/{handle}/clips`"
    )


class StorefrontClip(BaseModel):
    clip_id: uuid.UUID
    tag_id: uuid.UUID
    sku_id: uuid.UUID


class BuyAction(BaseModel):
    """Send these with the checkout (`clip_id`, `tag_id`, a line for `sku_id`): the purchase is
    attributed to the creator like a tag's."""

    clip_id: uuid.UUID
    tag_id: uuid.UUID
    sku_id: uuid.UUID


class StorefrontItemRead(ProductCardRead):
    price_minor: int = Field(description="Lowest price of the product's SKUs")
    currency: str
    in_stock: bool
    units_sold: int = Field(description="Units sold through this creator (net of refunds)")
    pinned: bool
    hidden: bool
    clips: list[StorefrontClip]
    buy: BuyAction


class StorefrontPage(BaseModel):
    handle: str
    items: list[StorefrontItemRead]
    next_cursor: str | None


class StorefrontCurate(TextInput):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"pinned": True}]})

    pinned: bool | None = None
    hidden: bool | None = None


class StorefrontCurationRead(BaseModel):
    product_id: uuid.UUID
    pinned: bool
    hidden: bool


class IdeaListWrite(TextInput):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "Rainy day fits", "product_ids": [EXAMPLE_ID]}]},
    )

    name: str = Field(min_length=1, max_length=80)
    description: str | None = Field(default=None, max_length=2000)
    product_ids: list[uuid.UUID] = Field(default_factory=list, max_length=200, description="In display order")
    position: int | None = Field(default=None, ge=0, le=10_000, description="Order among your lists")


class IdeaListRead(BaseModel):
    id: uuid.UUID
    creator_id: uuid.UUID
    handle: str
    name: str
    description: str | None
    position: int
    share_url: str
    items: list[ProductCardRead]
    created_at: datetime
    updated_at: datetime


class IdeaListPage(BaseModel):
    items: list[IdeaListRead]
    next_cursor: str | None


__all__ = ["AttributionSource"]
