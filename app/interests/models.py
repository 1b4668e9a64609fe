from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class Interest(Base):
    """Two-level taxonomy: top-level interests (``beauty``) and children (``beauty.skincare``)."""

    __tablename__ = "interest"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("interest.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)


class UserInterest(Base):
    __tablename__ = "user_interest"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    interest_id: Mapped[int] = mapped_column(ForeignKey("interest.id", ondelete="CASCADE"), primary_key=True)
    # Weight in 0..1: onboarding choices start at 1.0; learning from events moves it.
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    selected: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
