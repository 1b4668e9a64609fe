from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.notifications.models import DeliveryStatus, NotificationKind


class NotificationRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "4f0c2c1e-5d7b-4c1a-9f59-0a1b2c3d4e5f",
                "kind": "reply",
                "title": "@maya.makes replied to your comment",
                "body": "Love this shade too!",
                "data": {"clip_id": "0b6c8ad4-8a5f-4b3e-9a53-9c1d2d3e4f50", "comment_id": "..."},
                "read": False,
                "read_at": None,
                "created_at": "2026-11-29T10:00:00Z",
            }
        }
    )

    id: uuid.UUID
    kind: NotificationKind = Field(description="What happened (a new kind may be added in a later version)")
    title: str
    body: str
    data: dict[str, Any]
    read: bool
    read_at: datetime | None
    created_at: datetime


class NotificationPage(BaseModel):
    items: list[NotificationRead]
    next_cursor: str | None
    unread_count: int


class ReadAllResult(BaseModel):
    marked_read: int


class WebhookEndpointCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "url": "https://hooks.example.com/clipshop",
                "description": "Order sync",
                "event_types": ["order.paid", "clip.ready"],
            }
        }
    )

    url: str = Field(min_length=8, max_length=2000)
    description: str | None = Field(default=None, max_length=200)
    event_types: list[str] = Field(
        default_factory=list, max_length=50, description="Subscribed event types; empty: every type"
    )


class WebhookEndpointUpdate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"active": False}})

    url: str | None = Field(default=None, min_length=8, max_length=2000)
    description: str | None = Field(default=None, max_length=200)
    event_types: list[str] | None = Field(default=None, max_length=50)
    active: bool | None = None
    rotate_secret: bool = Field(default=False, description="Issue a new signing secret")


class WebhookEndpointRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "7a1d9c3e-2b4f-4e6a-8c0d-1e2f3a4b5c6d",
                "url": "https://hooks.example.com/clipshop",
                "description": "Order sync",
                "event_types": ["order.paid"],
                "active": True,
                "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "created_at": "2026-11-29T10:00:00Z",
            }
        }
    )

    id: uuid.UUID
    url: str
    description: str | None
    event_types: list[str]
    active: bool
    secret: str = Field(description="Signing secret (Standard Webhooks `whsec_` form)")
    created_at: datetime


class WebhookAttemptRead(BaseModel):
    attempted_at: datetime
    status_code: int | None
    duration_ms: int
    error: str | None
    response_body: str | None


class WebhookDeliveryRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f",
                "message_id": "msg_5f1c0e9a2b3d4c5e6f708192a3b4c5d6",
                "event_type": "order.paid",
                "status": "pending",
                "attempts": 1,
                "next_attempt_at": "2026-11-29T10:00:05Z",
                "last_status_code": 503,
                "last_error": None,
                "created_at": "2026-11-29T10:00:00Z",
                "delivered_at": None,
                "payload": {"id": "msg_...", "type": "order.paid", "timestamp": "...", "data": {}},
                "log": [],
            }
        }
    )

    id: uuid.UUID
    message_id: str
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    payload: dict[str, Any] = Field(description="The body sent (signed as is)")
    log: list[WebhookAttemptRead] = Field(
        default_factory=list, description="Every attempt (one delivery only)"
    )


class WebhookDeliveryPage(BaseModel):
    items: list[WebhookDeliveryRead]
    next_cursor: str | None


class WebhookEventTypes(BaseModel):
    event_types: list[str]
