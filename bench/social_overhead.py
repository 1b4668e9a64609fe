"""What the social layer adds to the hot paths it touches, next to a baseline of the same run.

* ``POST /v1/events``: the like rate-limit guard (a byte search of the body; a count and a limiter
  hit only when the batch holds likes) vs parsing the same body with orjson (which the clean path
  does anyway).
* a new feed session: reading the viewer's blocks (one indexed query) vs the onboarding-picks
  query it runs beside.
* a paid order: counting it to a share link and queueing ``order.paid`` webhooks (no endpoints:
  the common case) vs one primary-key read.

    python -m bench.social_overhead [--n 20000]

Uses a throwaway SQLite database (or ``CLIPSHOP_DATABASE_URL`` if it points at PostgreSQL).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import orjson


def _mean_us(fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def _pair(base: Callable[[], object], other: Callable[[], object], n: int, repeats: int = 7) -> tuple[float, float]:
    """Medians (microseconds per call) of ``base`` and ``other`` timed in alternation, so that
    both see the same load on a shared machine."""
    a, b = [], []
    for _ in range(repeats):
        a.append(_mean_us(base, n))
        b.append(_mean_us(other, n))
    return statistics.median(a), statistics.median(b)


def _batch(n: int, kind: str) -> bytes:
    at = datetime.now(UTC).isoformat()
    clip = str(uuid.uuid4())
    return orjson.dumps(
        {"events": [{"event_id": str(uuid.uuid4()), "type": kind, "at": at, "clip_id": clip} for _ in range(n)]}
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20_000, help="calls per timing of the in-memory checks")
    parser.add_argument("--queries", type=int, default=2_000, help="calls per timing of the database reads")
    args = parser.parse_args()
    if not os.environ.get("CLIPSHOP_DATABASE_URL", "").startswith("postgresql"):
        folder = Path(tempfile.mkdtemp(prefix="clipshop-bench-"))
        os.environ["CLIPSHOP_DATABASE_URL"] = f"sqlite:///{folder / 'bench.db'}"
    os.environ.setdefault("CLIPSHOP_ENVIRONMENT", "test")

    from sqlalchemy import select

    from app.cli import run_migrations
    from app.config import get_settings
    from app.db import new_session, session_scope
    from app.feed import router as feed_router
    from app.interests.models import UserInterest
    from app.notifications import service as notifications
    from app.social import service as social

    run_migrations("head", url=get_settings().database_url)

    # --- events: the like guard -----------------------------------------------------------------
    views = _batch(20, "impression")
    likes = _batch(20, "like")
    like = feed_router._LIKE
    parse, guard = _pair(lambda: orjson.loads(views), lambda: like in views, args.n)
    _, guard_likes = _pair(lambda: orjson.loads(views), lambda: like in likes and likes.count(like), args.n)
    print("POST /v1/events, a batch of 20 events")
    print(f"  baseline: orjson.loads of the body      {parse:8.2f} us")
    print(f"  like guard, no likes in the batch       {guard:8.2f} us  ({guard / parse:.1%} of the parse)")
    print(f"  like guard + count, 20 likes            {guard_likes:8.2f} us  (+ one limiter hit when enabled)")

    # --- a new feed session: the viewer's blocks ------------------------------------------------
    from app.accounts.models import Role, User

    viewer = uuid.uuid4()
    with session_scope() as session:
        session.add(User(id=viewer, email=f"bench-{viewer.hex}@example.com", role=Role.viewer))
    session = new_session()
    table = UserInterest.__table__
    picks_query = select(table.c.interest_id, table.c.selected).where(table.c.user_id == viewer)
    picks, blocks = _pair(
        lambda: session.connection().execute(picks_query).all(),
        lambda: social.blocked_user_ids(session, viewer),
        args.queries,
    )
    session.rollback()
    print("New feed session (at most once per viewer every 5 s)")
    print(f"  baseline: the onboarding-picks query    {picks:8.1f} us")
    print(f"  the viewer's blocks                     {blocks:8.1f} us  ({blocks / picks:.2f}x the picks query)")

    # --- a paid order ------------------------------------------------------------------------------
    order = uuid.uuid4()
    organisation = uuid.uuid4()
    user_table = User.__table__
    read_query = select(user_table.c.id, user_table.c.email).where(user_table.c.id == viewer)

    def paid() -> None:
        social.share_order_paid(session, order_id=order, total_minor=4900)
        notifications.emit_event(session, event_type="order.paid", payload={}, organisation_id=organisation)

    one_read, added = _pair(lambda: session.connection().execute(read_query).all(), paid, args.queries)
    session.rollback()
    session.close()
    print("Payment webhook marking an order paid (no share, no webhook endpoint)")
    print(f"  baseline: one primary-key read          {one_read:8.1f} us")
    print(f"  share + order.paid statements           {added:8.1f} us  ({added / one_read:.1f}x the read)")


if __name__ == "__main__":
    main()
