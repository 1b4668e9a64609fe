from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Enum, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, Timestamps, UUIDPrimaryKey, utcnow


class Role(StrEnum):
    viewer = "viewer"
    creator = "creator"
    merchant = "merchant"
    admin = "admin"


class MemberRole(StrEnum):
    owner = "owner"
    member = "member"


class User(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "user"

    # Guests have neither email nor password until they upgrade (same row, same id).
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16), index=True)
    is_guest: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    display_name: Mapped[str | None] = mapped_column(String(80))
    last_login_at: Mapped[datetime | None]

    creator_profile: Mapped[CreatorProfile | None] = relationship(
        back_populates="user", lazy="selectin", uselist=False
    )
    membership: Mapped[MerchantMember | None] = relationship(
        back_populates="user", lazy="selectin", uselist=False
    )


class AuthSession(UUIDPrimaryKey, Base):
    """A login: the family of refresh tokens that rotate from one sign-in."""

    __tablename__ = "auth_session"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(32))
    user_agent: Mapped[str | None] = mapped_column(String(255))


class RefreshToken(UUIDPrimaryKey, Base):
    __tablename__ = "refresh_token"

    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("auth_session.id", ondelete="CASCADE"), index=True
    )
    # Only a SHA-256 of the token is stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class CreatorProfile(Timestamps, Base):
    __tablename__ = "creator_profile"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    handle: Mapped[str] = mapped_column(String(30), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    bio: Mapped[str | None] = mapped_column(Text)
    # Storage key prefix of the current avatar set (several sizes, JPEG + WebP).
    avatar_key: Mapped[str | None] = mapped_column(String(255))

    user: Mapped[User] = relationship(back_populates="creator_profile")


class MerchantOrganisation(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "merchant_organisation"

    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    website: Mapped[str | None] = mapped_column(String(255))
    support_email: Mapped[str | None] = mapped_column(String(320))

    members: Mapped[list[MerchantMember]] = relationship(
        back_populates="organisation", lazy="selectin", order_by="MerchantMember.created_at"
    )


class MerchantMember(Base):
    __tablename__ = "merchant_member"

    # A merchant user belongs to exactly one organisation.
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("merchant_organisation.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[MemberRole] = mapped_column(Enum(MemberRole, native_enum=False, length=16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="membership", lazy="selectin")
    organisation: Mapped[MerchantOrganisation] = relationship(back_populates="members", lazy="selectin")
