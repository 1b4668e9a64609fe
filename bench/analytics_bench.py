"""Analytics benchmark: rollup throughput and the 90-day merchant dashboard on a large dataset.

    python -m bench.analytics_bench                      # --scale 0.02 on a temporary SQLite file
    python -m bench.analytics_bench --scale 1 --database-url postgresql+psycopg://postgres@127.0.0.1:5432/anbench

At ``--scale 1``: 100,000 ready clips (2,000 creators), 5,000,000 events over 90 days, 200,000
paid orders, one merchant with 1,000 SKUs tagged on its clips among 20 merchants. Seeded in bulk
(not through HTTP), events unaggregated, then:

1. **rollups**: the feed's aggregator (which folds each slice into the analytics rollups and runs
   the authenticity checks in the same transaction) drains the whole log; printed: events folded
   per second, next to the same aggregator run with the analytics consumer switched off (the
   feed's own counters only), measured in the same run on a copy of the log. Goal: keeps pace with
   20,000 events/s of ingest (fold rate >= 20,000/s).
2. **orders**: the sales sync over every order (orders/s).
3. **dashboard**: after ``VACUUM ANALYZE`` of the rollups on PostgreSQL (what autovacuum does
   within minutes of the load; ``--no-settle``: without), ``merchant_dashboard`` for the 1,000-SKU
   merchant over the last 90 days in a rotating set of time zones, ``--queries`` times; p50/p99 next to a trivial ``SELECT 1`` round
   trip of the same connection. Goal: p99 < 200 ms.
4. **live tail**: a tenth of the log more, timed within the last ten minutes (what the aggregator
   folds while the service runs), folded alone and with analytics, as in 1.

A PostgreSQL database it seeded is left in place. ``--only dashboard`` (migrated first, orders
synced) or ``--only live`` (another live tail) then measure one part again in minutes instead of
the half hour of a full run; ``--profile`` prints the time per statement of the dashboard and of
the live tail's fold.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import random
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np


def _env(url: str) -> None:
    os.environ.update(
        {
            "CLIPSHOP_DATABASE_URL": url,
            "CLIPSHOP_SECRET_KEY": "analytics-bench-secret-key-long-enough-0123456789",
            "CLIPSHOP_AUTO_MIGRATE": "false",
            "CLIPSHOP_LOG_LEVEL": "WARNING",
            "CLIPSHOP_ENVIRONMENT": "development",
            "CLIPSHOP_FEED_BACKGROUND_REFRESH": "false",
        }
    )


def insert_events(
    rng: Any, clips: list[uuid.UUID], viewers: list[uuid.UUID], n_events: int, spread_ms: int, device: Any
) -> None:
    """``n_events`` unaggregated events in viewing sessions, as a player sends them: a viewer is
    shown a clip (impression; clips' popularity Zipf-distributed), watches it or swipes on (70 %
    watch: one to three view-progress events, 40 % of them to the end), and some like, share, tap
    a product or add it to the cart; each session timed up to ``spread_ms`` before now, its events
    a few seconds apart; ``device(viewer index)`` names the device. (Events drawn one by one, each
    on a random viewer and clip, made likes without a view and a distinct viewer per event: what
    the authenticity checks flag, and several times the reach rows of real traffic.)"""
    from sqlalchemy import insert

    from app.db import get_engine, utcnow
    from app.feed.models import FeedEvent

    # Zipf over popularity ranks: the n-th most popular clip is shown 1/n as often as the first
    # (the first gets ~8 % of the impressions of 100,000 clips, and every clip some). (Zipf-drawn
    # weights, as before, put nearly all the events on a few dozen clips.)
    popularity = 1.0 / (rng.permutation(len(clips)) + 1.0)
    popularity /= popularity.sum()
    now = utcnow()
    written = 0
    while written < n_events:
        n = 40_000  # sessions per batch (~2.8 events each)
        clip_idx = rng.choice(len(clips), size=n, p=popularity)
        viewer_idx = rng.integers(0, len(viewers), size=n)
        ages = rng.integers(60_000, max(60_001, spread_ms), size=n)
        watched = rng.random(n) < 0.7
        views = rng.integers(1, 4, size=n) * watched
        completes = watched & (rng.random(n) < 0.4)
        likes = watched & (rng.random(n) < 0.08)
        shares = watched & (rng.random(n) < 0.015)
        taps = rng.random(n) < 0.06
        carts = taps & (rng.random(n) < 0.35)
        rows = []
        for i in range(n):
            kinds = ["impression"] + ["view_progress"] * int(views[i])
            kinds += (
                ["complete"] * bool(completes[i]) + ["like"] * bool(likes[i]) + ["share"] * bool(shares[i])
            )
            kinds += ["product_tap"] * bool(taps[i]) + ["add_to_cart"] * bool(carts[i])
            start = now - timedelta(milliseconds=int(ages[i]))
            viewer, clip = viewers[int(viewer_idx[i])], clips[int(clip_idx[i])]
            for step, kind in enumerate(kinds):
                rows.append(
                    {
                        "user_id": viewer,
                        "event_id": uuid.uuid4(),
                        "type": kind,
                        "clip_id": clip,
                        "watch_ms": 4_000 * step if kind == "view_progress" else None,
                        "progress": min(1.0, 0.3 * step) if kind == "view_progress" else None,
                        "client_at": start + timedelta(seconds=3 * step),
                        "received_at": now,
                        "aggregated": False,
                        "device_id": device(int(viewer_idx[i])),
                        "account_guest": False,
                        "account_created_at": now - timedelta(days=400),
                    }
                )
        rows = rows[: n_events - written]
        written += len(rows)
        with get_engine().begin() as conn:
            for start_row in range(0, len(rows), 50_000):
                conn.execute(insert(FeedEvent), rows[start_row : start_row + 50_000])


def seed(scale: float, n_skus: int) -> dict[str, Any]:
    from sqlalchemy import insert

    from app.accounts.models import CreatorProfile, MerchantOrganisation, Role, User
    from app.catalog.models import Product, Sku
    from app.clips.models import Clip, ClipStatus, Visibility
    from app.commerce.models import Order, OrderLine, OrderStatus
    from app.db import get_engine, utcnow
    from app.tags.models import ProductTag, TagSource, TagStatus

    rng = np.random.default_rng(7)
    r = random.Random(7)
    n_clips = max(200, int(100_000 * scale))
    n_events = max(10_000, int(5_000_000 * scale))
    n_orders = max(500, int(200_000 * scale))
    n_creators = max(10, n_clips // 50)
    n_viewers = max(1000, n_events // 100)
    n_orgs = 20
    now = utcnow()
    engine = get_engine()
    t0 = time.perf_counter()
    creators = [uuid.uuid4() for _ in range(n_creators)]
    viewers = [uuid.uuid4() for _ in range(n_viewers)]
    buyer = viewers[0]
    orgs = [uuid.uuid4() for _ in range(n_orgs)]
    with engine.begin() as conn:
        conn.execute(
            insert(User),
            [{"id": c, "role": Role.creator, "email": f"c{i}@b.example"} for i, c in enumerate(creators)],
        )
        conn.execute(
            insert(CreatorProfile),
            [{"user_id": c, "handle": f"c{i}", "display_name": f"C{i}"} for i, c in enumerate(creators)],
        )
        for start in range(0, n_viewers, 20_000):
            conn.execute(
                insert(User),
                [
                    {
                        "id": v,
                        "role": Role.viewer,
                        "email": f"v{i}@b.example",
                        "created_at": now - timedelta(days=400),
                    }
                    for i, v in enumerate(viewers[start : start + 20_000], start)
                ],
            )
        conn.execute(
            insert(MerchantOrganisation),
            [{"id": o, "name": f"O{i}", "slug": f"o{i}"} for i, o in enumerate(orgs)],
        )
        # SKUs: the benchmarked merchant has n_skus, the others n_skus // 4 each
        skus: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID]] = []  # (sku, product, org)
        for k, org in enumerate(orgs):
            count = n_skus if k == 0 else max(10, n_skus // 4)
            products = [uuid.uuid4() for _ in range(max(1, count // 4))]
            conn.execute(
                insert(Product),
                [
                    {"id": p, "organisation_id": org, "title": f"P{j}", "category": "fashion"}
                    for j, p in enumerate(products)
                ],
            )
            rows = []
            for j in range(count):
                sku = uuid.uuid4()
                rows.append(
                    {
                        "id": sku,
                        "product_id": products[j % len(products)],
                        "organisation_id": org,
                        "code": f"S{k}-{j}",
                        "price_minor": 1000 + j % 50 * 100,
                        "currency": "EUR",
                        "quantity": 10**6,
                    }
                )
                skus.append((sku, products[j % len(products)], org))
            conn.execute(insert(Sku), rows)
        clips = [uuid.uuid4() for _ in range(n_clips)]
        for start in range(0, n_clips, 20_000):
            conn.execute(
                insert(Clip),
                [
                    {
                        "id": c,
                        "creator_id": creators[i % n_creators],
                        "status": ClipStatus.ready,
                        "visibility": Visibility.public,
                        "caption": "c",
                        "duration_ms": 20_000,
                        "storage_prefix": f"clips/{c}",
                        "ready_at": now - timedelta(days=100),
                        "created_at": now - timedelta(days=100),
                    }
                    for i, c in enumerate(clips[start : start + 20_000], start)
                ],
            )
        # a third of the clips carry one or two SKUs
        tag_rows = []
        clip_skus: dict[uuid.UUID, list[tuple[uuid.UUID, uuid.UUID, uuid.UUID]]] = {}
        for c in clips[: n_clips // 3]:
            chosen = r.sample(skus, r.choice((1, 2)))
            clip_skus[c] = chosen
            for sku, _, org in chosen:
                tag_rows.append(
                    {
                        "clip_id": c,
                        "sku_id": sku,
                        "organisation_id": org,
                        "start_ms": 0,
                        "end_ms": 5000,
                        "status": TagStatus.active,
                        "source": TagSource.creator,
                    }
                )
        for start in range(0, len(tag_rows), 20_000):
            conn.execute(insert(ProductTag), tag_rows[start : start + 20_000])
        tagged = list(clip_skus)
        # orders: paid, over 90 days, on tagged clips
        for start in range(0, n_orders, 10_000):
            orders, lines = [], []
            for _ in range(start, min(n_orders, start + 10_000)):
                c = tagged[r.randrange(len(tagged))]
                sku, product, org = clip_skus[c][0]
                oid = uuid.uuid4()
                q = r.randint(1, 3)
                paid_at = now - timedelta(seconds=r.randint(0, 90 * 86400))
                orders.append(
                    {
                        "id": oid,
                        "buyer_id": buyer,
                        "organisation_id": org,
                        "status": OrderStatus.paid,
                        "currency": "EUR",
                        "subtotal_minor": 1000 * q,
                        "total_minor": 1000 * q,
                        "expires_at": paid_at,
                        "idempotency_key": oid.hex,
                        "request_hash": "0" * 64,
                        "clip_id": c,
                        "creator_id": None,
                        "paid_at": paid_at,
                        "created_at": paid_at,
                        "updated_at": paid_at,
                    }
                )
                lines.append(
                    {
                        "id": uuid.uuid4(),
                        "order_id": oid,
                        "position": 0,
                        "sku_id": sku,
                        "product_id": product,
                        "organisation_id": org,
                        "sku_code": "x",
                        "title": "x",
                        "quantity": q,
                        "unit_price_minor": 1000,
                        "line_total_minor": 1000 * q,
                    }
                )
            conn.execute(insert(Order), orders)
            conn.execute(insert(OrderLine), lines)
    # events: popularity skewed, times over 90 days, unaggregated
    insert_events(rng, clips, viewers, n_events, 90 * 86_400_000, lambda v: f"d{v}")
    print(
        f"seeded {n_clips} clips, {n_events} events, {n_orders} orders, {len(skus)} SKUs "
        f"({n_skus} of the benchmarked merchant) in {time.perf_counter() - t0:.0f}s",
        flush=True,
    )
    return {"org": orgs[0], "events": n_events, "orders": n_orders}


def seed_live(n_events: int, spread_seconds: int = 600) -> int:
    """``n_events`` more events as live ingest writes them: client times within the last
    ``spread_seconds``, on the seeded clips and viewers, unaggregated. Returns the last id before."""
    from sqlalchemy import func, select

    from app.accounts.models import Role, User
    from app.clips.models import Clip
    from app.db import get_engine
    from app.feed.models import FeedEvent

    rng = np.random.default_rng(11)
    engine = get_engine()
    with engine.connect() as conn:
        clips = list(conn.scalars(select(Clip.id)))
        viewers = list(conn.scalars(select(User.id).where(User.role == Role.viewer)))
        before = int(conn.scalar(select(func.max(FeedEvent.id))) or 0)
    insert_events(rng, clips, viewers, n_events, spread_seconds * 1000, lambda v: f"live-{viewers[v]}")
    return before


WARM_UP = 3  # dashboard queries run (and not counted) before the measured ones: caches, statement compilation


def drain(limit: int) -> tuple[int, float]:
    from app.db import new_session
    from app.feed import service as feed_service

    total, t0 = 0, time.perf_counter()
    while True:
        with feed_service.writer_lock(), new_session() as session:
            n = feed_service.aggregate_pending(session, limit)
            session.commit()
        total += n
        if n < limit:
            return total, time.perf_counter() - t0


def _benchmarked_org() -> uuid.UUID:
    """The merchant with ``--skus`` SKUs in a database seeded by this bench (its first, ``o0``)."""
    from sqlalchemy import select

    from app.accounts.models import MerchantOrganisation
    from app.db import new_session

    with new_session() as session:
        org = session.scalar(select(MerchantOrganisation.id).where(MerchantOrganisation.slug == "o0"))
    if org is None:
        raise SystemExit("no benchmarked merchant in this database: run the bench on it once without --only")
    return org


@contextlib.contextmanager
def _statement_profile(engine: Any, on: bool, per: float, what: str) -> Iterator[None]:
    """With ``on``: time per statement kind (its first 100 characters, numbers and literals
    aside), from the engine's cursor events, printed per ``per`` units of ``what`` at the end."""
    import re

    from sqlalchemy import event

    if not on:
        yield
        return
    spent: dict[str, list[float]] = {}

    def before(conn: Any, *args: Any) -> None:
        conn.info["bench_t0"] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        key = re.sub(r"\s+", " ", re.sub(r"'[^']*'|\d+", "?", statement))[:100]
        row = spent.setdefault(key, [0.0, 0])
        row[0] += time.perf_counter() - conn.info.pop("bench_t0", time.perf_counter())
        row[1] += 1

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    print(f"where the time goes, per {what} (ms, statements, statement):")
    for key, (seconds, calls) in sorted(spent.items(), key=lambda kv: -kv[1][0])[:15]:
        print(f"  {1000 * seconds / per:9.1f} {calls / per:7.1f}  {key}")


