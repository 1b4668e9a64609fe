"""Checkout throughput on PostgreSQL against bare stock decrements, measured in the same run.

    python -m bench.checkout_bench [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
                                   [--clients 50] [--orders 3000]

Creates a throwaway database, migrates it, seeds one merchant with a hot SKU and 1,000 others,
then runs, each with ``--clients`` threads (one connection each):

- ``checkout``: ``commerce.service.checkout`` for one unit, one transaction per order (idempotency
  key claim, row lock, reservation, order + line + reservation + ledger rows);
- ``baseline``: ``UPDATE sku SET quantity = quantity - 1 WHERE id = :id AND quantity > 0 RETURNING``
  in its own transaction (the least any correct stock decrement can cost);

on a single hot SKU and spread over 1,000 SKUs, and prints orders/s, ops/s and their ratio.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def _timed(clients: int, total: int, op: Callable[[int, int], None]) -> tuple[float, list[float]]:
    """Run ``total`` operations over ``clients`` threads; return (ops per second, latencies)."""
    counter = iter(range(total))
    lock = threading.Lock()
    latencies: list[float] = []
    barrier = threading.Barrier(clients)

    def worker(client: int) -> None:
        barrier.wait()
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                return
            started = time.perf_counter()
            op(client, n)
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        for future in [pool.submit(worker, c) for c in range(clients)]:
            future.result()
    return total / (time.perf_counter() - started), latencies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--orders", type=int, default=3000, help="orders (and baseline decrements) per scenario")
    args = parser.parse_args(argv)

    admin_url = make_url(args.database_url)
    if admin_url.get_backend_name() != "postgresql":
        parser.error("the checkout benchmark needs PostgreSQL")
    db_name = f"clipshop_bench_{uuid.uuid4().hex[:8]}"
    url = admin_url.set(database=db_name).render_as_string(hide_password=False)
    admin = create_engine(args.database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{db_name}"'))
    # Settings are read once: point the app at the throwaway database before importing it.
    os.environ["CLIPSHOP_DATABASE_URL"] = url
    os.environ.setdefault("CLIPSHOP_LOG_LEVEL", "WARNING")
    try:
        return _run(url, args.clients, args.orders)
    finally:
        from app.db import reset_engine

        reset_engine()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        admin.dispose()


def _run(url: str, clients: int, orders: int) -> int:
    from sqlalchemy.orm import sessionmaker

    from app.accounts import service as accounts_service
    from app.accounts.models import User
    from app.accounts.schemas import SignupRequest
    from app.catalog import service as catalog_service
    from app.catalog.schemas import ProductCreate
    from app.cli import run_migrations
    from app.commerce import service as commerce_service
    from app.commerce.schemas import CheckoutRequest
    from app.db import session_scope

    run_migrations("head", url=url)
    big = orders * 4  # never runs out: both runs measure the success path
    with session_scope() as session:
        merchant = accounts_service.signup(
            session,
            SignupRequest(email="bench@example.com", password="bench-password", role="merchant", organisation_name="Bench"),  # type: ignore[arg-type]
            current_user=None,
        )
        org_id = accounts_service.get_merchant_organisation_id(session, merchant.id)
        assert org_id is not None
        hot = catalog_service.create_product(
            session,
            org_id,
            ProductCreate.model_validate(
                {"title": "Hot", "skus": [{"sku": "HOT", "price_minor": 999, "currency": "EUR", "quantity": big}]}
            ),
            None,
        )
        spread_ids = []
        for p in range(100):
            product = catalog_service.create_product(
                session,
                org_id,
                ProductCreate.model_validate(
                    {
                        "title": f"Spread {p}",
                        "skus": [
                            {"sku": f"S{p:03d}-{i}", "price_minor": 500, "currency": "EUR", "quantity": big}
                            for i in range(10)
                        ],
                    }
                ),
                None,
            )
            spread_ids += [s.id for s in product.skus]
        hot_ids = [hot.skus[0].id]
        buyers = [accounts_service.create_guest(session).id for _ in range(clients)]

    engine = create_engine(url, pool_size=clients, max_overflow=0)
    factory = sessionmaker(engine, expire_on_commit=False)
    rng = random.Random(1)

    def checkout_op(sku_ids: list[uuid.UUID]) -> Callable[[int, int], None]:
        def op(client: int, n: int) -> None:
            sku_id = sku_ids[0] if len(sku_ids) == 1 else rng.choice(sku_ids)
            with factory() as session, session.begin():
                user = session.get(User, buyers[client])
                data = CheckoutRequest.model_validate({"lines": [{"sku_id": sku_id, "quantity": 1}]})
                commerce_service.checkout(session, user, data, f"bench-{uuid.uuid4().hex}")  # type: ignore[arg-type]

        return op

    def baseline_op(sku_ids: list[uuid.UUID]) -> Callable[[int, int], None]:
        statement = text("UPDATE sku SET quantity = quantity - 1 WHERE id = :id AND quantity > 0 RETURNING quantity")

        def op(client: int, n: int) -> None:
            sku_id = sku_ids[0] if len(sku_ids) == 1 else rng.choice(sku_ids)
            with engine.begin() as conn:
                assert conn.execute(statement, {"id": sku_id}).first() is not None

        return op

    # Warm the pool and caches.
    _timed(clients, clients * 2, baseline_op(spread_ids))
    _timed(clients, clients * 2, checkout_op(spread_ids))
    results: dict[str, dict[str, Any]] = {}
    print(f"PostgreSQL, {clients} concurrent clients, {orders} operations per run")
    print(f"{'scenario':<10} {'checkout orders/s':>18} {'p50 ms':>8} {'p99 ms':>8} {'baseline ops/s':>15} {'ratio':>7}")
    for name, ids in (("hot SKU", hot_ids), ("1,000 SKUs", spread_ids)):
        base_rate, _ = _timed(clients, orders, baseline_op(ids))
        rate, latencies = _timed(clients, orders, checkout_op(ids))
        latencies.sort()
        p50 = statistics.median(latencies) * 1000
        p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
        results[name] = {"orders_per_s": rate, "baseline_ops_per_s": base_rate, "ratio": rate / base_rate}
        print(f"{name:<10} {rate:>18.0f} {p50:>8.1f} {p99:>8.1f} {base_rate:>15.0f} {rate / base_rate:>7.2f}")
    engine.dispose()
    with session_scope() as session:
        # Sanity: every checkout reserved exactly one unit.
        reserved = session.execute(text("SELECT sum(reserved) FROM sku")).scalar()
        order_count = session.execute(text('SELECT count(*) FROM "order"')).scalar()
        print(f"orders {order_count}, units reserved {reserved}")
        assert reserved == order_count
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
