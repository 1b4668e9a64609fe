"""Analytics: figures per clip, creator, product, SKU and merchant, read from the rollups only.

Ranges are whole days in the caller's IANA time zone. A day in any zone is a whole number of UTC
quarter hours, so a range is answered exactly: its full UTC weeks from the week-grain rollups, its
other full UTC days from the day grain, the quarter hours at its two edges from the quarter grain;
a daily series is the UTC day rows corrected at each local day's edges with quarter-hour rows
(``_day_plan``). Raw events are never read here.

Definitions (also in ``app/analytics/README.md``); every figure is organic (flagged engagement is
shown separately as ``filtered``):

* ``impressions`` — clip shown (``impression`` events); ``reach`` — distinct organic viewers who
  were shown or watched (clips, creators, merchants; exact);
* ``views`` — ``view_progress`` events (the app sends one per watch); ``avg_watch_ms`` — their
  watch time ÷ views; ``completion_rate`` — completes ÷ views;
* ``likes`` — likes minus unlikes in the range; ``shares``; ``comments`` — comments posted minus
  comments deleted or hidden in the range; ``follows`` — follows minus unfollows (creators);
* ``engagement_rate`` — (likes + shares + comments) ÷ impressions;
* ``product_taps``; ``tap_through_rate`` — product taps ÷ impressions; ``add_to_carts``;
* ``orders``, ``units``, ``revenue_minor`` — paid orders (not cancelled or fully refunded since;
  partially refunded ones net of their refunds) by payment time; per entity each order once, with the lines concerning it; ``conversion_rate`` —
  orders ÷ product taps;
* ``commission_minor`` — commission the creator programme booked for these sales, ``roi`` —
  attributed revenue ÷ commission (``null`` without commission).
"""

from __future__ import annotations

import base64
import csv
import io
import math
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from app.accounts import service as accounts_service
from app.accounts.models import Role, User
from app.analytics import authenticity, commission
from app.analytics.exceptions import BadRange, NotAllowed
from app.analytics.models import (
    DAY,
    QUARTER,
    WEEK,
    AnalyticsAccount,
    AnalyticsClipMap,
    AnalyticsCreatorViewer,
    AnalyticsEngagement,
    AnalyticsFlagTally,
    AnalyticsReach,
    AnalyticsSales,
    AnalyticsSeller,
    AnalyticsShortlist,
)
from app.analytics.rollups import ALL
from app.catalog import service as catalog_service
from app.db import as_utc, utcnow
from app.feed import service as feed_service
from app.interests import service as interests_service

MAX_DAYS = 400
COUNTS = [
    "impressions",
    "views",
    "watch_ms",
    "completes",
    "replays",
    "skips",
    "likes",
    "unlikes",
    "shares",
    "comments",
    "uncomments",
    "follows",
    "unfollows",
    "product_taps",
    "add_to_carts",
]
ENGAGEMENT = ("likes", "shares", "comments", "follows", "completes", "replays")


# ---------------------------------------------------------------------------- ranges


@dataclass(frozen=True)
class Period:
    """Whole local days ``first``..``last`` in ``tz``, as the UTC instants [start, end)."""

    first: date
    last: date
    tz: str
    start: datetime
    end: datetime

    def days(self) -> list[tuple[date, datetime, datetime]]:
        zone = ZoneInfo(self.tz)
        out = []
        d = self.first
        while d <= self.last:
            out.append((d, _local_midnight(d, zone), _local_midnight(d + timedelta(days=1), zone)))
            d += timedelta(days=1)
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"start": self.first.isoformat(), "end": self.last.isoformat(), "tz": self.tz}


def _local_midnight(d: date, zone: ZoneInfo) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=zone).astimezone(UTC)


def period(start: date | None, end: date | None, tz: str | None, default_days: int = 28) -> Period:
    """The days asked for (``end`` included), by default the last ``default_days`` to today."""
    name = tz or "UTC"
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BadRange(
            f"Unknown time zone {name!r} (an IANA name such as Europe/Paris)", code="unknown_time_zone"
        ) from exc
    today = utcnow().astimezone(zone).date()
    last = end or today
    first = start or last - timedelta(days=default_days - 1)
    if first > last:
        raise BadRange("start is after end", code="invalid_range")
    if (last - first).days + 1 > MAX_DAYS:
        raise BadRange(f"At most {MAX_DAYS} days at a time", code="range_too_long")
    return Period(
        first, last, name, _local_midnight(first, zone), _local_midnight(last + timedelta(days=1), zone)
    )


def _pieces(start: datetime, end: datetime) -> list[tuple[int, datetime, datetime]]:
    """[start, end) as (grain, from, to) pieces: full UTC weeks at the week grain, the other full
    UTC days at the day grain, the rest in quarter hours."""
    start, end = as_utc(start), as_utc(end)
    day_lo = start.replace(hour=0, minute=0, second=0, microsecond=0)
    if day_lo < start:
        day_lo += timedelta(days=1)
    day_hi = end.replace(hour=0, minute=0, second=0, microsecond=0)
    if day_lo >= day_hi:
        return [(QUARTER, start, end)]
    week_lo = day_lo + timedelta(days=-day_lo.weekday() % 7)  # the first Monday from day_lo
    week_hi = day_hi - timedelta(days=day_hi.weekday())  # the last Monday up to day_hi
    if week_lo < week_hi:
        pieces = [(WEEK, week_lo, week_hi), (DAY, day_lo, week_lo), (DAY, week_hi, day_hi)]
    else:
        pieces = [(DAY, day_lo, day_hi)]
    pieces += [(QUARTER, start, day_lo), (QUARTER, day_hi, end)]
    return [(grain, lo, hi) for grain, lo, hi in pieces if lo < hi]


