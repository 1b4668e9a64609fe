"""Property: whatever happens to orders (payments, partial and full refunds through commerce,
cancellations, return windows running out, payout runs and their settlement, balance
checkpoints), the commission ledger adds up, and agrees with the orders' refunds.
Runs on SQLite and, with ``CLIPSHOP_TEST_DATABASE_URL``, on PostgreSQL."""

from __future__ import annotations

import json
import os
import uuid
from datetime import timedelta

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from tests.creators.helpers import admit, make_shop, tagged_clip
from tests.creators.ledger_checks import check_ledger

REFUNDABLE = ("paid", "partially_refunded")

# order, units (may be more than remain: refused), amount in 1/10,000 of the line or the default
partial_refund = st.tuples(
    st.just("partial_refund"),
    st.integers(0, 20),
    st.integers(0, 3),
    st.one_of(st.none(), st.integers(0, 10_000)),
)
operation = st.one_of(
    st.tuples(st.just("order"), st.integers(1, 3), st.booleans()),
    st.tuples(st.just("pay"), st.integers(0, 20)),
    st.tuples(st.just("cancel"), st.integers(0, 20)),
    partial_refund,
    partial_refund,  # (twice as likely: several of them are needed to get to the end of an order)
    st.tuples(st.just("refund"), st.integers(0, 20)),
    st.tuples(st.just("release"), st.sampled_from([0, 10, 400])),
    st.tuples(st.just("payout"), st.sampled_from(["a", "b", "c"]), st.sampled_from([1, 300, 5000])),
    st.tuples(st.just("settle"), st.integers(0, 10), st.booleans()),
    st.tuples(st.just("checkpoint"), st.sampled_from([1, 3])),
)


def _pay(session, order_id):
    from app.commerce import service as commerce_service
    from app.commerce.models import Order
    from app.config import get_settings

    order = session.get(Order, order_id)
    body = json.dumps(
        {
            "id": f"evt_{uuid.uuid4().hex}",
            "type": "payment.succeeded",
            "data": {"order_id": str(order_id), "amount_minor": order.total_minor},
        }
    ).encode()
    return commerce_service.handle_webhook(
        session, body, commerce_service.sign(body, get_settings().payment_webhook_secret)
    )


