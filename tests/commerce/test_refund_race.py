"""Concurrent refunds of one order on PostgreSQL: real threads, each with its own connection and
transaction, that would together refund more than was paid. One wins; the other is refused after
waiting for it, and nothing (money, stock, commission) is refunded twice."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest

from tests.commerce.helpers import on_hand
from tests.creators.helpers import admit, buy, make_shop, tagged_clip
from tests.creators.ledger_checks import check_ledger

pytestmark = pytest.mark.postgres

HOLD_SECONDS = 0.5  # each winner keeps its transaction (and the order's row lock) open this long


def _race(calls: list[Any]) -> list[Any]:
    """Run ``calls`` at the same time, each in its own transaction that stays open a moment after
    the call; return each call's result or exception."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    from app.config import get_settings

    engine = create_engine(get_settings().database_url, pool_size=len(calls))
    factory = sessionmaker(engine, expire_on_commit=False)
    start = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            with factory() as session, session.begin():
                start.wait(10)
                results[index] = calls[index](session)
                threading.Event().wait(HOLD_SECONDS)
        except BaseException as exc:  # the loser's refusal, inspected by the test
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    engine.dispose()
    return results


def _world(client: Any, make_user: Any) -> tuple[Any, dict[str, Any], dict[str, str]]:
    shop = make_shop(client, make_user, price=10_000, quantity=10)
    creator_user, creator = make_user("creator")
    clip_id, tag_id = tagged_clip(client, creator, creator_user["id"], shop.sku_id)
    admit(creator_user["id"])
    _, buyer = make_user("viewer")
    order = buy(client, buyer, shop.sku_id, 3, clip_id=clip_id, tag_id=tag_id)  # 30,000; commission 1500
    return shop, order, creator


def test_two_partial_refunds_that_together_exceed_the_order_one_is_refused(client, make_user):
    from app.commerce import service
    from app.commerce.exceptions import RefundExceedsRemaining
    from app.db import session_scope
    from tests.creators.helpers import earnings

    shop, order, creator = _world(client, make_user)
    line = uuid.UUID(order["lines"][0]["id"])

    def refund_two_units(session: Any) -> Any:
        refund, _created = service.refund(
            session,
            uuid.UUID(order["id"]),
            uuid.UUID(shop.organisation_id),
            lines=[service.RefundLineSpec(line, 2)],
            restock=True,
            reason=None,
            actor_id=uuid.UUID(shop.merchant_user["id"]),
        )
        return refund.amount_minor

    results = _race([refund_two_units, refund_two_units])
    assert sorted(type(r).__name__ for r in results) == ["RefundExceedsRemaining", "int"], results
    [refused] = [r for r in results if isinstance(r, RefundExceedsRemaining)]
    assert refused.extra["lines"] == [{"line_id": str(line), "field": "quantity", "requested": 2, "remaining": 1}]
    assert [r for r in results if isinstance(r, int)] == [20_000]

    body = client.get(f"/v1/orders/{order['id']}", headers=shop.merchant).json()
    assert body["status"] == "partially_refunded" and body["refunded_minor"] == 20_000
    assert len(body["refunds"]) == 1 and body["lines"][0]["refunded_quantity"] == 2
    assert on_hand(client, shop.merchant, shop.sku_id) == (9, 0)  # 10 - 3 sold + 2 back
    assert earnings(client, creator)["EUR"]["pending_minor"] == 500  # 1500 - 1000 reversed, once
    with session_scope() as session:
        check_ledger(session)


def test_money_only_refunds_racing_never_exceed_what_was_paid(client, make_user):
    """Amounts this time (no units): 20,000 and 15,000 of a 30,000 line."""
    from app.commerce import service

    shop, order, _creator = _world(client, make_user)
    line = uuid.UUID(order["lines"][0]["id"])

    def refund(amount: int) -> Any:
        def call(session: Any) -> Any:
            return service.refund(
                session,
                uuid.UUID(order["id"]),
                uuid.UUID(shop.organisation_id),
                lines=[service.RefundLineSpec(line, 0, amount)],
                restock=False,
                reason=None,
                actor_id=None,
            )[0].amount_minor

        return call

    results = _race([refund(20_000), refund(15_000)])
    assert len([r for r in results if isinstance(r, int)]) == 1, results
    body = client.get(f"/v1/orders/{order['id']}", headers=shop.merchant).json()
    assert body["refunded_minor"] in (20_000, 15_000) and len(body["refunds"]) == 1
    assert body["refunded_minor"] <= body["total_minor"]


def test_the_same_refund_retried_concurrently_refunds_once(client, make_user):
    """Two deliveries of one request with one Idempotency-Key at the same time: one refund."""
    from app.commerce import service

    shop, order, creator = _world(client, make_user)
    line = uuid.UUID(order["lines"][0]["id"])

    def call(session: Any) -> Any:
        refund, created = service.refund(
            session,
            uuid.UUID(order["id"]),
            uuid.UUID(shop.organisation_id),
            lines=[service.RefundLineSpec(line, 1)],
            restock=True,
            reason="retry",
            actor_id=None,
            idempotency_key="same-key",
        )
        return refund.id, created

    results = _race([call, call])
    assert all(isinstance(r, tuple) for r in results), results
    assert results[0][0] == results[1][0] and sorted(r[1] for r in results) == [False, True]
    body = client.get(f"/v1/orders/{order['id']}", headers=shop.merchant).json()
    assert body["refunded_minor"] == 10_000 and len(body["refunds"]) == 1
    assert on_hand(client, shop.merchant, shop.sku_id) == (8, 0)  # restocked once
    from tests.creators.helpers import earnings

    assert earnings(client, creator)["EUR"]["pending_minor"] == 1000  # reversed once