# ---------------------------------------------------------------------------- reading rollups


@dataclass
class Figures:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    filtered: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    orders: int = 0
    units: int = 0
    revenue: dict[str, int] = field(default_factory=dict)  # currency -> minor units
    reach: int | None = None
    commission: dict[str, int] | None = None

    def add_sales(
        self, currency: str, orders: Any, units: Any, revenue: Any, booked: Any, sign: int = 1
    ) -> None:
        """Add (``sign`` 1) or take out (-1) sales rows' sums: orders, units, revenue, commission."""
        self.orders += sign * int(orders or 0)
        self.units += sign * int(units or 0)
        self.revenue[currency] = self.revenue.get(currency, 0) + sign * int(revenue or 0)
        if self.commission is None:
            self.commission = {}
        self.commission[currency] = self.commission.get(currency, 0) + sign * int(booked or 0)

    def in_largest_currency(self) -> tuple[str | None, int, int | None]:
        """(currency, revenue, commission) in the currency with the most revenue (commission:
        ``None`` when unknown; all currencies' when there is no revenue)."""
        revenue = sorted(self.revenue.items(), key=lambda kv: -kv[1])
        currency, revenue_minor = revenue[0] if revenue else (None, 0)
        booked = None
        if self.commission is not None:
            booked = self.commission.get(currency, 0) if currency else sum(self.commission.values())
        return currency, revenue_minor, booked

    def add_counts(self, values: Sequence[int], filtered: bool) -> None:
        target = self.filtered if filtered else self.counts
        for name, value in zip(COUNTS, values, strict=True):
            target[name] += int(value or 0)


