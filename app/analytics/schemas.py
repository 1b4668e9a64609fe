from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class PeriodRead(BaseModel):
    start: str = Field(description="First day (YYYY-MM-DD) in `tz`")
    end: str = Field(description="Last day (YYYY-MM-DD, included) in `tz`")
    tz: str = Field(description="IANA time zone the days are counted in")


class FilteredRead(BaseModel):
    """Engagement flagged as inauthentic: not in the organic figures, shown here instead."""

    impressions: int
    views: int
    likes: int
    shares: int
    comments: int = 0
    follows: int
    completes: int


class CurrencyAmount(BaseModel):
    currency: str
    revenue_minor: int


class FiguresRead(BaseModel):
    """Organic figures of an entity over a period (definitions: `app/analytics/README.md`)."""

    impressions: int
    reach: int | None = Field(description="Distinct organic viewers (clips, creators, merchants)")
    views: int
    avg_watch_ms: int | None
    completion_rate: float | None
    likes: int = Field(description="Likes minus unlikes")
    shares: int
    comments: int | None = Field(description="Comments posted minus comments deleted or hidden")
    follows: int = Field(description="Follows minus unfollows (creators)")
    engagement_rate: float | None = Field(description="(likes + shares + comments) / impressions")
    product_taps: int
    tap_through_rate: float | None = Field(description="product taps / impressions")
    add_to_carts: int
    orders: int
    units: int
    revenue_minor: int = Field(description="Revenue of paid orders in `currency` (the largest)")
    currency: str | None
    revenue_by_currency: list[CurrencyAmount]
    conversion_rate: float | None = Field(description="orders / product taps")
    commission_minor: int | None = Field(description="null when no creator programme books commission")
    roi: float | None = Field(description="attributed revenue / commission")
    filtered: FilteredRead


class DayRead(FiguresRead):
    day: str


_FIGURES_EXAMPLE: Any = {
    "impressions": 1200,
    "reach": 830,
    "views": 900,
    "avg_watch_ms": 8400,
    "completion_rate": 0.41,
    "likes": 96,
    "shares": 12,
    "comments": 3,
    "follows": 7,
    "engagement_rate": 0.09,
    "product_taps": 60,
    "tap_through_rate": 0.05,
    "add_to_carts": 14,
    "orders": 6,
    "units": 7,
    "revenue_minor": 20930,
    "currency": "EUR",
    "revenue_by_currency": [{"currency": "EUR", "revenue_minor": 20930}],
    "conversion_rate": 0.1,
    "commission_minor": None,
    "roi": None,
    "filtered": {"impressions": 40, "views": 0, "likes": 38, "shares": 0, "follows": 0, "completes": 0},
}
_PERIOD_EXAMPLE: Any = {"start": "2026-11-01", "end": "2026-11-28", "tz": "Europe/Paris"}


class EntityRef(BaseModel):
    kind: Literal["clip", "creator", "sku", "product", "merchant", "all"]
    id: uuid.UUID


class EntityReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "entity": {"kind": "clip", "id": "0b9d6f0e-2f0a-4a57-9d55-2f3f3f9d1c11"},
                "period": _PERIOD_EXAMPLE,
                "totals": _FIGURES_EXAMPLE,
                "daily": [{"day": "2026-11-01", **_FIGURES_EXAMPLE}],
            }
        }
    )

    entity: EntityRef
    period: PeriodRead
    totals: FiguresRead
    daily: list[DayRead]


class FlagRead(BaseModel):
    code: str = Field(description="e.g. engagement_burst, engagement_without_watching, shared_device")
    detail: str
    share: float = Field(ge=0, le=1, description="Share of the creator's engagement this flag concerns")


class AuthenticityRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "score": 62,
                "flagged_share": 0.38,
                "flags": [
                    {
                        "code": "engagement_burst",
                        "detail": "a burst of engagement from new or dormant accounts",
                        "share": 0.38,
                    }
                ],
                "period": _PERIOD_EXAMPLE,
            }
        }
    )

    score: int = Field(ge=0, le=100, description="100 = all engagement looks real")
    flagged_share: float = Field(ge=0, le=1)
    flags: list[FlagRead]
    period: PeriodRead


class MerchantSalesRead(BaseModel):
    orders: int
    units: int
    revenue_minor: int
    currency: str | None
    commission_minor: int | None = Field(description="the commission these sales cost the merchant")


_MERCHANT_SALES = (
    "Merchant dashboard only: the sales of this merchant's products attributed to this seller in "
    "the period (what the top rows are ranked by); the figures beside it are the seller's own"
)


class ClipRow(FiguresRead):
    clip_id: uuid.UUID
    merchant_sales: MerchantSalesRead | None = Field(default=None, description=_MERCHANT_SALES)


class SkuRow(FiguresRead):
    sku_id: uuid.UUID
    product_id: uuid.UUID
    code: str
    title: str


class CreatorRow(FiguresRead):
    creator_id: uuid.UUID
    handle: str | None
    merchant_sales: MerchantSalesRead | None = Field(default=None, description=_MERCHANT_SALES)


class InterestShare(BaseModel):
    interest: str
    share: float


class FollowDay(BaseModel):
    day: str
    follows: int


class AudienceRead(BaseModel):
    period: PeriodRead
    engaged_viewers: int
    viewer_interests: list[InterestShare] = Field(description="Interests of the engaged viewers (shares)")
    new_viewers: int = Field(description="Organic viewers seen for the first time in the period")
    returning_viewers: int
    followers: int
    follower_growth: list[FollowDay]


class CreatorDashboard(BaseModel):
    period: PeriodRead
    totals: FiguresRead
    daily: list[DayRead]
    clips: list[ClipRow]
    audience: AudienceRead
    authenticity: AuthenticityRead


class MerchantDashboard(BaseModel):
    period: PeriodRead
    totals: FiguresRead
    daily: list[DayRead]
    skus: list[SkuRow]
    top_clips: list[ClipRow]
    top_creators: list[CreatorRow]


class AdminOverview(BaseModel):
    period: PeriodRead
    totals: FiguresRead
    daily: list[DayRead]
    top_creators: list[CreatorRow]
    flagged_accounts: int


class FlaggedAccount(BaseModel):
    user_id: uuid.UUID
    flags: int
    codes: list[str]
    detail: str | None
    flagged_at: datetime | None
    engagements: int
    last_seen_at: datetime


class FlaggedAccountPage(BaseModel):
    items: list[FlaggedAccount]
    next_cursor: str | None


class Evidence(BaseModel):
    period: PeriodRead
    impressions: int
    likes: int
    shares: int
    product_taps: int
    orders: int
    revenue_minor: int
    currency: str | None
    filtered: FilteredRead
    top_audience_interests: list[InterestShare]


class AuthenticitySummary(BaseModel):
    score: int
    flagged_share: float
    flags: list[FlagRead]


class DiscoveredCreator(BaseModel):
    creator_id: uuid.UUID
    handle: str
    display_name: str
    followers: int
    audience_match: float = Field(description="Share of the engaged audience's interests in the merchant's")
    engagement_rate: float | None
    conversion_rate: float | None
    authenticity: AuthenticitySummary
    relevance: float
    evidence: Evidence


class DiscoveryPage(BaseModel):
    items: list[DiscoveredCreator]
    next_cursor: str | None


class ShortlistIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {"note": "autumn campaign"}})

    note: str | None = Field(default=None, max_length=500)


class ShortlistEntry(BaseModel):
    creator_id: uuid.UUID
    handle: str | None
    note: str | None
    created_at: datetime
    authenticity: int | None = None


class ShortlistPage(BaseModel):
    items: list[ShortlistEntry]
    next_cursor: str | None
