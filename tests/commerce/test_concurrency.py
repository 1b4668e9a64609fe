"""Races on stock: real threads, each with its own connection and transaction (no shared client).

The PostgreSQL tests are the ones that matter (row locks in primary-key order, arithmetic in SQL);
the SQLite test checks the same guarantees under SQLite's single-writer lock, at a smaller scale.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.catalog.factories import one_sku


@pytest.fixture
def session_factory(database_url: str) -> Iterator[Callable[[], Any]]:
    """A dedicated engine so that up to 50 transactions really run at the same time."""
    from app.db import get_engine, make_engine

    engine = make_engine(database_url)
    if engine.dialect.name == "postgresql":
        engine.dispose()
        from sqlalchemy import create_engine

        engine = create_engine(database_url, pool_size=50, max_overflow=0, pool_timeout=120)
    else:
        engine = get_engine()
    factory = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def unit_of_work() -> Iterator[Session]:
        session = factory()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    yield unit_of_work
    if engine.dialect.name == "postgresql":
        engine.dispose()


def _buyers(n: int) -> list[uuid.UUID]:
    from app.accounts import service as accounts_service
    from app.db import session_scope

    with session_scope() as session:
        return [accounts_service.create_guest(session).id for _ in range(n)]


def _race(n: int, workers: int, attempt: Callable[[int], Any]) -> list[Any]:
    barrier = threading.Barrier(min(n, workers))

    def run(i: int) -> Any:
        if i < workers:
            barrier.wait(timeout=60)
        try:
            return attempt(i)
        except Exception as exc:  # collected and asserted on by the caller
            return exc

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run, range(n)))


def _checkout(
    unit_of_work: Callable[[], Any], buyer_id: uuid.UUID, lines: list[tuple[str, int]], key: str
) -> str:
    from app.accounts.models import User
    from app.commerce import service
    from app.commerce.schemas import CheckoutRequest

    with unit_of_work() as session:
        user = session.get(User, buyer_id)
        data = CheckoutRequest.model_validate({"lines": [{"sku_id": s, "quantity": q} for s, q in lines]})
        order, _created = service.checkout(session, user, data, key)
        return str(order.id)


def _pay(unit_of_work: Callable[[], Any], order_id: str, event_id: str) -> tuple[str, bool]:
    import json

    from app.commerce import service
    from app.config import get_settings

    body = json.dumps({"id": event_id, "type": "payment.succeeded", "data": {"order_id": order_id}}).encode()
    with unit_of_work() as session:
        return service.handle_webhook(
            session, body, service.sign(body, get_settings().payment_webhook_secret)
        )


def _stock(sku_id: str) -> tuple[int, int, int]:
    from app.catalog.models import Sku, StockLedgerEntry
    from app.db import session_scope

    with session_scope() as session:
        sku = session.get(Sku, uuid.UUID(sku_id))
        assert sku is not None
        ledger_sum = session.scalar(
            select(func.coalesce(func.sum(StockLedgerEntry.delta), 0)).where(
                StockLedgerEntry.sku_id == sku.id
            )
        )
        return sku.quantity, sku.reserved, int(ledger_sum or 0)


def _hot_sku_race(client, make_user, unit_of_work, *, buyers: int, units: int, workers: int) -> None:
    from app.commerce.exceptions import InsufficientStock

    _, merchant = make_user("merchant")
    sku = one_sku(client, merchant, quantity=units)
    buyer_ids = _buyers(buyers)
    results = _race(
        buyers, workers, lambda i: _checkout(unit_of_work, buyer_ids[i], [(sku["id"], 1)], f"k{i}")
    )
    orders = [r for r in results if isinstance(r, str)]
    refused = [r for r in results if isinstance(r, InsufficientStock)]
    unexpected = [r for r in results if not isinstance(r, (str, InsufficientStock))]
    assert unexpected == []
    assert len(orders) == units and len(refused) == buyers - units
    assert all(r.extra["lines"] == [{"sku_id": sku["id"], "requested": 1, "available": 0}] for r in refused)
    assert _stock(sku["id"]) == (units, units, units)
    # Every order paid, each webhook delivered twice at the same time: one sale per order.
    deliveries = [(order_id, f"evt-{order_id}") for order_id in orders for _ in range(2)]
    outcomes = _race(len(deliveries), workers, lambda i: _pay(unit_of_work, *deliveries[i]))
    assert not [o for o in outcomes if isinstance(o, Exception)]
    assert sorted(o[0] for o in outcomes) == sorted(["paid"] * units + ["duplicate"] * units)
    quantity, reserved, ledger_sum = _stock(sku["id"])
    assert (quantity, reserved) == (0, 0)
    assert ledger_sum == quantity  # initial +units, then -1 per sale
    from app.commerce.models import Payment
    from app.db import session_scope

    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Payment)) == units


@pytest.mark.postgres
def test_200_buyers_race_for_10_units(client, make_user, session_factory):
    _hot_sku_race(client, make_user, session_factory, buyers=200, units=10, workers=50)


def test_sqlite_or_postgres_small_race(client, make_user, session_factory):
    _hot_sku_race(client, make_user, session_factory, buyers=24, units=5, workers=8)


@pytest.mark.postgres
def test_multi_line_carts_in_opposite_orders_neither_deadlock_nor_oversell(
    client, make_user, session_factory
):
    from app.commerce.exceptions import InsufficientStock

    _, merchant = make_user("merchant")
    skus = [one_sku(client, merchant, quantity=25)["id"] for _ in range(4)]
    buyer_ids = _buyers(120)
    rng = random.Random(7)
    carts = []
    for i in range(120):
        chosen = rng.sample(skus, 3)
        if i % 2:
            chosen.reverse()
        carts.append([(s, rng.randint(1, 2)) for s in chosen])
    results = _race(120, 40, lambda i: _checkout(session_factory, buyer_ids[i], carts[i], f"cart{i}"))
    unexpected = [r for r in results if not isinstance(r, (str, InsufficientStock))]
    assert unexpected == []  # in particular no DeadlockDetected
    sold: dict[str, int] = dict.fromkeys(skus, 0)
    for cart, result in zip(carts, results, strict=True):
        if isinstance(result, str):
            for sku_id, quantity in cart:
                sold[sku_id] += quantity
    assert any(isinstance(r, InsufficientStock) for r in results)  # demand exceeded supply
    for sku_id in skus:
        quantity, reserved, _ = _stock(sku_id)
        assert quantity == 25 and reserved == sold[sku_id] <= 25


@pytest.mark.postgres
def test_duplicate_checkout_requests_make_one_order(client, make_user, session_factory):
    _, merchant = make_user("merchant")
    sku = one_sku(client, merchant, quantity=10)
    [buyer_id] = _buyers(1)
    results = _race(20, 20, lambda i: _checkout(session_factory, buyer_id, [(sku["id"], 3)], "same-key"))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len(set(results)) == 1
    assert _stock(sku["id"])[:2] == (10, 3)