def settle(engine: Any) -> None:
    """PostgreSQL: ``VACUUM ANALYZE`` the rollups, what autovacuum does within minutes of a bulk
    load (for inserts too, since PostgreSQL 13): the planner's statistics, and the visibility map
    that lets the reach count read the index alone (measured: 0.6 s for the merchant's 140,000 reach
    rows through the heap, stale statistics planning for 27)."""
    from sqlalchemy import text

    if engine.dialect.name != "postgresql":
        return
    t0 = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("analytics_engagement", "analytics_sales", "analytics_seller", "analytics_reach"):
            conn.execute(text(f"VACUUM ANALYZE {table}"))
    print(f"VACUUM ANALYZE of the rollups: {time.perf_counter() - t0:.1f}s", flush=True)


def dashboard(engine: Any, org: uuid.UUID, queries: int, profile: bool) -> None:
    """Time ``merchant_dashboard`` over the last 90 days in rotating time zones (p50/p99 next to a
    ``SELECT 1`` round trip); with ``profile``, where the time goes, per statement."""
    from sqlalchemy import text

    from app.analytics import service
    from app.db import new_session

    # As an API process does once its feed engine is built (app/feed/runtime.py): what was
    # allocated so far (here the seeding's leftovers) leaves the cyclic GC's full collections,
    # which otherwise pause one query in ten by ~100 ms.
    gc.collect()
    gc.freeze()
    zones = ["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Sydney"]
    today = date.today()
    times, base = [], []
    with (
        _statement_profile(engine, profile, queries + WARM_UP, "dashboard"),
        new_session() as session,
    ):
        for q in range(-WARM_UP, queries):
            period = service.period(today - timedelta(days=89), today, zones[q % len(zones)])
            t0 = time.perf_counter()
            session.execute(text("SELECT 1")).scalar()
            base.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            board = service.merchant_dashboard(session, org, period)
            if q >= 0:  # the first WARM_UP queries are not counted
                times.append(time.perf_counter() - t0)
            session.rollback()
        skus = len(board["skus"])
        revenue = board["totals"]["revenue_minor"]

    def pct(values: list[float], q: float) -> float:
        return 1000 * float(np.percentile(values, q))

    print(
        f"merchant dashboard, 90 days, {skus} SKUs (revenue {revenue}): p50 {pct(times, 50):.1f} ms, "
        f"p99 {pct(times, 99):.1f} ms (goal < 200 ms); SELECT 1: p50 {pct(base, 50):.2f} ms, "
        f"p99 {pct(base, 99):.2f} ms; mean {1000 * statistics.mean(times):.1f} ms over {len(times)} queries",
        flush=True,
    )


