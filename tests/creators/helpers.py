"""Building blocks for the creator programme tests: a merchant with a product, a creator with a
ready public clip tagging it, admission, touches (feed events) and paid orders."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.catalog.factories import create_product, make_clip
from tests.commerce.helpers import checkout, webhook


@dataclass
class Shop:
    merchant: dict[str, str]
    merchant_user: dict[str, Any]
    organisation_id: str
    product_id: str
    sku_id: str


def make_shop(
    client: TestClient, make_user: Any, *, price: int = 10_000, quantity: int = 100, **fields: Any
) -> Shop:
    user, headers = make_user("merchant")
    code = f"S-{uuid.uuid4().hex[:8]}"
    product = create_product(
        client,
        headers,
        skus=[{"sku": code, "price_minor": price, "currency": "EUR", "quantity": quantity}],
        **fields,
    )
    return Shop(headers, user, product["organisation_id"], product["id"], product["skus"][0]["id"])


def add_product(client: TestClient, shop: Shop, *, price: int = 10_000, **fields: Any) -> tuple[str, str]:
    code = f"S-{uuid.uuid4().hex[:8]}"
    product = create_product(
        client,
        shop.merchant,
        skus=[{"sku": code, "price_minor": price, "currency": "EUR", "quantity": 100}],
        **fields,
    )
    return product["id"], product["skus"][0]["id"]


def tagged_clip(client: TestClient, creator: dict[str, str], creator_id: str, sku_id: str) -> tuple[str, str]:
    clip_id = str(make_clip(creator_id))
    response = client.post(
        f"/v1/clips/{clip_id}/tags", json={"sku_id": sku_id, "start_ms": 0, "end_ms": 5000}, headers=creator
    )
    assert response.status_code == 201, response.text
    return clip_id, response.json()["id"]


def admit(creator_id: str, status: str = "admitted") -> None:
    from app.creators import service
    from app.db import session_scope

    with session_scope() as session:
        admin = _admin_id(session)
        service.override_admission(session, uuid.UUID(creator_id), status, "test", admin)


def _admin_id(session: Any) -> uuid.UUID:
    from app.accounts import service as accounts_service

    email = "ops@example.com"
    user = accounts_service.get_user_by_email(session, email) or accounts_service.create_admin(
        session, email, "admin-password-1"
    )
    return user.id


def touch(
    user_id: str, clip_id: str, at: datetime, kind: str = "product_tap", progress: float | None = None
) -> None:
    """A feed event as the event writer stores it."""
    from app.db import session_scope
    from app.feed.models import FeedEvent

    with session_scope() as session:
        session.add(
            FeedEvent(
                user_id=uuid.UUID(user_id),
                event_id=uuid.uuid4(),
                type=kind,
                clip_id=uuid.UUID(clip_id),
                progress=progress,
                client_at=at,
                received_at=at,
            )
        )


def order_created_at(order_id: str) -> datetime:
    from app.commerce.models import Order
    from app.db import as_utc, session_scope

    with session_scope() as session:
        order = session.get(Order, uuid.UUID(order_id))
        assert order is not None
        return as_utc(order.created_at)


def buy(
    client: TestClient,
    buyer: dict[str, str],
    sku_id: str,
    quantity: int = 1,
    *,
    pay: bool = True,
    before_payment: Any = None,
    **attribution: Any,
) -> dict[str, Any]:
    response = checkout(client, buyer, [(sku_id, quantity)], **attribution)
    assert response.status_code == 201, response.text
    order = response.json()
    if before_payment is not None:
        before_payment(order)
    if pay:
        paid = webhook(client, "payment.succeeded", order)
        assert paid.status_code == 200 and paid.json()["outcome"] == "paid", paid.text
    return order


def commissions(order_id: str) -> list[Any]:
    from sqlalchemy import select

    from app.creators.models import OrderLineCommission
    from app.db import session_scope

    with session_scope() as session:
        rows = list(
            session.scalars(
                select(OrderLineCommission).where(OrderLineCommission.order_id == uuid.UUID(order_id))
            )
        )
        session.expunge_all()
        return rows


def earnings(client: TestClient, creator: dict[str, str]) -> dict[str, dict[str, int]]:
    body = client.get("/v1/me/earnings", headers=creator).json()
    return {b["currency"]: b for b in body["balances"]}


def release_all(days: int = 400) -> int:
    from app.creators import service
    from app.db import session_scope, utcnow

    with session_scope() as session:
        return service.release_due(session, now=utcnow() + timedelta(days=days))