def _chunks(ids: list[uuid.UUID], size: int = 2000) -> Iterable[list[uuid.UUID]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def engagement_totals(
    session: Session, kind: str, ids: list[uuid.UUID], start: datetime, end: datetime
) -> dict[uuid.UUID, Figures]:
    """Per entity: its engagement counts over [start, end) (organic and filtered)."""
    out: dict[uuid.UUID, Figures] = defaultdict(Figures)
    e = AnalyticsEngagement
    sums = [func.sum(getattr(e, c)) for c in COUNTS]
    for grain, lo, hi in _pieces(start, end):
        for chunk in _chunks(ids):
            query = (
                select(e.entity_id, e.filtered, *sums)
                .where(
                    e.entity_kind == kind,
                    e.entity_id.in_(chunk),
                    e.grain == grain,
                    e.bucket >= lo,
                    e.bucket < hi,
                )
                .group_by(e.entity_id, e.filtered)
            )
            for row in session.execute(query):
                out[row[0]].add_counts(row[2:], bool(row[1]))
    return out


def _summed_sales(
    session: Session, model: Any, key: Any, where: Sequence[Any], start: datetime, end: datetime
) -> dict[uuid.UUID, Figures]:
    """Per ``key`` (an entity or seller column of ``model``, a sales rollup): the sums of its rows
    matching ``where`` over [start, end), read piece by piece (``_pieces``)."""
    out: dict[uuid.UUID, Figures] = defaultdict(Figures)
    counters = (model.orders, model.units, model.revenue_minor, model.commission_minor)
    for grain, lo, hi in _pieces(start, end):
        query = (
            select(key, model.currency, *[func.sum(c) for c in counters])
            .where(*where, model.grain == grain, model.bucket >= lo, model.bucket < hi)
            .group_by(key, model.currency)
        )
        for entity, currency, orders, units, revenue, booked in session.execute(query):
            out[entity].add_sales(currency, orders, units, revenue, booked)
    return out


def sales_totals(
    session: Session, kind: str, ids: list[uuid.UUID], start: datetime, end: datetime
) -> dict[uuid.UUID, Figures]:
    s = AnalyticsSales
    out: dict[uuid.UUID, Figures] = {}
    for chunk in _chunks(ids):  # (the chunks' entities are distinct)
        out.update(
            _summed_sales(
                session, s, s.entity_id, (s.entity_kind == kind, s.entity_id.in_(chunk)), start, end
            )
        )
    return out


def reach(
    session: Session, kind: str, ids: list[uuid.UUID], start: datetime, end: datetime
) -> dict[uuid.UUID, int]:
    """Distinct organic viewers per entity over [start, end) (clips, creators, merchants)."""
    r = AnalyticsReach
    out: dict[uuid.UUID, int] = {}
    for chunk in _chunks(ids):
        # DISTINCT, then counted: PostgreSQL hashes the pairs (COUNT(DISTINCT) always sorts them)
        viewers = (
            select(r.entity_id, r.user_id)
            .where(
                r.entity_kind == kind,
                r.entity_id.in_(chunk),
                r.bucket >= as_utc(start),
                r.bucket < as_utc(end),
            )
            .distinct()
            .subquery()
        )
        query = select(viewers.c.entity_id, func.count()).group_by(viewers.c.entity_id)
        out.update({entity: int(n) for entity, n in session.execute(query)})
    return out


def figures(
    session: Session,
    kind: str,
    ids: list[uuid.UUID],
    p: Period,
    *,
    with_reach: bool = False,
) -> dict[uuid.UUID, Figures]:
    """Engagement, sales, commission (and reach) of entities over a period."""
    out: dict[uuid.UUID, Figures] = {i: Figures() for i in ids}
    for entity, f in engagement_totals(session, kind, ids, p.start, p.end).items():
        out[entity].counts, out[entity].filtered = f.counts, f.filtered
    for entity, f in sales_totals(session, kind, ids, p.start, p.end).items():
        out[entity].orders, out[entity].units, out[entity].revenue = f.orders, f.units, f.revenue
        out[entity].commission = f.commission
    if with_reach and kind in ("clip", "creator", "merchant"):
        for entity, n in reach(session, kind, ids, p.start, p.end).items():
            out[entity].reach = n
        for f in out.values():
            if f.reach is None:
                f.reach = 0
    _settle_commission(out.values())
    return out


def _settle_commission(figs: Iterable[Figures]) -> None:
    """Commission (rolled up with the sales, see ``app/analytics/commission.py``) is zero where no
    sale was read, and unknown (``None``) everywhere when this service has no creator programme."""
    booked = commission.available()
    for f in figs:
        f.commission = (f.commission or {}) if booked else None


def _ratio(num: float, den: float) -> float | None:
    return round(num / den, 6) if den else None


def present(f: Figures) -> dict[str, Any]:
    """The figures of one row, as the API and CSV give them (see the module for definitions)."""
    c = f.counts
    likes = c["likes"] - c["unlikes"]
    comments = c["comments"] - c["uncomments"]
    currency, revenue_minor, commission_minor = f.in_largest_currency()
    roi = _ratio(revenue_minor, commission_minor) if commission_minor else None
    revenue = sorted(f.revenue.items(), key=lambda kv: -kv[1])
    flt = f.filtered
    return {
        "impressions": c["impressions"],
        "reach": f.reach,
        "views": c["views"],
        "avg_watch_ms": round(c["watch_ms"] / c["views"]) if c["views"] else None,
        "completion_rate": _ratio(c["completes"], c["views"]),
        "likes": likes,
        "shares": c["shares"],
        "comments": comments,
        "follows": c["follows"] - c["unfollows"],
        "engagement_rate": _ratio(likes + c["shares"] + comments, c["impressions"]),
        "product_taps": c["product_taps"],
        "tap_through_rate": _ratio(c["product_taps"], c["impressions"]),
        "add_to_carts": c["add_to_carts"],
        "orders": f.orders,
        "units": f.units,
        "revenue_minor": revenue_minor,
        "currency": currency,
        "revenue_by_currency": [{"currency": k, "revenue_minor": v} for k, v in revenue],
        "conversion_rate": _ratio(f.orders, c["product_taps"]),
        "commission_minor": commission_minor,
        "roi": roi,
        "filtered": {
            "impressions": flt["impressions"],
            "views": flt["views"],
            "likes": flt["likes"] - flt["unlikes"],
            "shares": flt["shares"],
            "comments": flt["comments"] - flt["uncomments"],
            "follows": flt["follows"] - flt["unfollows"],
            "completes": flt["completes"],
        },
    }


QUARTER_HOUR = timedelta(minutes=15)


def _midnight(at: datetime) -> datetime:
    return at.replace(hour=0, minute=0, second=0, microsecond=0)


def _day_plan(
    p: Period,
) -> tuple[dict[datetime, int], dict[datetime, list[tuple[int, int]]]]:
    """How each local day of the period is made of rollup rows: ``{UTC day: local day index}``
    (the day rows that count whole) and ``{quarter hour: [(local day index, +1 or -1)]}`` (the
    quarter rows added or taken out at its edges). A local day [lo, hi) is the UTC days between
    the midnights nearest to lo and hi, plus [lo, that midnight) or minus [that midnight, lo), and
    likewise at hi: at most 12 hours of quarter rows a day (Paris: one hour, Kolkata: five and a
    half), instead of all 96."""
    whole: dict[datetime, int] = {}
    edges: dict[datetime, list[tuple[int, int]]] = defaultdict(list)

    def edge(index: int, a: datetime, b: datetime, sign: int) -> None:
        q = a
        while q < b:
            edges[q].append((index, sign))
            q += QUARTER_HOUR

    for index, (_, lo, hi) in enumerate(p.days()):
        lo, hi = as_utc(lo), as_utc(hi)
        d_lo, d_hi = _midnight(lo + timedelta(hours=12)), _midnight(hi + timedelta(hours=12))
        d = d_lo
        while d < d_hi:
            whole[d] = index
            d += timedelta(days=1)
        if lo < d_lo:
            edge(index, lo, d_lo, 1)
        else:
            edge(index, d_lo, lo, -1)
        if d_hi < hi:
            edge(index, d_hi, hi, 1)
        else:
            edge(index, hi, d_hi, -1)
    return whole, edges


def daily(session: Session, kind: str, entity_id: uuid.UUID, p: Period) -> list[dict[str, Any]]:
    """One entity's figures per local day of the period: UTC day rows, corrected at each local
    day's edges with quarter-hour rows (``_day_plan``)."""
    days = p.days()
    per_day = [Figures() for _ in days]
    whole, edges = _day_plan(p)
    first, last = min(whole, default=p.start), max(whole, default=p.start)

    def rows(model: Any, columns: list[Any]) -> Iterable[tuple[list[tuple[int, int]], Any]]:
        """(the local days and signs a row counts for, the row) of the day rows and edge rows."""
        where = (model.entity_kind == kind, model.entity_id == entity_id)
        query = select(model.bucket, *columns).where(
            *where, model.grain == DAY, model.bucket >= first, model.bucket <= last
        )
        for row in session.execute(query):
            index = whole.get(as_utc(row[0]))
            if index is not None:
                yield [(index, 1)], row
        # the edge quarters as runs of consecutive quarters, a range each (one index descent a
        # run instead of one a quarter: Kolkata's edges are ~2,000 quarters in 90 runs)
        runs: list[list[datetime]] = []
        for q in sorted(edges):
            if runs and runs[-1][1] == q:
                runs[-1][1] = q + QUARTER_HOUR
            else:
                runs.append([q, q + QUARTER_HOUR])
        for start in range(0, len(runs), 200):
            ranges = [and_(model.bucket >= lo, model.bucket < hi) for lo, hi in runs[start : start + 200]]
            query = select(model.bucket, *columns).where(*where, model.grain == QUARTER, or_(*ranges))
            for row in session.execute(query):
                yield edges[as_utc(row[0])], row

    e = AnalyticsEngagement
    for targets, row in rows(e, [e.filtered, *[getattr(e, c) for c in COUNTS]]):
        for index, sign in targets:
            per_day[index].add_counts([sign * int(v or 0) for v in row[2:]], bool(row[1]))
    s = AnalyticsSales
    for targets, (_, currency, orders, units, revenue, booked) in rows(
        s, [s.currency, s.orders, s.units, s.revenue_minor, s.commission_minor]
    ):
        for index, sign in targets:
            per_day[index].add_sales(currency, orders, units, revenue, booked, sign=sign)
    _settle_commission(per_day)
    return [{"day": d.isoformat(), **present(f)} for (d, _, _), f in zip(days, per_day, strict=True)]


# ---------------------------------------------------------------------------- access


def creator_of_clip(session: Session, clip_id: uuid.UUID) -> uuid.UUID | None:
    m = AnalyticsClipMap
    return session.scalar(select(m.entity_id).where(m.clip_id == clip_id, m.entity_kind == "creator"))


def merchants_of_clip(session: Session, clip_id: uuid.UUID) -> set[uuid.UUID]:
    m = AnalyticsClipMap
    return set(session.scalars(select(m.entity_id).where(m.clip_id == clip_id, m.entity_kind == "merchant")))


def clips_of(session: Session, kind: str, entity_id: uuid.UUID) -> list[uuid.UUID]:
    m = AnalyticsClipMap
    return list(session.scalars(select(m.clip_id).where(m.entity_kind == kind, m.entity_id == entity_id)))


def organisation_of(session: Session, user: User) -> uuid.UUID | None:
    return accounts_service.get_merchant_organisation_id(session, user.id)


def check_clip_access(session: Session, user: User, clip_id: uuid.UUID) -> None:
    if user.role == Role.admin:
        return
    if creator_of_clip(session, clip_id) == user.id:
        return
    org = organisation_of(session, user)
    if org is not None and org in merchants_of_clip(session, clip_id):
        return
    raise NotAllowed("Only the clip's creator, merchants whose products it carries, and admins")


def check_creator_reader(session: Session, user: User, creator_id: uuid.UUID) -> None:
    """A creator's figures: the creator, merchants and admins."""
    if user.id == creator_id or user.role == Role.admin or organisation_of(session, user) is not None:
        return
    raise NotAllowed("Only the creator, merchants and admins")


# ---------------------------------------------------------------------------- tables


def rows_for(
    session: Session, kind: str, ids: list[uuid.UUID], p: Period, *, with_reach: bool = False
) -> list[tuple[uuid.UUID, dict[str, Any]]]:
    figs = figures(session, kind, ids, p, with_reach=with_reach)
    return [(i, present(figs[i])) for i in ids]


def _top(rows: list[dict[str, Any]], n: int = 10) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: (-r["revenue_minor"], -r["orders"], -r["impressions"]))[:n]


