"""Earnings reads of a creator with a long commission ledger, against trivial requests measured in
the same run.

    python -m bench.earnings_bench [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
                                   [--entries 100000] [--others 100000] [--repeats 200]

Without ``--database-url`` the embedded SQLite is used (a temporary file); with a PostgreSQL URL
a throwaway database is created on that server and dropped afterwards. The database is migrated
and filled with ``--entries`` ledger entries of one creator (commissions, releases, reversals,
payouts, in two currencies, over 40 clips and 5 merchants) and ``--others`` entries of 1,000
other creators. Then, each ``--repeats`` times, in process:

- ``GET /v1/me/earnings`` (summary: pending / payable / in payout / paid per currency), first
  with every entry after the (absent) checkpoint, then as the periodic job leaves it: a balance
  checkpoint and 500 newer entries;
- ``GET /v1/me/earnings/ledger?limit=50`` (first page), a page further down by cursor, and a
  page filtered by ``status=payable`` and ``clip_id``;
- baselines: ``GET /healthz`` (no database) and ``GET /v1/me`` (authentication and one read).

Prints median, p95 and the ratio of each to the ``/v1/me`` baseline.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def _prepare_database(url: str | None) -> tuple[str, Any]:
    if url is None:
        path = Path(tempfile.mkdtemp(prefix="earnings-bench-")) / "bench.db"
        return f"sqlite:///{path}", None
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"earnings_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return make_url(url).set(database=name).render_as_string(hide_password=False), (admin, name)


def _fill(entries: int, others: int) -> tuple[uuid.UUID, str, list[uuid.UUID]]:
    from sqlalchemy import insert

    from app.accounts import service as accounts_service
    from app.accounts.models import CreatorProfile, Role, User
    from app.creators.models import CommissionEntry, EntryKind
    from app.db import session_scope, utcnow

    with session_scope() as session:
        creator = User(email="bench-creator@example.com", role=Role.creator)
        session.add(creator)
        session.flush()
        session.add(CreatorProfile(user_id=creator.id, handle="bench_creator", display_name="Bench"))
        other_ids = []
        for n in range(1000):
            user = User(email=f"other-{n}@example.com", role=Role.creator)
            session.add(user)
            other_ids.append(user)
        session.flush()
        token = accounts_service.issue_tokens(session, creator).access_token
        creator_id = creator.id
        others_ids = [u.id for u in other_ids]
    clips = [uuid.uuid4() for _ in range(40)]
    merchants = [uuid.uuid4() for _ in range(5)]
    now = utcnow()
    kinds = [
        (EntryKind.commission, 1, 0, 0, 0),
        (EntryKind.release, -1, 1, 0, 0),
        (EntryKind.reversal, 0, -1, 0, 0),
        (EntryKind.commission, 1, 0, 0, 0),
        (EntryKind.payout, 0, -1, 1, 0),
        (EntryKind.payout_paid, 0, 0, -1, 1),
    ]

    def rows(owner: Any, count: int, start: int) -> list[dict[str, Any]]:
        batch = []
        for i in range(start, start + count):
            kind, pending, payable, in_payout, paid = kinds[i % len(kinds)]
            amount = 100 + i % 900
            batch.append(
                {
                    "creator_id": owner if not isinstance(owner, list) else owner[i % len(owner)],
                    "currency": "EUR" if i % 5 else "USD",
                    "kind": kind,
                    "amount_minor": -amount if kind is EntryKind.reversal else amount,
                    "pending_delta": pending * amount,
                    "payable_delta": payable * amount,
                    "in_payout_delta": in_payout * amount,
                    "paid_delta": paid * amount,
                    "order_id": uuid.uuid4(),
                    "clip_id": clips[i % len(clips)],
                    "organisation_id": merchants[i % len(merchants)],
                    "memo": "1 x Hoodie",
                    "created_at": now,
                }
            )
        return batch

    from app.creators.models import CreatorAccount

    with session_scope() as session:
        # Every ledger writer creates these first (the lock anchor per creator and currency).
        for user_id in [creator_id, *others_ids]:
            session.add_all(CreatorAccount(creator_id=user_id, currency=c) for c in ("EUR", "USD"))
    for owner, count in ((creator_id, entries), (others_ids, others)):
        for start in range(0, count, 10_000):
            with session_scope() as session:
                session.execute(insert(CommissionEntry), rows(owner, min(10_000, count - start), start))
    from app.db import get_engine

    # What autovacuum does on its own after a bulk load (visibility map for index-only scans, stats).
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(
            text("VACUUM ANALYZE commission_entry" if conn.dialect.name == "postgresql" else "ANALYZE")
        )
    return creator_id, token, clips


def _checkpoint_and_add(creator_id: uuid.UUID, newer: int) -> None:
    """What the periodic job leaves: a checkpoint, then ``newer`` entries after it."""
    from sqlalchemy import insert

    from app.creators import service
    from app.creators.models import CommissionEntry, EntryKind
    from app.db import session_scope

    with session_scope() as session:
        service.checkpoint_balances(session)
        session.execute(
            insert(CommissionEntry),
            [
                {
                    "creator_id": creator_id,
                    "currency": "EUR",
                    "kind": EntryKind.commission,
                    "amount_minor": 250,
                    "pending_delta": 250,
                    "payable_delta": 0,
                    "in_payout_delta": 0,
                    "paid_delta": 0,
                    "memo": "1 x Hoodie",
                }
                for _ in range(newer)
            ],
        )


def _time(client: Any, path: str, headers: dict[str, str], repeats: int) -> list[float]:
    for _ in range(5):
        assert client.get(path, headers=headers).status_code == 200
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--others", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()

    url, cleanup = _prepare_database(args.database_url)
    os.environ.update(
        {
            "CLIPSHOP_DATABASE_URL": url,
            "CLIPSHOP_AUTO_MIGRATE": "false",
            "CLIPSHOP_LOG_LEVEL": "WARNING",
            "CLIPSHOP_ENVIRONMENT": "test",
            "CLIPSHOP_SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789",
        }
    )
    os.environ.pop("CLIPSHOP_REDIS_URL", None)
    try:
        from fastapi.testclient import TestClient

        from app.cli import run_migrations

        run_migrations("head", url=url)
        started = time.perf_counter()
        _creator_id, token, clips = _fill(args.entries, args.others)
        print(
            f"database: {make_url(url).get_backend_name()}, filled in {time.perf_counter() - started:.1f} s"
        )
        from app.main import app

        headers = {"Authorization": f"Bearer {token}"}
        with TestClient(app) as client:
            first = client.get("/v1/me/earnings/ledger", params={"limit": 50}, headers=headers).json()
            deeper = first["next_cursor"]
            for _ in range(20):
                deeper = client.get(
                    "/v1/me/earnings/ledger", params={"limit": 50, "cursor": deeper}, headers=headers
                ).json()["next_cursor"]
            no_checkpoint = _time(client, "/v1/me/earnings", headers, args.repeats)
            _checkpoint_and_add(_creator_id, 500)
            scenarios = [
                ("baseline GET /healthz", "/healthz"),
                ("baseline GET /v1/me", "/v1/me"),
                ("earnings summary", "/v1/me/earnings"),
                ("ledger first page (50)", "/v1/me/earnings/ledger?limit=50"),
                ("ledger page 21 by cursor", f"/v1/me/earnings/ledger?limit=50&cursor={deeper}"),
                (
                    "ledger status=payable + clip",
                    f"/v1/me/earnings/ledger?limit=50&status=payable&clip_id={clips[3]}",
                ),
            ]
            results = {name: _time(client, path, headers, args.repeats) for name, path in scenarios}
            results["earnings summary, no checkpoint"] = no_checkpoint
        base = statistics.median(results["baseline GET /v1/me"])
        count = args.entries
        print(
            f"creator with {count:,} ledger entries (+{args.others:,} of other creators), {args.repeats} requests each"
        )
        print(f"{'request':34} {'median ms':>10} {'p95 ms':>8} {'x /v1/me':>9}")
        for name, timings in results.items():
            timings.sort()
            median = statistics.median(timings)
            p95 = timings[int(len(timings) * 0.95) - 1]
            print(f"{name:34} {median:10.2f} {p95:8.2f} {median / base:9.2f}")
    finally:
        from app.db import reset_engine

        reset_engine()
        if cleanup is not None:
            admin, name = cleanup
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
