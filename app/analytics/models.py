"""Analytics state: rollups folded from the event log and the orders, and authenticity state.

Everything here is derived (from ``feed_event``, orders and catalog/tag data) and maintained
incrementally, exactly once: the engagement rollups inside the feed aggregator's transaction (the
same slice of the log, see ``service.fold_slice``), the sales rollups by diffing each order against
what was counted for it (``analytics_order_fact``).

Buckets: every rollup is kept at three grains, a quarter of an hour, a UTC day and a UTC week
from Monday (``grain`` 0, 1 and 2). A day in any IANA time zone is a whole number of quarter hours
in UTC, so ranges and daily series in the caller's time zone are exact; the week and day grains
answer the full UTC weeks and days inside a long range (see ``app/analytics/README.md``).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow

QUARTER = 0
DAY = 1
WEEK = 2  # (a 90-day range reads ~13 week and ~6 day rows per entity instead of ~90 day rows)
GRAINS = (QUARTER, DAY, WEEK)


def _counter() -> Mapped[int]:
    return mapped_column(BigInteger, default=0, server_default="0")


class AnalyticsEngagement(Base):
    """Event counts per entity and bucket; ``filtered``: engagement flagged as inauthentic."""

    __tablename__ = "analytics_engagement"

    # clip | creator | sku | product | merchant | all
    entity_kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    entity_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    grain: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    bucket: Mapped[datetime] = mapped_column(primary_key=True)
    filtered: Mapped[bool] = mapped_column(primary_key=True)
    impressions: Mapped[int] = _counter()
    views: Mapped[int] = _counter()
    watch_ms: Mapped[int] = _counter()
    completes: Mapped[int] = _counter()
    replays: Mapped[int] = _counter()
    skips: Mapped[int] = _counter()
    likes: Mapped[int] = _counter()
    unlikes: Mapped[int] = _counter()
    shares: Mapped[int] = _counter()
    comments: Mapped[int] = _counter()  # posted (or shown again)
    uncomments: Mapped[int] = _counter()  # deleted or hidden
    follows: Mapped[int] = _counter()
    unfollows: Mapped[int] = _counter()
    product_taps: Mapped[int] = _counter()
    add_to_carts: Mapped[int] = _counter()


class AnalyticsSales(Base):
    """Paid orders per entity, bucket (of the payment time) and currency, with the commission the
    creator programme booked for them."""

    __tablename__ = "analytics_sales"

    entity_kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    entity_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    grain: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    bucket: Mapped[datetime] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    orders: Mapped[int] = _counter()
    units: Mapped[int] = _counter()
    revenue_minor: Mapped[int] = _counter()
    commission_minor: Mapped[int] = _counter()  # booked for these sales, net of reversals


class AnalyticsSeller(Base):
    """A merchant's paid orders per seller (the clip or creator an order is attributed to),
    bucket and currency: the merchant dashboard ranks its top clips and creators from these rows
    alone (reading the sales of every clip that carries the merchant's products took 1.4 s at
    100,000 clips: ``bench/README.md``). Kept by the same order sync as ``analytics_sales``."""

    __tablename__ = "analytics_seller"

    organisation_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    seller_kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # clip | creator
    grain: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    bucket: Mapped[datetime] = mapped_column(primary_key=True)
    seller_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    orders: Mapped[int] = _counter()
    units: Mapped[int] = _counter()
    revenue_minor: Mapped[int] = _counter()
    commission_minor: Mapped[int] = _counter()  # booked for these sales, net of reversals


class AnalyticsOrderFact(Base):
    """What the sales rollups hold for each order (``counted``: it is in them), so an order's
    contribution is added or taken out exactly once whatever the number of syncs."""

    __tablename__ = "analytics_order_fact"

    order_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    counted: Mapped[bool] = mapped_column(default=False)
    paid_at: Mapped[datetime | None]
    # ``{order line id: [units, revenue, commission]}`` counted (net of partial refunds and their
    # commission reversals); null: the whole order, without commission.
    lines: Mapped[dict[str, list[int]] | None] = mapped_column(JSON)
    synced_at: Mapped[datetime] = mapped_column(default=utcnow)


class AnalyticsCursor(Base):
    """Where an incremental reader stands (the order sync's last ``updated_at``)."""

    __tablename__ = "analytics_cursor"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[datetime]


class AnalyticsReach(Base):
    """Who saw an entity in a quarter hour (organic viewers): exact unique reach over any range."""

    __tablename__ = "analytics_reach"

    entity_kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    entity_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    bucket: Mapped[datetime] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)


class AnalyticsClipDim(Base):
    """When a clip's entity map (below) was last read from clips and tags."""

    __tablename__ = "analytics_clip_dim"

    clip_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    creator_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    refreshed_at: Mapped[datetime] = mapped_column(default=utcnow)


class AnalyticsClipMap(Base):
    """The entities a clip's events count for: itself, its creator, the SKUs, products and
    merchants tagged on it (each once), and ``all``."""

    __tablename__ = "analytics_clip_map"

    clip_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    entity_kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    entity_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)

    # (with the clip id: a merchant's first carrying clips are read in order from the index alone)
    __table_args__ = (Index("ix_analytics_clip_map_entity", "entity_kind", "entity_id", "clip_id"),)


class AnalyticsWatch(Base):
    """(viewer, clip) pairs with view progress: the watch evidence engagement is checked against
    (a primary-key lookup instead of a scan of the viewer's events)."""

    __tablename__ = "analytics_watch"

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    clip_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)


class AnalyticsCreatorViewer(Base):
    """A creator's viewers (organic): first and last seen, engagements; new vs returning."""

    __tablename__ = "analytics_creator_viewer"

    creator_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    first_at: Mapped[datetime]
    last_at: Mapped[datetime]
    engagements: Mapped[int] = _counter()


class AnalyticsAccount(Base):
    """An account as the authenticity checks see it."""

    __tablename__ = "analytics_account"

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    engagements: Mapped[int] = _counter()
    unwatched: Mapped[int] = _counter()  # engagements with no view progress of the clip
    flags: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    codes: Mapped[str | None] = mapped_column(Text)  # comma-separated flag codes, first first
    flagged_at: Mapped[datetime | None] = mapped_column(index=True)
    detail: Mapped[str | None] = mapped_column(Text)


class AnalyticsAccountCreator(Base):
    """Engagements of an account per creator (concentration on one creator)."""

    __tablename__ = "analytics_account_creator"

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    creator_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    engagements: Mapped[int] = _counter()


class AnalyticsBurstEngager(Base):
    """Fresh or dormant accounts that engaged a target (clip or creator) in a time window."""

    __tablename__ = "analytics_burst_engager"

    target_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    window_start: Mapped[datetime] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)


class AnalyticsSharedKey(Base):
    """Accounts seen behind a device id or (fresh accounts) a client address."""

    __tablename__ = "analytics_shared_key"

    key_kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # device | ip
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    first_at: Mapped[datetime] = mapped_column(default=utcnow)


class AnalyticsFlagTally(Base):
    """Engagement events discounted per creator, day and flag code (the authenticity breakdown)."""

    __tablename__ = "analytics_flag_tally"

    creator_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    day: Mapped[datetime] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    events: Mapped[int] = _counter()


class AnalyticsShortlist(Base):
    """Creators a merchant shortlisted from discovery."""

    __tablename__ = "analytics_shortlist"

    organisation_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    creator_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