def creator_dashboard(session: Session, creator_id: uuid.UUID, p: Period) -> dict[str, Any]:
    totals = figures(session, "creator", [creator_id], p, with_reach=True)[creator_id]
    clip_ids = clips_of(session, "creator", creator_id)
    clips = [{"clip_id": str(i), **row} for i, row in rows_for(session, "clip", clip_ids, p, with_reach=True)]
    clips.sort(key=lambda r: (-r["impressions"], r["clip_id"]))
    return {
        "period": p.as_dict(),
        "totals": present(totals),
        "daily": daily(session, "creator", creator_id, p),
        "clips": clips,
        "audience": audience(session, creator_id, p),
        "authenticity": creator_authenticity(session, creator_id, p),
    }


def merchant_dashboard(session: Session, organisation_id: uuid.UUID, p: Period) -> dict[str, Any]:
    totals = figures(session, "merchant", [organisation_id], p, with_reach=True)[organisation_id]
    skus = catalog_service.organisation_skus(session, organisation_id)
    sku_figs = figures(session, "sku", [s.id for s in skus], p)
    sku_rows = [
        {
            "sku_id": str(s.id),
            "product_id": str(s.product_id),
            "code": s.code,
            "title": s.title,
            **present(sku_figs[s.id]),
        }
        for s in skus
    ]
    # the clips and creators that sell this merchant's products: the ten that sold most of them
    # (ranked on the merchant's seller rollups alone; full figures for those ten only)
    top_clips = _top_sellers(session, organisation_id, "clip", p)
    clip_rows = [
        {"clip_id": str(i), **row, "merchant_sales": _merchant_sales(top_clips[i])}
        for i, row in rows_for(session, "clip", list(top_clips), p)
    ]
    top_creators = _top_sellers(session, organisation_id, "creator", p)
    profiles = accounts_service.get_creator_profiles(session, list(top_creators))
    creator_rows = [
        {
            "creator_id": str(i),
            "handle": profiles[i].handle if i in profiles else None,
            **row,
            "merchant_sales": _merchant_sales(top_creators[i]),
        }
        for i, row in rows_for(session, "creator", list(top_creators), p)
    ]
    return {
        "period": p.as_dict(),
        "totals": present(totals),
        "daily": daily(session, "merchant", organisation_id, p),
        "skus": sku_rows,
        "top_clips": clip_rows,
        "top_creators": creator_rows,
    }


