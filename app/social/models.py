"""Comments, shares, polls, blocks and moderation."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UUIDPrimaryKey, utcnow


class CommentStatus(StrEnum):
    visible = "visible"
    hidden = "hidden"  # by the clip's creator or a moderator (see hidden_by)
    deleted = "deleted"


class Comment(UUIDPrimaryKey, Base):
    __tablename__ = "comment"
    __table_args__ = (
        Index("ix_comment_clip_id_created_at", "clip_id", "created_at"),
        Index("ix_comment_parent_id_created_at", "parent_id", "created_at"),
    )

    clip_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clip.id", ondelete="CASCADE"))
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    # one level of threading: a reply's parent is always a top-level comment
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("comment.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    # [{"handle", "user_id", "start", "end"}]: the @handles found in the body (offsets in characters)
    mentions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[CommentStatus] = mapped_column(
        Enum(CommentStatus, native_enum=False, length=16), default=CommentStatus.visible
    )
    hidden_by: Mapped[str | None] = mapped_column(String(16))  # creator | moderator
    pinned_at: Mapped[datetime | None]
    # visible replies (kept by guarded increments in the statements that change them)
    reply_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[datetime | None]


class ClipSocialStat(Base):
    """Exact per-clip counts of the social layer (increments in SQL, in the writing transaction)."""

    __tablename__ = "clip_social_stat"

    clip_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clip.id", ondelete="CASCADE"), primary_key=True)
    comments: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    shares: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class Share(UUIDPrimaryKey, Base):
    """A share link ``/s/{code}``; what came through it is counted to it (and so to its sharer)."""

    __tablename__ = "share"

    code: Mapped[str] = mapped_column(String(16), unique=True)
    clip_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clip.id", ondelete="CASCADE"), index=True)
    sharer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str | None] = mapped_column(String(32))
    opens: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    views: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    purchases: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    revenue_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ShareView(Base):
    """One viewer who watched the clip through a share (counted once per viewer)."""

    __tablename__ = "share_view"

    share_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("share.id", ondelete="CASCADE"), primary_key=True)
    viewer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ShareOrder(Base):
    """An order placed through a share; counted to the share when it is paid."""

    __tablename__ = "share_order"

    order_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # no FK: commerce's table
    share_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("share.id", ondelete="CASCADE"), index=True)
    paid_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Poll(UUIDPrimaryKey, Base):
    __tablename__ = "poll"

    clip_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clip.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    # set when a merchant asked: the organisation sees the results
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("merchant_organisation.id", ondelete="CASCADE"), index=True
    )
    question: Mapped[str] = mapped_column(String(200))
    closes_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PollOption(UUIDPrimaryKey, Base):
    __tablename__ = "poll_option"
    __table_args__ = (UniqueConstraint("poll_id", "position"),)

    poll_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("poll.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(80))
    product_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("product.id", ondelete="SET NULL"))


class PollVote(Base):
    """One vote per viewer and poll (the primary key); changing it rewrites the row."""

    __tablename__ = "poll_vote"
    __table_args__ = (Index("ix_poll_vote_poll_id_option_id", "poll_id", "option_id"),)

    poll_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("poll.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    option_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("poll_option.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserBlock(Base):
    __tablename__ = "user_block"

    blocker_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    blocked_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TargetType(StrEnum):
    clip = "clip"
    comment = "comment"
    user = "user"


class ReportReason(StrEnum):
    spam = "spam"
    harassment = "harassment"
    hate = "hate"
    nudity = "nudity"
    violence = "violence"
    scam = "scam"
    counterfeit = "counterfeit"
    other = "other"


class ReportStatus(StrEnum):
    open = "open"
    actioned = "actioned"
    dismissed = "dismissed"


class Report(UUIDPrimaryKey, Base):
    __tablename__ = "report"
    __table_args__ = (
        Index("ix_report_status_created_at", "status", "created_at"),
        Index("ix_report_target", "target_type", "target_id"),
        UniqueConstraint("reporter_id", "target_type", "target_id"),
    )

    reporter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    target_type: Mapped[TargetType] = mapped_column(Enum(TargetType, native_enum=False, length=16))
    target_id: Mapped[uuid.UUID]
    # who is responsible for the content (the clip's creator, the comment's author, the user)
    subject_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[ReportReason] = mapped_column(Enum(ReportReason, native_enum=False, length=16))
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[ReportStatus] = mapped_column(
        Enum(ReportStatus, native_enum=False, length=16), default=ReportStatus.open
    )
    escalated: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]


class HiddenContent(Base):
    """Clips and users hidden by moderation (comments carry their own status)."""

    __tablename__ = "hidden_content"

    target_type: Mapped[TargetType] = mapped_column(
        Enum(TargetType, native_enum=False, length=16), primary_key=True
    )
    target_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    hidden_at: Mapped[datetime] = mapped_column(default=utcnow)
    hidden_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text)


class ModerationAction(UUIDPrimaryKey, Base):
    """The decision log: every hide, restore, suspend, dismissal and escalation, with who and why."""

    __tablename__ = "moderation_action"
    __table_args__ = (Index("ix_moderation_action_target", "target_type", "target_id"),)

    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    actor_role: Mapped[str] = mapped_column(String(16))  # admin | creator | system
    action: Mapped[str] = mapped_column(
        String(16)
    )  # hide | restore | suspend | unsuspend | dismiss | escalate
    target_type: Mapped[TargetType] = mapped_column(Enum(TargetType, native_enum=False, length=16))
    target_id: Mapped[uuid.UUID]
    subject_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    report_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("report.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BlockedWord(UUIDPrimaryKey, Base):
    __tablename__ = "blocked_word"

    word: Mapped[str] = mapped_column(String(80), unique=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