def live_tail(engine: Any, tail: int, slice_size: int, profile: bool) -> None:
    """``tail`` events timed within the last ten minutes, folded by the feed's aggregation alone,
    then again (the same events, unaggregated again) with the analytics consumer."""
    from sqlalchemy import text

    from app.feed import service as feed_service

    feed_service._load_slice_consumers()
    consumers = list(feed_service._slice_consumers)
    before = seed_live(tail)
    feed_service._slice_consumers.clear()
    n, seconds = drain(slice_size)
    live_base = n / seconds
    with engine.begin() as conn:
        conn.execute(text("UPDATE feed_event SET aggregated = false WHERE id > :id"), {"id": before})
    feed_service._slice_consumers.extend(consumers)
    with _statement_profile(engine, profile, tail / 100_000, "100,000 events of the live tail"):
        n, seconds = drain(slice_size)
    live = n / seconds
    print(
        f"live tail ({n} events timed within the last 10 minutes): feed aggregation alone {live_base:,.0f} "
        f"events/s; + analytics rollups and authenticity {live:,.0f} events/s ({live / live_base:.2f} of the "
        "feed alone; goal >= 20,000/s)",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Analytics benchmark")
    p.add_argument("--database-url", help="default: a temporary SQLite file")
    p.add_argument(
        "--scale", type=float, default=0.02, help="fraction of 100k clips / 5M events / 200k orders"
    )
    p.add_argument("--skus", type=int, default=1000, help="SKUs of the benchmarked merchant")
    p.add_argument("--queries", type=int, default=60)
    p.add_argument("--slice", type=int, default=50_000, help="events per aggregation run")
    p.add_argument("--live-events", type=int, default=0, help="live tail size (default: a tenth of the log)")
    p.add_argument(
        "--only",
        choices=["dashboard", "live"],
        help="on a database this bench seeded before (--database-url): only time the dashboard, or "
        "only add and fold a live tail (--live-events, default 500,000)",
    )
    p.add_argument("--profile", action="store_true", help="print where the time goes, per statement")
    p.add_argument(
        "--no-settle",
        action="store_true",
        help="time the dashboard right after the bulk fold, without the VACUUM ANALYZE autovacuum would run",
    )
    args = p.parse_args(argv)
    if args.only and not args.database_url:
        p.error("--only needs the --database-url of an earlier run")
    tmp = Path(tempfile.mkdtemp(prefix="clipshop-analytics-bench-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    _env(url)
    try:
        from sqlalchemy import text

        from app.analytics import rollups
        from app.cli import run_migrations
        from app.db import get_engine, new_session
        from app.feed import service as feed_service

        run_migrations("head", url=url)
        engine = get_engine()
        if args.only == "live":
            live_tail(engine, args.live_events or 500_000, args.slice, args.profile)
            return 0
        if args.only == "dashboard":
            t0 = time.perf_counter()
            with new_session() as session:  # (a migration may have emptied the sales rollups)
                looked = rollups.sync_orders(session, 5000)
                session.commit()
            print(f"order sync: {looked} orders in {time.perf_counter() - t0:.1f}s", flush=True)
            if not args.no_settle:
                settle(engine)
            dashboard(engine, _benchmarked_org(), args.queries, args.profile)
            return 0
        info = seed(args.scale, args.skus)
        # baseline: the feed's aggregation alone (analytics consumer off) over the same log
        feed_service._load_slice_consumers()
        consumers = list(feed_service._slice_consumers)
        feed_service._slice_consumers.clear()
        n, seconds = drain(args.slice)
        base_rate = n / seconds
        print(f"feed aggregation alone: {n} events in {seconds:.1f}s = {base_rate:,.0f} events/s", flush=True)
        with engine.begin() as conn:  # the same log, unaggregated again; counters start over
            conn.execute(text("UPDATE feed_event SET aggregated = false"))
            conn.execute(text("DELETE FROM clip_stat"))
            conn.execute(text("DELETE FROM clip_like"))
        feed_service._slice_consumers.extend(consumers)
        n, seconds = drain(args.slice)
        rate = n / seconds
        print(
            f"feed aggregation + analytics rollups and authenticity: {n} events in {seconds:.1f}s = {rate:,.0f} "
            f"events/s ({rate / base_rate:.2f} of the feed alone; goal >= 20,000/s)",
            flush=True,
        )
        t0 = time.perf_counter()
        with new_session() as session:
            looked = rollups.sync_orders(session, 5000)
            session.commit()
        print(f"order sync: {looked} orders in {time.perf_counter() - t0:.1f}s", flush=True)
        if not args.no_settle:
            settle(engine)
        dashboard(engine, info["org"], args.queries, args.profile)

        # live ingest: events timed within the last ten minutes (what the aggregator folds while
        # the service runs), alone and with analytics, on the same tail of the log
        live_tail(engine, args.live_events or max(20_000, info["events"] // 10), args.slice, args.profile)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
