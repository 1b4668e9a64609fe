from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient


def checkout(
    client: TestClient,
    headers: dict[str, str],
    lines: list[tuple[str, int]],
    key: str | None = None,
    **extra: Any,
):
    body = {"lines": [{"sku_id": sku_id, "quantity": q} for sku_id, q in lines], **extra}
    return client.post(
        "/v1/checkout", json=body, headers={**headers, "Idempotency-Key": key or uuid.uuid4().hex}
    )


def webhook(
    client: TestClient,
    event_type: str,
    order: dict[str, Any],
    *,
    event_id: str | None = None,
    amount: int | None = None,
):
    from app.commerce.service import sign
    from app.config import get_settings

    body = json.dumps(
        {
            "id": event_id or f"evt_{uuid.uuid4().hex}",
            "type": event_type,
            "data": {
                "order_id": order["id"],
                "amount_minor": order["total_minor"] if amount is None else amount,
                "payment_id": "pay_1",
            },
        }
    ).encode()
    signature = sign(body, get_settings().payment_webhook_secret)
    return client.post(
        "/v1/payments/webhook",
        content=body,
        headers={"ClipShop-Signature": signature, "Content-Type": "application/json"},
    )


def expire_now(order_id: str) -> None:
    """Move an order's expiry (and its reservations') into the past."""
    from sqlalchemy import update

    from app.catalog.models import StockReservation
    from app.commerce.models import Order
    from app.db import session_scope, utcnow

    past = utcnow() - timedelta(seconds=1)
    with session_scope() as session:
        session.execute(update(Order).where(Order.id == uuid.UUID(order_id)).values(expires_at=past))
        session.execute(
            update(StockReservation)
            .where(StockReservation.order_id == uuid.UUID(order_id))
            .values(expires_at=past)
        )


def available(client: TestClient, sku_id: str) -> int:
    return client.get(f"/v1/skus/{sku_id}").json()["available"]


def on_hand(client: TestClient, merchant: dict[str, str], sku_id: str) -> tuple[int, int]:
    stock = client.get(f"/v1/merchant/skus/{sku_id}/stock", headers=merchant).json()
    return stock["quantity"], stock["reserved"]
