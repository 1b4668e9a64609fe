"""Persisted feed state: the event log (source of truth), clip counters, likes and follows.

The in-memory ranking engine (``app.feed.engine``) is a cache rebuilt from these tables.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow

# BIGINT on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class FeedEvent(Base):
    """One client event, stored once per (user, client event id): replays are no-ops."""

    __tablename__ = "feed_event"
    __table_args__ = (
        UniqueConstraint("user_id", "event_id"),
        # The aggregator only ever looks at events it has not folded into the counters yet.
        Index(
            "ix_feed_event_pending",
            "id",
            postgresql_where=text("NOT aggregated"),
            sqlite_where=text("NOT aggregated"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    event_id: Mapped[uuid.UUID]
    type: Mapped[str] = mapped_column(String(16))
    # not indexed: nothing looks events up by clip (an index would cost a random B-tree insert
    # per event for no reader)
    clip_id: Mapped[uuid.UUID | None]
    creator_id: Mapped[uuid.UUID | None]
    watch_ms: Mapped[int | None]
    progress: Mapped[float | None] = mapped_column(Float)
    client_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    aggregated: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    # What engagement-authenticity checks need, recorded with the event at ingest: the sender's
    # device (``X-Device-Id``, optional), address (``X-Forwarded-For`` only from trusted proxies),
    # and the account's kind and creation time (its age at the event).
    device_id: Mapped[str | None] = mapped_column(String(64))
    client_ip: Mapped[str | None] = mapped_column(String(45))
    account_guest: Mapped[bool | None]
    account_created_at: Mapped[datetime | None]
    # set by the authenticity checks: the event does not count for quality, trending or counters
    flagged: Mapped[bool] = mapped_column(default=False, server_default=text("false"))


class ClipStat(Base):
    """Per-clip counters, maintained only by the aggregator from the event log."""

    __tablename__ = "clip_stat"

    clip_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    impressions: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    views: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    completes: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    replays: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    skips: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    likes: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    shares: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    product_taps: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    add_to_carts: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    purchases: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    watch_ms: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ClipLike(Base):
    """Who likes what: makes the like counter exact whatever the order of like/unlike events."""

    __tablename__ = "clip_like"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    # indexed: the aggregator recounts the likes of the clips a run touched
    clip_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CreatorFollow(Base):
    """The one source of truth for follows (the follow endpoints and follow events both write here)."""

    __tablename__ = "creator_follow"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    creator_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FeedEventRetraction(Base):
    """Events discounted after they were counted (flagged as inauthentic), in the order they were
    discounted: each process's engine tails this log and takes them back out of its counters."""

    __tablename__ = "feed_event_retraction"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