def _top_sellers(
    session: Session, organisation_id: uuid.UUID, kind: str, p: Period, n: int = 10
) -> dict[uuid.UUID, Figures]:
    """The ``n`` clips or creators (``kind``) that sold most of the merchant's products in the
    period, best first, with those sales (orders, units, revenue): by revenue (all currencies),
    then orders; fewer than ``n`` sellers: after them, the first clips (in id order) that carry
    its products, or the creators of those clips."""
    s = AnalyticsSeller
    where = (s.organisation_id == organisation_id, s.seller_kind == kind)
    sales = _summed_sales(session, s, s.seller_id, where, p.start, p.end)
    ranked = sorted(
        (i for i, f in sales.items() if f.orders or any(f.revenue.values())),
        key=lambda i: (-sum(sales[i].revenue.values()), -sales[i].orders, str(i)),
    )[:n]
    if len(ranked) < n:  # (a merchant with few sales: the first clips that carry its products)
        chosen = set(ranked)
        others = [i for i in _carriers(session, organisation_id, kind, 2 * n) if i not in chosen]
        ranked += others[: n - len(ranked)]
    top = {i: sales.get(i) or Figures() for i in ranked}
    _settle_commission(top.values())
    return top


def _carriers(session: Session, organisation_id: uuid.UUID, kind: str, limit: int) -> list[uuid.UUID]:
    """The first ``limit`` clips (in id order) that carry the merchant's products, or the creators
    of such clips (in the order of their first such clip), without reading every carrying clip:
    all of them and their creators took 0.6-0.75 s for 8,700 clips."""
    m = AnalyticsClipMap
    clips = select(m.clip_id).where(m.entity_kind == "merchant", m.entity_id == organisation_id)
    if kind == "clip":
        return list(session.scalars(clips.order_by(m.clip_id).limit(limit)))
    creators: list[uuid.UUID] = []
    taken = 0
    while len(creators) < limit:
        page = list(session.scalars(clips.order_by(m.clip_id).offset(taken).limit(8 * limit)))
        if not page:
            break
        taken += len(page)
        of = dict(
            session.execute(
                select(m.clip_id, m.entity_id).where(m.entity_kind == "creator", m.clip_id.in_(page))
            ).all()  # type: ignore[arg-type]
        )
        for clip in page:
            creator = of.get(clip)
            if creator is not None and creator not in creators:
                creators.append(creator)
    return creators[:limit]


def _merchant_sales(f: Figures) -> dict[str, Any]:
    """A seller's sales of one merchant's products and the commission they cost it (in the largest
    currency, as ``present``)."""
    currency, revenue_minor, booked = f.in_largest_currency()
    return {
        "orders": f.orders,
        "units": f.units,
        "revenue_minor": revenue_minor,
        "currency": currency,
        "commission_minor": booked,
    }


def admin_overview(session: Session, p: Period) -> dict[str, Any]:
    totals = figures(session, "all", [ALL], p)[ALL]
    e = AnalyticsEngagement
    creator_ids = list(
        session.scalars(
            select(e.entity_id)
            .where(
                e.entity_kind == "creator",
                e.grain == DAY,
                e.bucket >= p.start - timedelta(days=1),
                e.bucket < p.end,
            )
            .group_by(e.entity_id)
            .order_by(func.sum(e.impressions).desc())
            .limit(50)
        )
    )
    profiles = accounts_service.get_creator_profiles(session, creator_ids)
    creators = [
        {"creator_id": str(i), "handle": profiles[i].handle if i in profiles else None, **row}
        for i, row in rows_for(session, "creator", creator_ids, p)
    ]
    a = AnalyticsAccount
    flagged = session.scalar(select(func.count()).where(a.flagged_at.is_not(None))) or 0
    return {
        "period": p.as_dict(),
        "totals": present(totals),
        "daily": daily(session, "all", ALL, p),
        "top_creators": _top(creators, 20),
        "flagged_accounts": int(flagged),
    }


