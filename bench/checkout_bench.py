"""Checkout throughput on PostgreSQL against bare stock decrements, measured in the same run.

    python -m bench.checkout_bench [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
                                   [--clients 50] [--processes 4] [--orders 3000]

Creates a throwaway database, migrates it, seeds one merchant with a hot SKU and 1,000 others,
then runs with ``--clients`` concurrent clients (threads spread over ``--processes`` processes,
like API workers; one database connection per client):

- ``checkout``: ``commerce.service.checkout`` of one unit, one transaction per order, exactly as
  the API runs it (load the buyer, idempotency key claim, order + line + reservation rows, the
  guarded reservation UPDATE with its ledger entry, commit);
- ``baseline``: ``UPDATE sku SET quantity = quantity - 1 WHERE id = :id AND quantity > 0
  RETURNING quantity`` in its own transaction, the least any correct stock decrement costs;

on one hot SKU and spread over 1,000 SKUs. Prints orders/s, latency percentiles, baseline ops/s
and the ratio.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def _client_process(
    url: str,
    kind: str,
    sku_ids: list[str],
    buyers: list[str],
    ops: int,
    barrier: Any,
    results: Any,
) -> None:
    """One process: ``len(buyers)`` client threads sharing ``ops`` operations."""
    os.environ["CLIPSHOP_DATABASE_URL"] = url
    from sqlalchemy.orm import sessionmaker

    from app.accounts.models import User
    from app.commerce import service as commerce_service
    from app.commerce.schemas import CheckoutRequest

    engine = create_engine(url, pool_size=len(buyers), max_overflow=0)
    factory = sessionmaker(engine, expire_on_commit=False)
    decrement = text(
        "UPDATE sku SET quantity = quantity - 1 WHERE id = :id AND quantity > 0 RETURNING quantity"
    )
    rng = random.Random(os.getpid())
    ids = [uuid.UUID(s) for s in sku_ids]
    counter = iter(range(ops))
    lock = threading.Lock()
    latencies: list[float] = []

    def one(client: int) -> None:
        sku_id = ids[0] if len(ids) == 1 else rng.choice(ids)
        if kind == "baseline":
            with engine.begin() as conn:
                assert conn.execute(decrement, {"id": sku_id}).first() is not None
            return
        with factory() as session, session.begin():
            user = session.get(User, uuid.UUID(buyers[client]))
            assert user is not None
            data = CheckoutRequest.model_validate({"lines": [{"sku_id": sku_id, "quantity": 1}]})
            commerce_service.checkout(session, user, data, f"bench-{uuid.uuid4().hex}")

    def worker(client: int) -> None:
        one(client)  # warm the connection
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                return
            started = time.perf_counter()
            one(client)
            with lock:
                latencies.append(time.perf_counter() - started)

    barrier.wait()
    started = time.time()
    with ThreadPoolExecutor(max_workers=len(buyers)) as pool:
        for future in [pool.submit(worker, c) for c in range(len(buyers))]:
            future.result()
    results.put((started, time.time(), latencies, len(buyers)))
    engine.dispose()


def _measure(
    url: str, kind: str, sku_ids: list[str], buyers: list[str], processes: int, ops: int
) -> tuple[float, list[float]]:
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(processes)
    results = ctx.Queue()
    shares = [buyers[i::processes] for i in range(processes)]
    procs = [
        ctx.Process(
            target=_client_process,
            args=(url, kind, sku_ids, share, ops // processes, barrier, results),
        )
        for share in shares
    ]
    for proc in procs:
        proc.start()
    collected = [results.get(timeout=1200) for _ in procs]
    for proc in procs:
        proc.join()
    started = min(c[0] for c in collected)
    ended = max(c[1] for c in collected)
    latencies = sorted(latency for c in collected for latency in c[2])
    # Warm-up operations are not counted.
    return len(latencies) / (ended - started), latencies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument(
        "--orders", type=int, default=3000, help="orders (and baseline decrements) per scenario"
    )
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
        return _run(url, args.clients, args.processes, args.orders)
    finally:
        from app.db import reset_engine

        reset_engine()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        admin.dispose()


def _seed(url: str, clients: int, stock: int) -> tuple[list[str], list[str], list[str]]:
    from app.accounts import service as accounts_service
    from app.accounts.schemas import SignupRequest
    from app.catalog import service as catalog_service
    from app.catalog.schemas import ProductCreate
    from app.cli import run_migrations
    from app.db import session_scope

    run_migrations("head", url=url)
    with session_scope() as session:
        signup = SignupRequest.model_validate(
            {
                "email": "bench@example.com",
                "password": "bench-password",
                "role": "merchant",
                "organisation_name": "Bench",
            }
        )
        merchant = accounts_service.signup(session, signup, current_user=None)
        org_id = accounts_service.get_merchant_organisation_id(session, merchant.id)
        assert org_id is not None

        def product(title: str, codes: list[str]) -> list[str]:
            body = {
                "title": title,
                "skus": [{"sku": c, "price_minor": 999, "currency": "EUR", "quantity": stock} for c in codes],
            }
            created = catalog_service.create_product(
                session, org_id, ProductCreate.model_validate(body), None
            )
            return [str(s.id) for s in created.skus]

        hot = product("Hot", ["HOT"])
        spread = [
            sku for p in range(100) for sku in product(f"Spread {p}", [f"S{p:03d}-{i}" for i in range(10)])
        ]
        buyers = [str(accounts_service.create_guest(session).id) for _ in range(clients)]
    return hot, spread, buyers


def _run(url: str, clients: int, processes: int, orders: int) -> int:
    hot, spread, buyers = _seed(url, clients, stock=orders * 10)
    print(f"PostgreSQL, {clients} concurrent clients over {processes} processes, {orders} operations per run")
    print(
        f"{'scenario':<11} {'checkout orders/s':>18} {'p50 ms':>7} {'p99 ms':>7} {'baseline ops/s':>15} {'ratio':>6}"
    )
    for name, ids in (("hot SKU", hot), ("1,000 SKUs", spread)):
        base_rate, _ = _measure(url, "baseline", ids, buyers, processes, orders)
        rate, latencies = _measure(url, "checkout", ids, buyers, processes, orders)
        p50 = statistics.median(latencies) * 1000
        p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000
        print(f"{name:<11} {rate:>18.0f} {p50:>7.1f} {p99:>7.1f} {base_rate:>15.0f} {rate / base_rate:>6.2f}")
    engine = create_engine(url)
    with engine.connect() as conn:
        reserved = conn.execute(text("SELECT sum(reserved) FROM sku")).scalar()
        order_count = conn.execute(text('SELECT count(*) FROM "order"')).scalar()
    engine.dispose()
    print(f"check: {order_count} orders, {reserved} units reserved")
    assert reserved == order_count
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
