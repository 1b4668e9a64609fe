"""The rollups add up: to the event log, to the orders, in any time zone, whatever the order in
which events arrive and are folded."""

from __future__ import annotations

import itertools
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.analytics.conftest import aggregate, new_account, new_creator, refund_part, send, set_order_status

pytestmark = pytest.mark.usefixtures("database_url")

KINDS = [
    "impression",
    "view_progress",
    "complete",
    "like",
    "unlike",
    "share",
    "product_tap",
    "add_to_cart",
    "skip",
]
COLUMN = {
    "impression": "impressions",
    "view_progress": "views",
    "complete": "completes",
    "like": "likes",
    "unlike": "unlikes",
    "share": "shares",
    "product_tap": "product_taps",
    "add_to_cart": "add_to_carts",
    "skip": "skips",
}
ZONES = ["UTC", "Europe/Paris", "America/New_York", "Asia/Kathmandu", "Australia/Eucla", "Pacific/Chatham"]
_HYPOTHESIS = settings(
    max_examples=8,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # (shrinking a database test takes minutes)
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _clear_events() -> None:
    from sqlalchemy import text

    from app.db import session_scope

    with session_scope() as session:
        for table in (
            "feed_event",
            "feed_event_retraction",
            "clip_stat",
            "clip_like",
            "creator_follow",
            "analytics_engagement",
            "analytics_watch",
            "analytics_reach",
            "analytics_creator_viewer",
            "analytics_account",
            "analytics_account_creator",
            "analytics_burst_engager",
            "analytics_shared_key",
            "analytics_flag_tally",
            "analytics_sales",
            "analytics_seller",
            "analytics_order_fact",
            "analytics_cursor",
            "order_line",
            '"order"',
        ):
            session.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def world(make_clip: Any) -> dict[str, Any]:
    creators = [new_creator("alpha_one"), new_creator("beta_two")]
    clips = [
        make_clip(creators[0], ["fashion"]),
        make_clip(creators[0], ["tech"]),
        make_clip(creators[1], ["fashion"]),
    ]
    viewers = [new_account(), new_account(guest=True), new_account()]
    return {"creators": creators, "clips": clips, "viewers": viewers}


event_strategy = st.lists(
    st.tuples(
        st.integers(0, 2),  # viewer
        st.sampled_from(KINDS),
        st.integers(0, 2),  # clip
        st.integers(0, 20 * 24 * 60 - 1),  # minutes before now (ranges of full weeks and days)
    ),
    min_size=1,
    max_size=60,
)


@_HYPOTHESIS
@given(
    events=event_strategy, slice_size=st.integers(1, 25), zone=st.sampled_from(ZONES), cut=st.integers(1, 70)
)
def test_engagement_rollups_reconcile_with_the_event_log(
    world: dict[str, Any], events: list[tuple[int, str, int, int]], slice_size: int, zone: str, cut: int
) -> None:
    from app.analytics import service
    from app.db import session_scope, utcnow

    _clear_events()
    now = utcnow().replace(second=0, microsecond=0)
    sent: list[tuple[str, uuid.UUID, datetime]] = []
    # sent in pieces, folded in slices of `slice_size` in between: late events included
    for start in range(0, len(events), cut):
        for viewer, kind, clip, minutes in events[start : start + cut]:
            at = now - timedelta(minutes=minutes)
            send(world["viewers"][viewer], [(kind, world["clips"][clip], at)])
            sent.append((kind, world["clips"][clip], at))
        aggregate(slice_size)
    p = service.period(None, None, zone, default_days=22)
    for kind_name, entity_of in (
        ("clip", lambda c: c),
        ("creator", lambda c: world["creators"][0 if c != world["clips"][2] else 1]),
    ):
        ids = world["clips"] if kind_name == "clip" else world["creators"]
        with session_scope() as session:
            totals = service.engagement_totals(session, kind_name, ids, p.start, p.end)
        for entity in ids:
            expected = Counter(
                COLUMN[k] for k, c, at in sent if entity_of(c) == entity and p.start <= at < p.end
            )
            f = totals.get(entity, service.Figures())
            for column in COLUMN.values():
                assert f.counts[column] + f.filtered[column] == expected[column], (kind_name, column)
    # the daily series (quarter hours grouped by local day) adds up to the range's total
    clip = world["clips"][0]
    with session_scope() as session:
        days = service.daily(session, "clip", clip, p)
    assert sum(d["impressions"] + d["filtered"]["impressions"] for d in days) == sum(
        1 for k, c, at in sent if k == "impression" and c == clip and p.start <= at < p.end
    )
    # and each local day holds exactly the events of that day in `zone`
    tz = ZoneInfo(zone)
    per_day = Counter(
        at.astimezone(tz).date().isoformat() for k, c, at in sent if k == "impression" and c == clip
    )
    for d in days:
        assert d["impressions"] + d["filtered"]["impressions"] == per_day.get(d["day"], 0)


op_strategy = st.lists(
    st.one_of(
        st.tuples(
            st.just("order"),
            st.lists(st.tuples(st.integers(0, 3), st.integers(1, 4)), min_size=1, max_size=3),
            st.sampled_from(["paid", "pending_payment"]),
        ),
        st.tuples(
            st.just("status"),
            st.integers(0, 30),
            st.sampled_from(["paid", "cancelled", "refunded", "refund_required"]),
        ),
        # order, line, units, share of the money left on the line (1/10,000)
        st.tuples(
            st.just("partial_refund"),
            st.tuples(st.integers(0, 30), st.integers(0, 2), st.integers(0, 4), st.integers(0, 10_000)),
            st.just(""),
        ),
        st.tuples(st.just("sync"), st.just(0), st.just("")),
    ),
    min_size=1,
    max_size=25,
)


@_HYPOTHESIS
@given(ops=op_strategy, page=st.integers(1, 7))
def test_sales_rollups_reconcile_with_orders(
    world: dict[str, Any], shop: dict[str, Any], make_order: Any, ops: list[Any], page: int
) -> None:
    from sqlalchemy import select

    from app.analytics import rollups, service
    from app.commerce.models import Order, OrderStatus
    from app.db import session_scope, utcnow

    _clear_events()
    orders: list[uuid.UUID] = []
    for op, a, b in ops:
        if op == "order":
            creator = world["creators"][len(orders) % 2]
            orders.append(
                make_order(
                    a,
                    b,
                    creator_id=creator,
                    clip_id=world["clips"][0] if creator == world["creators"][0] else None,
                    # paid over the last two weeks: the range below reads weeks, days and quarters
                    paid_at=utcnow() - timedelta(hours=29 * (len(orders) % 12)),
                )
            )
        elif op == "status" and orders:
            set_order_status(orders[a % len(orders)], b)
        elif op == "partial_refund" and orders:
            refund_part(orders[a[0] % len(orders)], a[1], a[2], a[3])
        else:
            with session_scope() as session:
                rollups.sync_orders(session, page)
    with session_scope() as session:
        rollups.sync_orders(session, page)
        rollups.sync_orders(session, page)  # a repeat changes nothing
    p = service.period(date.today() - timedelta(days=20), date.today() + timedelta(days=1), "UTC")
    with session_scope() as session:
        # sales: paid orders, and partially refunded ones net of their refunds
        counted = (OrderStatus.paid, OrderStatus.partially_refunded)
        paid = [o for o in session.scalars(select(Order)) if o.status in counted]
        expected_all = (
            len(paid),
            sum(line.quantity - line.refunded_quantity for o in paid for line in o.lines),
            sum(o.total_minor - o.refunded_minor for o in paid),
        )
        figs = service.figures(session, "all", [rollups.ALL], p)[rollups.ALL]
        assert (figs.orders, figs.units, figs.revenue.get("EUR", 0)) == expected_all
        merchant = service.figures(session, "merchant", [shop["org"]], p)[shop["org"]]
        assert (merchant.orders, merchant.revenue.get("EUR", 0)) == (expected_all[0], expected_all[2])
        skus = service.figures(session, "sku", [s for s, _ in shop["skus"]], p)
        for sku_id, _ in shop["skus"]:
            lines = [line for o in paid for line in o.lines if line.sku_id == sku_id]
            assert skus[sku_id].units == sum(line.quantity - line.refunded_quantity for line in lines)
            assert skus[sku_id].revenue.get("EUR", 0) == sum(
                line.line_total_minor - line.refunded_minor for line in lines
            )
            assert skus[sku_id].orders == len({line.order_id for line in lines})
        creators = service.figures(session, "creator", world["creators"], p)
        for creator in world["creators"]:
            mine = [o for o in paid if o.creator_id == creator]
            assert creators[creator].revenue.get("EUR", 0) == sum(
                o.total_minor - o.refunded_minor for o in mine
            )
        # the merchant's sellers (what its top clips and creators are ranked by) add up likewise
        for kind, sellers in (("creator", world["creators"]), ("clip", world["clips"][:1])):
            top = service._top_sellers(session, shop["org"], kind, p)
            for seller in sellers:
                mine = [o for o in paid if (o.creator_id if kind == "creator" else o.clip_id) == seller]
                got = top.get(seller, service.Figures())
                assert (got.orders, got.units, got.revenue.get("EUR", 0)) == (
                    len(mine),
                    sum(line.quantity - line.refunded_quantity for o in mine for line in o.lines),
                    sum(o.total_minor - o.refunded_minor for o in mine),
                ), (kind, seller)


def test_days_follow_the_callers_time_zone(world: dict[str, Any]) -> None:
    """Two impressions 20 minutes apart across local midnight in Kathmandu (UTC+05:45) fall on
    two days there and on the same day in UTC."""
    from app.db import session_scope

    clip = world["clips"][0]
    tz = ZoneInfo("Asia/Kathmandu")
    today = datetime.now(tz).date() - timedelta(days=1)
    midnight = datetime(today.year, today.month, today.day, tzinfo=tz)
    before, after = midnight - timedelta(minutes=10), midnight + timedelta(minutes=10)
    send(world["viewers"][0], [("impression", clip, before), ("impression", clip, after)])
    aggregate()
    with session_scope() as session:
        _check_kathmandu(session, clip, today, before, after)


def _check_kathmandu(session: Any, clip: uuid.UUID, today: date, before: datetime, after: datetime) -> None:
    from app.analytics import service

    p = service.period(today - timedelta(days=1), today, "Asia/Kathmandu")
    days = {d["day"]: d["impressions"] for d in service.daily(session, "clip", clip, p)}
    assert days == {(today - timedelta(days=1)).isoformat(): 1, today.isoformat(): 1}
    utc_day = before.astimezone(UTC).date()
    assert utc_day == after.astimezone(UTC).date()  # (18:05 and 18:25 UTC)
    p_utc = service.period(utc_day, utc_day, "UTC")
    assert service.daily(session, "clip", clip, p_utc)[0]["impressions"] == 2
    # a range that ends at the local midnight counts only the first
    one = service.period(today - timedelta(days=1), today - timedelta(days=1), "Asia/Kathmandu")
    assert service.figures(session, "clip", [clip], one)[clip].counts["impressions"] == 1


def test_a_late_event_lands_in_its_own_day(world: dict[str, Any]) -> None:
    from app.analytics import service
    from app.db import session_scope, utcnow

    clip = world["clips"][1]
    now = utcnow()
    send(world["viewers"][0], [("impression", clip, now)])
    aggregate()
    # sent two days late (the app was offline): folded now, counted on its day
    two_days_ago = now - timedelta(days=2)
    send(world["viewers"][2], [("impression", clip, two_days_ago), ("view_progress", clip, two_days_ago)])
    aggregate()
    p = service.period(two_days_ago.date(), now.date(), "UTC")
    with session_scope() as session:
        days = {d["day"]: (d["impressions"], d["views"]) for d in service.daily(session, "clip", clip, p)}
    assert days[two_days_ago.date().isoformat()] == (1, 1)
    assert days[now.date().isoformat()] == (1, 0)
    assert days[(now - timedelta(days=1)).date().isoformat()] == (0, 0)


def test_ranges_are_checked(client: Any) -> None:
    from app.analytics import service
    from app.analytics.exceptions import BadRange

    with pytest.raises(BadRange):
        service.period(None, None, "Mars/Olympus")
    with pytest.raises(BadRange):
        service.period(date(2026, 1, 2), date(2026, 1, 1), "UTC")
    with pytest.raises(BadRange):
        service.period(date(2024, 1, 1), date(2026, 1, 1), "UTC")


@given(
    start=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 1, 1)),
    minutes=st.integers(1, 400 * 24 * 60),
)
def test_a_range_is_tiled_by_aligned_pieces(start: datetime, minutes: int) -> None:
    """Whatever the range (quarter-hour aligned, as a zone's days are), its pieces cover it exactly
    once, each aligned to its grain: the weeks start on a Monday, days at midnight (UTC)."""
    from app.analytics.models import DAY, QUARTER, WEEK
    from app.analytics.rollups import bucket_of
    from app.analytics.service import _pieces

    lo = bucket_of(start.replace(tzinfo=UTC), QUARTER)
    hi = lo + timedelta(minutes=15 * (minutes // 15 + 1))
    pieces = sorted(_pieces(lo, hi), key=lambda piece: piece[1])
    assert pieces[0][1] == lo and pieces[-1][2] == hi
    for (_, _, a_hi), (_, b_lo, _) in itertools.pairwise(pieces):
        assert a_hi == b_lo  # no gap, no overlap
    for grain, a, b in pieces:
        assert a < b and bucket_of(a, grain) == a and bucket_of(b, grain) == b
        assert grain in (QUARTER, DAY, WEEK)
    if hi - lo >= timedelta(days=15):  # long ranges are mostly read in weeks
        assert sum(1 for grain, _, _ in pieces if grain == WEEK) == 1


@pytest.mark.parametrize("zone", [*ZONES, "Australia/Lord_Howe", "America/St_Johns", "Pacific/Kiritimati"])
def test_each_local_day_is_made_of_exactly_its_quarter_hours(zone: str) -> None:
    """The day plan of a year (both DST changes, half-hour DST, +14:00): for every local day, its
    UTC day rows and signed edge quarters add up to exactly the quarter hours of that day."""
    from app.analytics.service import _day_plan, period

    p = period(date(2026, 1, 1), date(2026, 12, 31), zone)
    whole, edges = _day_plan(p)
    covered: list[Counter[datetime]] = [Counter() for _ in p.days()]
    for day, index in whole.items():
        for q in range(96):
            covered[index][day + timedelta(minutes=15 * q)] += 1
    for quarter, targets in edges.items():
        for index, sign in targets:
            covered[index][quarter] += sign
    for index, (_, lo, hi) in enumerate(p.days()):
        expected = Counter(
            lo + timedelta(minutes=15 * q) for q in range(int((hi - lo).total_seconds()) // 900)
        )
        assert +covered[index] == expected and not -covered[index], (zone, index)
        assert sum(1 for targets in edges.values() for i, _ in targets if i == index) <= 2 * 48
