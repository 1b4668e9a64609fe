"""Analytics fixtures: accounts, clips, SKUs and orders inserted directly; events through the
event writer (the path ``POST /v1/events`` takes) and folded by the feed's aggregator."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.feed.conftest import _fresh_feed_state, make_clip  # noqa: F401  (fixtures)


def new_account(
    *,
    guest: bool = False,
    created_at: datetime | None = None,
    role: str = "viewer",
    interests: list[str] | None = None,
) -> uuid.UUID:
    from sqlalchemy import select

    from app.accounts.models import Role, User
    from app.db import session_scope, utcnow
    from app.interests.models import Interest, UserInterest

    user_id = uuid.uuid4()
    with session_scope() as session:
        session.add(
            User(
                id=user_id,
                email=None if guest else f"u-{user_id.hex[:12]}@example.com",
                role=Role(role),
                is_guest=guest,
                created_at=created_at or utcnow() - timedelta(days=400),
            )
        )
        session.flush()
        for interest_id in session.scalars(select(Interest.id).where(Interest.slug.in_(interests or []))):
            session.add(UserInterest(user_id=user_id, interest_id=interest_id, weight=1.0, selected=True))
    return user_id


def new_creator(handle: str) -> uuid.UUID:
    from app.accounts.models import CreatorProfile
    from app.db import session_scope

    user_id = new_account(role="creator")
    with session_scope() as session:
        session.add(CreatorProfile(user_id=user_id, handle=handle, display_name=handle.title()))
    return user_id


def send(user_id: uuid.UUID, events: list[tuple[str, uuid.UUID | None, datetime]], **extra: Any) -> None:
    """Store events as ``POST /v1/events`` does (through the event writer), with the account's
    context; ``extra``: watch_ms / progress / device_id / client_ip / creator_id for all."""
    from sqlalchemy import select

    from app.accounts.models import User
    from app.db import session_scope, utcnow
    from app.feed.writer import EventContext, EventRow, write_group

    with session_scope() as session:
        guest, created = session.execute(
            select(User.is_guest, User.created_at).where(User.id == user_id)
        ).one()
    context = EventContext(extra.get("device_id"), extra.get("client_ip"), guest, created)
    rows = []
    for kind, clip_id, at in events:
        progress = extra.get("progress")
        watch = extra.get("watch_ms")
        if kind == "view_progress":
            progress = 0.8 if progress is None else progress
            watch = 12_000 if watch is None else watch
        rows.append(
            EventRow(
                user_id,
                uuid.uuid4(),
                kind,
                clip_id,
                extra.get("creator_id"),
                watch if kind == "view_progress" else None,
                progress if kind == "view_progress" else None,
                at,
                utcnow(),
                context,
            )
        )
    outcome = write_group([rows])[0]
    assert not isinstance(outcome, BaseException), outcome


def aggregate(limit: int = 50_000) -> int:
    from app.db import new_session
    from app.feed import service as feed_service

    total = 0
    while True:
        with feed_service.writer_lock(), new_session() as session:
            n = feed_service.aggregate_pending(session, limit)
            session.commit()
        total += n
        if n < limit:
            return total


@pytest.fixture
def shop() -> dict[str, Any]:
    """A merchant organisation with two products (fashion, beauty), two SKUs each."""
    from app.accounts.models import MemberRole, MerchantMember, MerchantOrganisation
    from app.catalog.models import Product, ProductInterest, Sku
    from app.db import session_scope
    from app.interests.models import Interest

    owner = new_account(role="merchant")
    org_id = uuid.uuid4()
    out: dict[str, Any] = {"owner": owner, "org": org_id, "skus": [], "products": []}
    with session_scope() as session:
        session.add(MerchantOrganisation(id=org_id, name="Shop", slug=f"shop-{org_id.hex[:8]}"))
        session.flush()
        session.add(MerchantMember(user_id=owner, organisation_id=org_id, role=MemberRole.owner))
        from sqlalchemy import select

        for slug in ("fashion", "beauty"):
            product = Product(organisation_id=org_id, title=f"{slug} thing", category=slug)
            session.add(product)
            session.flush()
            interest_id = session.scalar(select(Interest.id).where(Interest.slug == slug))
            session.add(ProductInterest(product_id=product.id, interest_id=interest_id))
            out["products"].append(product.id)
            for k in range(2):
                sku = Sku(
                    product_id=product.id,
                    organisation_id=org_id,
                    code=f"{slug}-{k}",
                    price_minor=1000 + 250 * k,
                    currency="EUR",
                    quantity=1000,
                )
                session.add(sku)
                session.flush()
                out["skus"].append((sku.id, product.id))
    return out


@pytest.fixture
def make_order(shop: dict[str, Any]) -> Callable[..., uuid.UUID]:
    """An order of some of the shop's SKUs in a given status (no stock movement: analytics only
    reads orders)."""
    from app.commerce.models import Order, OrderLine, OrderStatus
    from app.db import session_scope, utcnow

    buyer = new_account()

    def factory(
        lines: list[tuple[int, int]],
        status: str = "paid",
        *,
        paid_at: datetime | None = None,
        clip_id: uuid.UUID | None = None,
        creator_id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        order_id = uuid.uuid4()
        with session_scope() as session:
            total = 0
            order_lines = []
            for position, (sku_index, quantity) in enumerate(lines):
                sku_id, product_id = shop["skus"][sku_index]
                price = 1000 + 250 * (sku_index % 2)
                total += price * quantity
                order_lines.append(
                    OrderLine(
                        position=position,
                        sku_id=sku_id,
                        product_id=product_id,
                        organisation_id=shop["org"],
                        sku_code=f"sku-{sku_index}",
                        title="thing",
                        quantity=quantity,
                        unit_price_minor=price,
                        line_total_minor=price * quantity,
                    )
                )
            paid = OrderStatus(status) != OrderStatus.pending_payment
            session.add(
                Order(
                    id=order_id,
                    buyer_id=buyer,
                    organisation_id=shop["org"],
                    status=OrderStatus(status),
                    currency="EUR",
                    subtotal_minor=total,
                    total_minor=total,
                    expires_at=utcnow() + timedelta(minutes=15),
                    idempotency_key=order_id.hex,
                    request_hash="0" * 64,
                    clip_id=clip_id,
                    creator_id=creator_id,
                    paid_at=(paid_at or utcnow()) if paid else None,
                    lines=order_lines,
                )
            )
        return order_id

    return factory


def set_order_status(order_id: uuid.UUID, status: str) -> None:
    from app.commerce.models import Order, OrderStatus
    from app.db import session_scope, utcnow

    with session_scope() as session:
        order = session.get(Order, order_id)
        assert order is not None
        order.status = OrderStatus(status)
        if status == "paid" and order.paid_at is None:
            order.paid_at = utcnow()


def refund_part(order_id: uuid.UUID, line_index: int, units: int, share: int) -> None:
    """A partial refund as commerce records it on the order (counters and status): ``units`` of
    one line (capped at what remains) and ``share``/10,000 of the money left on it. Only paid or
    partially refunded orders."""
    from app.commerce.models import Order, OrderStatus
    from app.db import session_scope, utcnow

    with session_scope() as session:
        order = session.get(Order, order_id)
        assert order is not None
        if order.status not in (OrderStatus.paid, OrderStatus.partially_refunded):
            return
        line = order.lines[line_index % len(order.lines)]
        units = min(units, line.quantity - line.refunded_quantity)
        amount = (line.line_total_minor - line.refunded_minor) * share // 10_000
        if units == 0 and amount == 0:
            return
        line.refunded_quantity += units
        line.refunded_minor += amount
        order.refunded_minor += amount
        if order.refunded_minor == order.total_minor:
            order.status, order.refunded_at = OrderStatus.refunded, utcnow()
        else:
            order.status = OrderStatus.partially_refunded
