from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.social.models import CommentStatus, ReportReason, ReportStatus, TargetType

EXAMPLE_CLIP = "0b6c8ad4-8a5f-4b3e-9a53-9c1d2d3e4f50"


class CommentCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"example": {"body": "Which shade is this, @maya.makes?", "parent_id": None}}
    )

    body: str = Field(min_length=1, max_length=5000)
    parent_id: uuid.UUID | None = Field(default=None, description="Reply to this comment (one level)")


class CommentUpdate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"body": "Which shade is this?"}})

    body: str = Field(min_length=1, max_length=5000)


class ModerationNote(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"reason": "off-topic"}})

    reason: str | None = Field(default=None, max_length=500)


class Mention(BaseModel):
    handle: str
    user_id: uuid.UUID
    start: int = Field(description="Offset of the `@` in the body (characters)")
    end: int
    url: str = Field(description="The mentioned creator's public profile")


class CommentAuthor(BaseModel):
    id: uuid.UUID
    handle: str | None
    display_name: str | None


class CommentRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "5e3c1a2b-4d6f-4a8b-9c0d-1e2f3a4b5c6d",
                "clip_id": EXAMPLE_CLIP,
                "parent_id": None,
                "author": {
                    "id": "9d8c7b6a-5f4e-4d3c-2b1a-0f9e8d7c6b5a",
                    "handle": None,
                    "display_name": "Ada",
                },
                "body": "Which shade is this, @maya.makes?",
                "mentions": [
                    {
                        "handle": "maya.makes",
                        "user_id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
                        "start": 23,
                        "end": 34,
                        "url": "http://127.0.0.1:8000/v1/creators/maya.makes",
                    }
                ],
                "status": "visible",
                "pinned": False,
                "reply_count": 2,
                "created_at": "2026-11-29T10:00:00Z",
                "edited_at": None,
            }
        }
    )

    id: uuid.UUID
    clip_id: uuid.UUID
    parent_id: uuid.UUID | None
    author: CommentAuthor | None = Field(description="None on a placeholder for a removed comment")
    body: str | None = Field(description="None on a placeholder for a removed comment that has replies")
    mentions: list[Mention]
    status: CommentStatus
    pinned: bool
    reply_count: int
    created_at: datetime
    edited_at: datetime | None


class CommentPage(BaseModel):
    items: list[CommentRead]
    next_cursor: str | None
    comment_count: int = Field(description="Visible comments on the clip, replies included (exact)")


class ShareCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"channel": "whatsapp"}})

    channel: str | None = Field(default=None, max_length=32, description="Where it is shared (free text)")


class ShareRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "3b2a1c0d-9e8f-4a7b-6c5d-4e3f2a1b0c9d",
                "code": "Yx3kP0aQ",
                "url": "http://127.0.0.1:8000/s/Yx3kP0aQ",
                "clip_id": EXAMPLE_CLIP,
                "channel": "whatsapp",
                "opens": 12,
                "views": 9,
                "purchases": 1,
                "revenue_minor": 4900,
                "created_at": "2026-11-29T10:00:00Z",
            }
        }
    )

    id: uuid.UUID
    code: str
    url: str
    clip_id: uuid.UUID
    channel: str | None
    opens: int = Field(description="Times the link was opened")
    views: int = Field(description="Viewers who watched the clip through the link (once each)")
    purchases: int = Field(description="Paid orders placed through the link")
    revenue_minor: int = Field(description="Their total, in the orders' currency minor units")
    created_at: datetime


class ShareTotals(BaseModel):
    shares: int
    opens: int
    views: int
    purchases: int
    revenue_minor: int


class SharePage(BaseModel):
    items: list[ShareRead]
    next_cursor: str | None
    totals: ShareTotals


class SharedClip(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "share_code": "Yx3kP0aQ",
                "url": "http://127.0.0.1:8000/s/Yx3kP0aQ",
                "clip": {
                    "id": EXAMPLE_CLIP,
                    "caption": "Spring haul",
                    "creator": {
                        "id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
                        "handle": "maya.makes",
                        "display_name": "Maya",
                    },
                    "poster_url": "http://127.0.0.1:8000/v1/media/clips/.../poster.jpg",
                    "hls_url": "http://127.0.0.1:8000/v1/media/clips/.../master.m3u8",
                    "mp4_url": "http://127.0.0.1:8000/v1/media/clips/.../clip.mp4",
                    "duration_ms": 15000,
                },
                "counts": {"comments": 4, "shares": 12},
            }
        }
    )

    share_code: str = Field(description="Send it back as `share_code` on events and checkout")
    url: str
    clip: dict[str, Any]
    counts: dict[str, int]