def entity_report(session: Session, kind: str, entity_id: uuid.UUID, p: Period) -> dict[str, Any]:
    totals = figures(session, kind, [entity_id], p, with_reach=True)[entity_id]
    return {
        "entity": {"kind": kind, "id": str(entity_id)},
        "period": p.as_dict(),
        "totals": present(totals),
        "daily": daily(session, kind, entity_id, p),
    }


# ---------------------------------------------------------------------------- audience


def audience(session: Session, creator_id: uuid.UUID, p: Period) -> dict[str, Any]:
    """Who watches a creator: interests of engaged viewers, new vs returning, follower growth."""
    v = AnalyticsCreatorViewer
    viewers = session.execute(
        select(v.user_id, v.first_at, v.engagements).where(
            v.creator_id == creator_id, v.last_at >= p.start, v.first_at < p.end
        )
    ).all()
    # reach in the period is the organic viewers seen in it; new ones were first seen in it
    seen = reach(session, "creator", [creator_id], p.start, p.end).get(creator_id, 0)
    new = sum(1 for _, first, _ in viewers if as_utc(first) >= p.start)
    engaged = [u for u, _, n in viewers if n > 0]
    weights = interests_service.interest_weights_for_users(session, engaged[:20_000])
    mass: dict[str, float] = defaultdict(float)
    for per_user in weights.values():
        total = sum(w for w in per_user.values() if w > 0)
        for slug, w in per_user.items():
            if w > 0 and total:
                mass[slug] += w / total
    whole = sum(mass.values())
    interests = [
        {"interest": slug, "share": round(m / whole, 4)}
        for slug, m in sorted(mass.items(), key=lambda kv: -kv[1])
    ][:20]
    growth = [
        {"day": row["day"], "follows": row["follows"]} for row in daily(session, "creator", creator_id, p)
    ]
    followers = feed_service.follower_counts(session, [creator_id]).get(creator_id, 0)
    return {
        "period": p.as_dict(),
        "engaged_viewers": len(engaged),
        "viewer_interests": interests,
        "new_viewers": min(new, seen),
        "returning_viewers": max(seen - new, 0),
        "followers": followers,
        "follower_growth": growth,
    }


# ---------------------------------------------------------------------------- authenticity

RATIO_FACTOR = 3.0  # a ratio this many times its baseline is an outlier
RATIO_MIN_VIEWS = 100


def creator_authenticity(session: Session, creator_id: uuid.UUID, p: Period | None = None) -> dict[str, Any]:
    """``{"score", "flagged_share", "flags": [{"code", "detail", "share"}], "period"}``."""
    p = p or period(None, None, "UTC")
    f = engagement_totals(session, "creator", [creator_id], p.start, p.end).get(creator_id, Figures())
    organic = sum(f.counts[k] for k in ENGAGEMENT)
    filtered = sum(f.filtered[k] for k in ENGAGEMENT)
    total = organic + filtered
    flags: list[dict[str, Any]] = []
    t = AnalyticsFlagTally
    for code, n in session.execute(
        select(t.code, func.sum(t.events))
        .where(t.creator_id == creator_id, t.day >= p.start - timedelta(days=1), t.day < p.end)
        .group_by(t.code)
    ):
        if n and total:
            flags.append(
                {
                    "code": code,
                    "detail": authenticity.CODES.get(code, code),
                    "share": round(min(1.0, n / total), 4),
                }
            )
    flagged_share = filtered / total if total else 0.0
    ratio_penalty = 0.0
    for code, num_key in (("like_ratio_outlier", "likes"), ("follow_ratio_outlier", "follows")):
        outlier = _ratio_outlier(session, creator_id, p, num_key, f)
        if outlier is not None:
            share, detail = outlier
            flags.append({"code": code, "detail": detail, "share": round(share, 4)})
            ratio_penalty = max(ratio_penalty, share)
    score = round(100 * (1 - flagged_share) * (1 - 0.5 * ratio_penalty))
    flags.sort(key=lambda fl: -fl["share"])
    return {
        "score": max(0, min(100, score)),
        "flagged_share": round(flagged_share, 4),
        "flags": flags,
        "period": p.as_dict(),
    }


def _ratio_outlier(
    session: Session, creator_id: uuid.UUID, p: Period, key: str, f: Figures
) -> tuple[float, str] | None:
    """(share of the engagement above its baseline, detail) when the creator's organic
    ``key``-per-view ratio in the period is far above its own previous 8 weeks and the median of
    creators with views in the period; else ``None``."""
    views = f.counts["views"] or f.counts["impressions"]
    if views < RATIO_MIN_VIEWS:
        return None
    value = (f.counts[key] - f.counts["un" + key]) / views
    history = engagement_totals(session, "creator", [creator_id], p.start - timedelta(days=56), p.start).get(
        creator_id
    )
    baselines = []
    if history is not None:
        hv = history.counts["views"] or history.counts["impressions"]
        if hv >= RATIO_MIN_VIEWS:
            baselines.append((history.counts[key] - history.counts["un" + key]) / hv)
    baselines.append(_peer_median(session, p, key))
    baseline = max(baselines)
    if baseline <= 0 or value <= RATIO_FACTOR * baseline:
        return None
    share = (value - baseline) / value
    return share, f"{key} per view {value:.3f} against a baseline of {baseline:.3f}"