@settings(
    max_examples=int(os.environ.get("CLIPSHOP_LEDGER_EXAMPLES", "15")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(operation, min_size=1, max_size=14))
# Always run: partial refunds before and after the return window and a payout, one refused for
# asking more than remains, the rest refunded by the whole-order refund; and a cancellation.
@example(
    steps=[
        ("order", 3, True),
        ("partial_refund", 0, 1, None),
        ("partial_refund", 0, 0, 1_111),
        ("release", 400),
        ("payout", "a", 1),
        ("partial_refund", 0, 3, None),
        ("partial_refund", 0, 1, 2_500),
        ("checkpoint", 1),
        ("refund", 0),
        ("order", 2, False),
        ("cancel", 1),
        ("settle", 0, True),
    ]
)
def test_ledger_adds_up_after_every_step(client, make_user, steps):
    from sqlalchemy import select

    from app.accounts.models import User
    from app.commerce import service as commerce_service
    from app.commerce.exceptions import EmptyRefund, RefundExceedsRemaining
    from app.commerce.models import Order, OrderStatus
    from app.commerce.schemas import CheckoutRequest
    from app.creators import service
    from app.creators.models import Payout
    from app.db import session_scope, utcnow

    world = getattr(test_ledger_adds_up_after_every_step, "world", None)
    if world is None or world["make_user"] is not make_user:
        shop = make_shop(client, make_user, price=3_333, quantity=1_000_000)
        creator_user, creator = make_user("creator")
        clip_id, tag_id = tagged_clip(client, creator, creator_user["id"], shop.sku_id)
        admit(creator_user["id"])
        buyer_user, _ = make_user("viewer")
        world = {
            "make_user": make_user,
            "shop": shop,
            "clip": clip_id,
            "tag": tag_id,
            "buyer": buyer_user["id"],
        }
        test_ledger_adds_up_after_every_step.world = world  # type: ignore[attr-defined]
    shop = world["shop"]
    orders: list[uuid.UUID] = []
    for step in steps:
        with session_scope() as session:
            kind = step[0]
            if kind == "order":
                buyer = session.get(User, uuid.UUID(world["buyer"]))
                data = CheckoutRequest.model_validate(
                    {
                        "lines": [{"sku_id": shop.sku_id, "quantity": step[1]}],
                        **({"clip_id": world["clip"], "tag_id": world["tag"]} if step[2] else {}),
                    }
                )
                order, _ = commerce_service.checkout(session, buyer, data, uuid.uuid4().hex)
                orders.append(order.id)
                if step[2]:
                    _pay(session, order.id)
            elif kind in ("pay", "cancel", "partial_refund", "refund") and orders:
                order = session.get(Order, orders[step[1] % len(orders)])
                if kind == "pay" and order.status is OrderStatus.pending_payment:
                    _pay(session, order.id)
                elif kind == "cancel" and order.status is OrderStatus.pending_payment:
                    buyer = session.get(User, order.buyer_id)
                    commerce_service.cancel_order(session, order.id, buyer)
                elif kind == "partial_refund" and order.status.value in REFUNDABLE:
                    line = order.lines[0]
                    amount = None if step[3] is None else line.line_total_minor * step[3] // 10_000
                    try:
                        with session.begin_nested():
                            commerce_service.refund(
                                session,
                                order.id,
                                uuid.UUID(shop.organisation_id),
                                lines=[commerce_service.RefundLineSpec(line.id, step[2], amount)],
                                restock=step[2] % 2 == 1,
                                reason=None,
                                actor_id=None,
                            )
                        event("partial refund written")
                    except (RefundExceedsRemaining, EmptyRefund):
                        event("partial refund refused")  # more than remains, or nothing: no change
                elif kind == "refund" and order.status.value in REFUNDABLE:
                    commerce_service.refund_order(
                        session,
                        order.id,
                        uuid.UUID(shop.organisation_id),
                        restock=False,
                        actor_id=order.buyer_id,
                    )
            elif kind == "release":
                service.release_due(session, now=utcnow() + timedelta(days=step[1]))
            elif kind == "payout":
                service.run_payouts(session, key=f"{step[1]}-{id(steps)}", threshold_minor=step[2])
            elif kind == "checkpoint":
                service.checkpoint_balances(session, min_new_entries=step[1])
            elif kind == "settle":
                payouts = list(session.scalars(select(Payout).order_by(Payout.created_at, Payout.id)))
                if payouts:
                    payout = payouts[step[1] % len(payouts)]
                    if payout.status.value == "created":
                        service.settle_payout(session, payout.id, paid=step[2], reference="ref")
        with session_scope() as session:
            check_ledger(session)
            check_refunds(session)
            check_analytics(session)


def check_analytics(session) -> None:
    """Analytics, synced now, reconciles exactly with the orders and the commission ledger:
    revenue net of refunds, commission net of reversals, in all and per creator, clip and
    merchant, and ROI is their ratio."""
    from datetime import date

    from sqlalchemy import select

    from app.analytics import rollups
    from app.analytics import service as analytics
    from app.commerce.models import Order, OrderStatus
    from app.creators.models import CommissionEntry, EntryKind, OrderLineCommission

    rollups.sync_orders(session)
    p = analytics.period(date.today() - timedelta(days=2), date.today() + timedelta(days=1), "UTC")
    counted = [
        o
        for o in session.scalars(select(Order))
        if o.status in (OrderStatus.paid, OrderStatus.partially_refunded)
    ]
    booked = {}  # order id -> commission net of reversals, from the ledger
    for order_id, amount in session.execute(
        select(OrderLineCommission.order_id, CommissionEntry.amount_minor)
        .join(OrderLineCommission, CommissionEntry.line_id == OrderLineCommission.id)
        .where(CommissionEntry.kind.in_([EntryKind.commission, EntryKind.reversal]))
    ):
        booked[order_id] = booked.get(order_id, 0) + amount
    # an order no longer counted (cancelled, refunded whole) holds no commission either
    assert all(booked.get(o.id, 0) == 0 for o in session.scalars(select(Order)) if o not in counted)
    entities = [("all", rollups.ALL, counted)]
    for kind, attribute in (("creator", "creator_id"), ("clip", "clip_id"), ("merchant", "organisation_id")):
        for entity in {getattr(o, attribute) for o in counted} - {None}:
            entities.append((kind, entity, [o for o in counted if getattr(o, attribute) == entity]))
    for kind, entity, orders in entities:
        figures = analytics.figures(session, kind, [entity], p)[entity]
        revenue = sum(o.total_minor - o.refunded_minor for o in orders)
        commission = sum(booked.get(o.id, 0) for o in orders)
        assert (figures.orders, sum(figures.revenue.values())) == (len(orders), revenue), kind
        assert sum((figures.commission or {}).values()) == commission, kind
        shown = analytics.present(figures)
        assert shown["commission_minor"] == commission
        assert shown["roi"] == (round(revenue / commission, 6) if commission else None)


def check_refunds(session) -> None:
    """Each order's refunds add up on the order, on its lines and in the creator programme."""
    from sqlalchemy import select

    from app.commerce.models import Order, OrderStatus
    from app.creators.models import OrderLineCommission

    refunded = {
        record.order_line_id: record.refunded_minor for record in session.scalars(select(OrderLineCommission))
    }
    for order in session.scalars(select(Order)):
        assert order.refunded_minor == sum(r.amount_minor for r in order.refunds) <= order.total_minor
        assert order.refunded_minor == sum(line.refunded_minor for line in order.lines)
        for line in order.lines:
            items = [item for r in order.refunds for item in r.lines if item.order_line_id == line.id]
            assert line.refunded_quantity == sum(i.quantity for i in items) <= line.quantity
            assert line.refunded_minor == sum(i.amount_minor for i in items) <= line.line_total_minor
            if line.id in refunded:  # the reversal followed this line's refunds, not more, not less
                assert refunded[line.id] == line.refunded_minor
        if order.refunds:
            full = order.refunded_minor == order.total_minor
            assert order.status is (OrderStatus.refunded if full else OrderStatus.partially_refunded)