class PollOptionIn(BaseModel):
    label: str = Field(min_length=1, max_length=80)
    product_id: uuid.UUID | None = Field(
        default=None, description="A catalogue product this option stands for"
    )


class PollCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "question": "Which one should I review next?",
                "options": [{"label": "The red one", "product_id": None}, {"label": "The blue one"}],
                "closes_at": "2026-12-06T10:00:00Z",
            }
        }
    )

    question: str = Field(min_length=1, max_length=200)
    options: list[PollOptionIn] = Field(min_length=2, max_length=4)
    closes_at: datetime | None = None


class VoteIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"example": {"option_id": "6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d"}}
    )

    option_id: uuid.UUID


class PollOptionRead(BaseModel):
    id: uuid.UUID
    label: str
    product_id: uuid.UUID | None
    votes: int | None = Field(
        description="Shown once the caller voted, when the poll is closed, or to its owners"
    )


class PollRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "7b6a5c4d-3e2f-4a1b-0c9d-8e7f6a5b4c3d",
                "clip_id": EXAMPLE_CLIP,
                "question": "Which one should I review next?",
                "options": [
                    {
                        "id": "6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d",
                        "label": "The red one",
                        "product_id": None,
                        "votes": 3,
                    },
                    {
                        "id": "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d",
                        "label": "The blue one",
                        "product_id": None,
                        "votes": 5,
                    },
                ],
                "open": True,
                "closes_at": "2026-12-06T10:00:00Z",
                "my_vote": "6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d",
                "results_visible": True,
                "total_votes": 8,
                "created_at": "2026-11-29T10:00:00Z",
            }
        }
    )

    id: uuid.UUID
    clip_id: uuid.UUID
    question: str
    options: list[PollOptionRead]
    open: bool
    closes_at: datetime | None
    my_vote: uuid.UUID | None
    results_visible: bool
    total_votes: int | None
    created_at: datetime


class PollPage(BaseModel):
    items: list[PollRead]
    next_cursor: str | None


class BlockCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"handle": "maya.makes"}})

    user_id: uuid.UUID | None = None
    handle: str | None = Field(default=None, max_length=30)

    @model_validator(mode="after")
    def _one(self) -> BlockCreate:
        if (self.user_id is None) == (self.handle is None):
            raise ValueError("give either user_id or handle")
        return self


class BlockRead(BaseModel):
    user_id: uuid.UUID
    handle: str | None
    display_name: str | None
    created_at: datetime


class ReportCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "target_type": "clip",
                "target_id": EXAMPLE_CLIP,
                "reason": "scam",
                "note": "fake giveaway",
            }
        }
    )

    target_type: TargetType
    target_id: uuid.UUID
    reason: ReportReason
    note: str | None = Field(default=None, max_length=1000)


class ReportRead(BaseModel):
    id: uuid.UUID
    target_type: TargetType
    target_id: uuid.UUID
    reason: ReportReason
    note: str | None
    status: ReportStatus
    escalated: bool
    created_at: datetime
    resolved_at: datetime | None


class ReportQueueItem(ReportRead):
    reporter_id: uuid.UUID
    subject_user_id: uuid.UUID | None
    context: dict[str, Any] = Field(
        description="The target as it is now, reports on it, the subject's strikes"
    )


class ReportQueuePage(BaseModel):
    items: list[ReportQueueItem]
    next_cursor: str | None


ModerationVerb = Literal["hide", "restore", "suspend", "unsuspend", "dismiss"]


class DecisionIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"example": {"action": "hide", "reason": "counterfeit goods"}}
    )

    action: ModerationVerb
    reason: str = Field(min_length=1, max_length=1000)


class ModerationActionIn(DecisionIn):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "target_type": "user",
                "target_id": "9d8c7b6a-5f4e-4d3c-2b1a-0f9e8d7c6b5a",
                "action": "suspend",
                "reason": "spam ring",
            }
        }
    )

    target_type: TargetType
    target_id: uuid.UUID


class ModerationActionRead(BaseModel):
    id: uuid.UUID
    actor_id: uuid.UUID | None
    actor_role: str
    action: str
    target_type: TargetType
    target_id: uuid.UUID
    subject_user_id: uuid.UUID | None
    report_id: uuid.UUID | None
    reason: str
    created_at: datetime


class ModerationActionPage(BaseModel):
    items: list[ModerationActionRead]
    next_cursor: str | None


class BlockedWordIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"word": "scamcoin"}})

    word: str = Field(min_length=2, max_length=80, pattern=r"^[^\s]+$")


class BlockedWordRead(BaseModel):
    id: uuid.UUID
    word: str
    created_at: datetime