def _peer_median(session: Session, p: Period, key: str) -> float:
    e = AnalyticsEngagement
    rows = session.execute(
        select(
            func.sum(getattr(e, key)) - func.sum(getattr(e, "un" + key)),
            func.sum(e.views),
            func.sum(e.impressions),
        )
        .where(
            e.entity_kind == "creator",
            e.grain == DAY,
            e.filtered.is_(False),
            e.bucket >= p.start - timedelta(days=1),
            e.bucket < p.end,
        )
        .group_by(e.entity_id)
    ).all()
    ratios = sorted((n or 0) / (v or i) for n, v, i in rows if (v or i or 0) >= RATIO_MIN_VIEWS)
    return ratios[len(ratios) // 2] if ratios else 0.0


def review_queue(session: Session, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """Accounts flagged repeatedly (most flags first), a cursor page."""
    from app.config import get_settings

    a = AnalyticsAccount
    query = (
        select(a)
        .where(a.flags >= get_settings().analytics_review_min_flags)
        .order_by(a.flags.desc(), a.user_id)
    )
    offset = _offset(cursor)
    rows = list(session.scalars(query.offset(offset).limit(limit + 1)))
    items = [
        {
            "user_id": str(r.user_id),
            "flags": r.flags,
            "codes": (r.codes or "").split(",") if r.codes else [],
            "detail": r.detail,
            "flagged_at": r.flagged_at,
            "engagements": r.engagements,
            "last_seen_at": r.last_seen_at,
        }
        for r in rows[:limit]
    ]
    return items, _next_cursor(offset + limit) if len(rows) > limit else None


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        value = int(base64.urlsafe_b64decode(cursor.encode() + b"==").decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRange("Invalid cursor", code="invalid_cursor") from exc
    if value < 0:
        raise BadRange("Invalid cursor", code="invalid_cursor")
    return value


def _next_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(str(offset).encode()).decode().rstrip("=")


# ---------------------------------------------------------------------------- discovery

DISCOVERY_DAYS = 90
SORTS = ("relevance", "engagement_rate", "conversion_rate", "followers", "authenticity")


def _admitted_creators(session: Session) -> set[uuid.UUID] | None:
    """Creators admitted to the creator programme, or ``None`` when there is no programme here
    (then every creator is ranked)."""
    try:
        from app.creators import service as creators_service  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    admitted = getattr(creators_service, "admitted_creator_ids", None)
    return None if admitted is None else set(admitted(session))


def merchant_interests(session: Session, organisation_id: uuid.UUID) -> dict[str, float]:
    skus = catalog_service.organisation_skus(session, organisation_id)
    slugs = catalog_service.product_interest_slugs(session, {s.product_id for s in skus})
    weights: dict[str, float] = defaultdict(float)
    for product_slugs in slugs.values():
        for slug in product_slugs:
            weights[slug] += 1.0 / len(product_slugs)
    return dict(weights)


def _audience_mix(
    session: Session, creator_ids: list[uuid.UUID], start: datetime
) -> dict[uuid.UUID, dict[str, float]]:
    """Per creator: interest shares of the viewers who engaged since ``start`` (organic)."""
    v = AnalyticsCreatorViewer
    engaged: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for chunk in _chunks(creator_ids):
        for creator, user in session.execute(
            select(v.creator_id, v.user_id).where(
                v.creator_id.in_(chunk), v.engagements > 0, v.last_at >= start
            )
        ):
            engaged[creator].append(user)
    users = sorted({u for us in engaged.values() for u in us}, key=str)
    weights = interests_service.interest_weights_for_users(session, users)
    out: dict[uuid.UUID, dict[str, float]] = {}
    for creator, us in engaged.items():
        mass: dict[str, float] = defaultdict(float)
        for u in us:
            per = weights.get(u, {})
            total = sum(w for w in per.values() if w > 0)
            for slug, w in per.items():
                if w > 0 and total:
                    mass[slug] += w / total
        whole = sum(mass.values())
        out[creator] = {k: m / whole for k, m in mass.items()} if whole else {}
    return out


def discover(
    session: Session,
    organisation_id: uuid.UUID,
    *,
    interest: str | None,
    min_authenticity: int | None,
    min_followers: int | None,
    sort: str,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Creators ranked for a merchant, with the evidence (see the README)."""
    p = period(None, None, "UTC", DISCOVERY_DAYS)
    e = AnalyticsEngagement
    candidates = list(
        session.scalars(
            select(e.entity_id)
            .where(e.entity_kind == "creator", e.grain == DAY, e.bucket >= p.start - timedelta(days=1))
            .group_by(e.entity_id)
        )
    )
    admitted = _admitted_creators(session)
    if admitted is not None:
        candidates = [c for c in candidates if c in admitted]
    profiles = accounts_service.get_creator_profiles(session, candidates)
    candidates = [c for c in candidates if c in profiles]
    figs = figures(session, "creator", candidates, p)
    followers = feed_service.follower_counts(session, candidates)
    wanted = merchant_interests(session, organisation_id)
    if interest:
        wanted = {interest: 1.0}
    wanted_total = sum(wanted.values())
    mix = _audience_mix(session, candidates, p.start)
    results = []
    for c in candidates:
        f = figs[c]
        auth = creator_authenticity(session, c, p)
        if min_authenticity is not None and auth["score"] < min_authenticity:
            continue
        if min_followers is not None and followers.get(c, 0) < min_followers:
            continue
        shares = mix.get(c, {})
        match = (
            sum(shares.get(slug, 0.0) * w for slug, w in wanted.items()) / wanted_total
            if wanted_total
            else 0.0
        )
        if interest and match <= 0:
            continue
        shown = present(f)
        results.append(
            {
                "creator_id": str(c),
                "handle": profiles[c].handle,
                "display_name": profiles[c].display_name,
                "followers": followers.get(c, 0),
                "audience_match": round(match, 4),
                "engagement_rate": shown["engagement_rate"],
                "conversion_rate": shown["conversion_rate"],
                "authenticity": {k: auth[k] for k in ("score", "flagged_share", "flags")},
                "evidence": {
                    "period": p.as_dict(),
                    "impressions": shown["impressions"],
                    "likes": shown["likes"],
                    "shares": shown["shares"],
                    "product_taps": shown["product_taps"],
                    "orders": shown["orders"],
                    "revenue_minor": shown["revenue_minor"],
                    "currency": shown["currency"],
                    "filtered": shown["filtered"],
                    "top_audience_interests": [
                        {"interest": k, "share": round(v, 4)}
                        for k, v in sorted(shares.items(), key=lambda kv: -kv[1])[:5]
                    ],
                },
            }
        )
    max_er = max((r["engagement_rate"] or 0 for r in results), default=0) or 1.0
    max_cv = max((r["conversion_rate"] or 0 for r in results), default=0) or 1.0
    for r in results:
        quality = (
            0.4 * r["audience_match"]
            + 0.3 * (r["engagement_rate"] or 0) / max_er
            + 0.3 * (r["conversion_rate"] or 0) / max_cv
        )
        r["relevance"] = round(quality * (r["authenticity"]["score"] / 100) ** 2, 6)
    keys = {
        "relevance": lambda r: -r["relevance"],
        "engagement_rate": lambda r: -(r["engagement_rate"] or 0),
        "conversion_rate": lambda r: -(r["conversion_rate"] or 0),
        "followers": lambda r: -r["followers"],
        "authenticity": lambda r: -r["authenticity"]["score"],
    }
    results.sort(key=lambda r: (keys[sort](r), -r["relevance"], r["handle"]))
    offset = _offset(cursor)
    page = results[offset : offset + limit]
    return page, _next_cursor(offset + limit) if offset + limit < len(results) else None


def shortlist_add(
    session: Session, organisation_id: uuid.UUID, handle: str, note: str | None
) -> dict[str, Any]:
    profile = accounts_service.get_creator_by_handle(session, handle)
    row = session.get(AnalyticsShortlist, (organisation_id, profile.user_id))
    if row is None:
        row = AnalyticsShortlist(
            organisation_id=organisation_id, creator_id=profile.user_id, note=note, created_at=utcnow()
        )
        session.add(row)
    else:
        row.note = note
    session.flush()
    return {
        "creator_id": str(profile.user_id),
        "handle": profile.handle,
        "note": row.note,
        "created_at": row.created_at,
    }


def shortlist_remove(session: Session, organisation_id: uuid.UUID, handle: str) -> None:
    profile = accounts_service.get_creator_by_handle(session, handle)
    row = session.get(AnalyticsShortlist, (organisation_id, profile.user_id))
    if row is not None:
        session.delete(row)
        session.flush()


def shortlist(
    session: Session, organisation_id: uuid.UUID, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    s = AnalyticsShortlist
    offset = _offset(cursor)
    rows = list(
        session.scalars(
            select(s)
            .where(s.organisation_id == organisation_id)
            .order_by(s.created_at.desc(), s.creator_id)
            .offset(offset)
            .limit(limit + 1)
        )
    )
    profiles = accounts_service.get_creator_profiles(session, [r.creator_id for r in rows])
    items = [
        {
            "creator_id": str(r.creator_id),
            "handle": profiles[r.creator_id].handle if r.creator_id in profiles else None,
            "note": r.note,
            "created_at": r.created_at,
            "authenticity": creator_authenticity(session, r.creator_id)["score"],
        }
        for r in rows[:limit]
    ]
    return items, _next_cursor(offset + limit) if len(rows) > limit else None


# ---------------------------------------------------------------------------- CSV

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """A cell safe to open in a spreadsheet: text starting like a formula is prefixed with ``'``
    (OWASP's advice); numbers stay numbers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return "" if isinstance(value, float) and math.isnan(value) else str(value)
    if isinstance(value, datetime):
        return as_utc(value).isoformat().replace("+00:00", "Z")
    text = str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def flatten(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, dict):
            for k, v in flatten(value).items():
                out[f"{key}_{k}"] = v
        elif isinstance(value, list):
            out[key] = ";".join(
                " ".join(str(x) for x in item.values()) if isinstance(item, dict) else str(item)
                for item in value
            )
        else:
            out[key] = value
    return out


def to_csv(rows: list[dict[str, Any]]) -> str:
    flat = [flatten(r) for r in rows]
    columns: list[str] = []
    for r in flat:
        for k in r:
            if k not in columns:
                columns.append(k)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_cell(c) for c in columns])
    for r in flat:
        writer.writerow([csv_cell(r.get(c)) for c in columns])
    return buffer.getvalue()
