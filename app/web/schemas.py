from __future__ import annotations

import uuid

from pydantic import BaseModel, Field


class DemoPaymentRead(BaseModel):
    order_id: uuid.UUID
    outcome: str = Field(description="What the webhook did: paid, amount_mismatch, ...", examples=["paid"])
