"""Folding the event log and the orders into the rollups, exactly once.

Engagement: ``fold_slice`` is registered with the feed's aggregator (``feed_service.on_aggregate``)
and runs in the aggregator's transaction on the aggregator's slice of the log, after the feed's
counters and before the slice is flagged aggregated. The aggregator's slices never overlap and
runs take turns, so every event is folded exactly once, in the same commit that makes it
"aggregated" (the pattern the feed's counters use; no second flag, index or cursor on the log).
Inside a run, in order:

1. the entity map of clips not mapped yet (or mapped more than ``MAP_STALE`` ago) is read from
   clips and tags (``analytics_clip_map``);
2. the authenticity checks (``authenticity.check_slice``) look at the slice's engagement and flag
   accounts; the events of flagged accounts (this slice's, and those of the last
   ``analytics_flag_lookback_days`` already counted) are flagged, moved from the organic to the
   "filtered" rollups, and discounted from the feed's counters and engines
   (``feed_service.discount_events``);
3. the slice is added to the rollups at every grain (quarter hour, day, week), split organic /
   filtered, and to reach and the creators' viewers (organic events only).

Sales: ``sync_orders`` diffs each order changed since the last sync against
``analytics_order_fact`` (is it counted?) and adds or takes out its contribution, so syncs can
overlap or repeat and each order is still counted once while it is paid.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.analytics import sql
from app.analytics.models import (
    DAY,
    GRAINS,
    QUARTER,
    WEEK,
    AnalyticsClipDim,
    AnalyticsClipMap,
    AnalyticsCursor,
    AnalyticsOrderFact,
    AnalyticsSales,
    AnalyticsSeller,
)
from app.catalog import service as catalog_service
from app.db import as_utc, is_postgres, utcnow
from app.feed import sources as feed_sources
from app.tags import service as tags_service

logger = logging.getLogger("clipshop.analytics")

ALL = uuid.UUID(int=0)  # the entity id of the "all" entity (the admin overview)
MAP_STALE = timedelta(minutes=10)  # a clip's tags are read again after this long

# rollup column -> the event kind it counts (watch_ms: summed over view progress events)
COUNTED: dict[str, str] = {
    "impressions": "impression",
    "views": "view_progress",
    "completes": "complete",
    "replays": "replay",
    "skips": "skip",
    "likes": "like",
    "unlikes": "unlike",
    "shares": "share",
    "comments": "comment",
    "uncomments": "uncomment",
    "product_taps": "product_tap",
    "add_to_carts": "add_to_cart",
}
ENGAGEMENT_COLUMNS = [*COUNTED, "watch_ms", "follows", "unfollows"]


def as_uuid(value: Any) -> uuid.UUID:
    """A UUID from what a raw query returns (a UUID on PostgreSQL, hex text on SQLite)."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _insert(session: Session, model: Any) -> Any:
    return (postgresql if is_postgres(session) else sqlite).insert(model)


# ---------------------------------------------------------------------------- entity map


def refresh_clip_map(session: Session, clip_ids: list[uuid.UUID]) -> None:
    """(Re)write the entity map of ``clip_ids`` from clips and tags."""
    if not clip_ids:
        return
    creators = feed_sources.clip_creators(session, clip_ids)
    skus_of = tags_service.active_tag_skus(session, clip_ids)
    sku_info = catalog_service.skus_for_checkout(session, {s for skus in skus_of.values() for s in skus})
    rows: list[dict[str, Any]] = []
    for clip_id in clip_ids:
        entities: set[tuple[str, uuid.UUID]] = {("clip", clip_id), ("all", ALL)}
        creator = creators.get(clip_id)
        if creator is not None:
            entities.add(("creator", creator))
        for sku_id in skus_of.get(clip_id, []):
            info = sku_info.get(sku_id)
            if info is not None:
                entities |= {
                    ("sku", sku_id),
                    ("product", info.product_id),
                    ("merchant", info.organisation_id),
                }
        rows += [{"clip_id": clip_id, "entity_kind": k, "entity_id": e} for k, e in entities]
    session.execute(delete(AnalyticsClipMap).where(AnalyticsClipMap.clip_id.in_(clip_ids)))
    session.execute(_insert(session, AnalyticsClipMap).on_conflict_do_nothing(), rows)
    now = utcnow()
    dims = [{"clip_id": c, "creator_id": creators.get(c), "refreshed_at": now} for c in clip_ids]
    stmt = _insert(session, AnalyticsClipDim)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["clip_id"],
            set_={"creator_id": stmt.excluded.creator_id, "refreshed_at": stmt.excluded.refreshed_at},
        ),
        dims,
    )


def _map_slice_clips(session: Session, events: str, params: dict[str, Any]) -> None:
    stale = utcnow() - MAP_STALE
    rows = session.execute(
        text(
            f"SELECT DISTINCT e.clip_id FROM {events} AS e LEFT JOIN analytics_clip_dim AS d "
            "ON d.clip_id = e.clip_id WHERE e.clip_id IS NOT NULL AND (d.clip_id IS NULL OR d.refreshed_at < :stale)"
        ).bindparams(_stamp("stale")),
        {**params, "stale": stale},
    ).all()
    clip_ids = [as_uuid(r[0]) for r in rows]
    for start in range(0, len(clip_ids), 2000):
        refresh_clip_map(session, clip_ids[start : start + 2000])


def _stamp(name: str) -> Any:
    from sqlalchemy import bindparam

    return bindparam(name, type_=AnalyticsClipDim.__table__.c.refreshed_at.type)


# ---------------------------------------------------------------------------- engagement rollups


def _engagement_sums(prefix: str = "e.") -> list[str]:
    sums = [f"SUM(CASE WHEN {prefix}type = '{kind}' THEN 1 ELSE 0 END)" for kind in COUNTED.values()]
    sums.append(f"COALESCE(SUM(CASE WHEN {prefix}type = 'view_progress' THEN {prefix}watch_ms END), 0)")
    sums += ["0", "0"]  # follows, unfollows: counted for creators, below
    return sums


SCRATCH = "analytics_fold_quarters"


def _scratch(session: Session) -> str:
    """The connection's scratch table of quarter-hour rows, created once per connection (not once
    per run: no catalogue churn on PostgreSQL) and empty when returned."""
    if is_postgres(session):
        counts = ", ".join(f"{c} bigint" for c in ENGAGEMENT_COLUMNS)
        session.execute(
            text(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {SCRATCH} (entity_kind varchar(8), entity_id uuid, "
                f"bucket timestamptz, filtered boolean, {counts}) ON COMMIT DELETE ROWS"
            )
        )
    else:  # no declared types: the values keep the storage class the rollups expect
        session.execute(
            text(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {SCRATCH} "
                f"(entity_kind, entity_id, bucket, filtered, {', '.join(ENGAGEMENT_COLUMNS)})"
            )
        )
    session.execute(text(f"DELETE FROM {SCRATCH}"))  # (used twice in one transaction: move_to_filtered)
    return SCRATCH


def _upsert_engagement(
    session: Session,
    events: str,
    params: dict[str, Any],
    *,
    sign: int = 1,
    filtered: str = "e.flagged",
) -> None:
    """Add (``sign`` 1) or take out (-1) ``events`` (a subquery of ``feed_event`` rows) in the
    engagement rollups, at every grain, as organic or filtered per ``filtered`` (an expression).

    The events are joined to their entities and grouped once, per quarter hour, into a scratch
    table; the quarter rows are upserted from it, and the day and week rows from it grouped by day
    and week (the coarser grains do not read the events again: measured, the fold's largest
    statement)."""
    columns = ", ".join(ENGAGEMENT_COLUMNS)
    update = ", ".join(f"{c} = analytics_engagement.{c} + excluded.{c}" for c in ENGAGEMENT_COLUMNS)
    neg = "" if sign > 0 else "-"
    scratch = _scratch(session)
    quarter = sql.quarter(session, "e.client_at")
    clip_sums = ", ".join(
        f"{neg}{s} AS {c}" for s, c in zip(_engagement_sums(), ENGAGEMENT_COLUMNS, strict=True)
    )
    zeros = ", ".join(f"0 AS {c}" for c in ENGAGEMENT_COLUMNS[:-2])
    session.execute(
        text(
            f"INSERT INTO {scratch} (entity_kind, entity_id, bucket, filtered, {columns}) "
            f"SELECT m.entity_kind AS entity_kind, m.entity_id AS entity_id, {quarter} AS bucket, "
            f"{filtered} AS filtered, {clip_sums} "
            # CROSS JOIN: the events drive the join (SQLite otherwise may scan the events once per
            # map row: there is no index on the log's clip id)
            f"FROM {events} AS e CROSS JOIN analytics_clip_map AS m "
            "WHERE m.clip_id = e.clip_id AND e.type NOT IN ('follow', 'unfollow') "
            # by position: ``filtered`` may be a constant, which PostgreSQL refuses to group by
            "GROUP BY 1, 2, 3, 4 "
            "UNION ALL "
            f"SELECT 'creator', e.creator_id, {quarter}, {filtered}, {zeros}, "
            f"{neg}SUM(CASE WHEN e.type = 'follow' THEN 1 ELSE 0 END), "
            f"{neg}SUM(CASE WHEN e.type = 'unfollow' THEN 1 ELSE 0 END) "
            f"FROM {events} AS e WHERE e.type IN ('follow', 'unfollow') AND e.creator_id IS NOT NULL "
            "GROUP BY 1, 2, 3, 4"
        ),
        params,
    )
    sums = ", ".join(f"SUM(q.{c})" for c in ENGAGEMENT_COLUMNS)
    for grain, bucket in (
        # (the quarter rows grouped again too: a creator's follow row and its clips' row share a key)
        (QUARTER, "q.bucket"),
        (DAY, sql.day(session, "q.bucket")),
        (WEEK, sql.week(session, "q.bucket")),
    ):
        select_rows = (
            f"SELECT q.entity_kind, q.entity_id, {grain}, {bucket}, q.filtered, {sums} FROM {scratch} AS q "
            f"GROUP BY q.entity_kind, q.entity_id, {bucket}, q.filtered"
        )
        session.execute(
            text(
                f"INSERT INTO analytics_engagement (entity_kind, entity_id, grain, bucket, filtered, {columns}) "
                f"{select_rows} ON CONFLICT (entity_kind, entity_id, grain, bucket, filtered) DO UPDATE SET {update}"
            )
        )
    session.execute(text(f"DELETE FROM {scratch}"))


def _add_viewers(session: Session, events: str, params: dict[str, Any]) -> None:
    """Organic reach (who saw what, per quarter hour) and the creators' viewers."""
    quarter = sql.quarter(session, "e.client_at")
    session.execute(
        text(
            "INSERT INTO analytics_reach (entity_kind, entity_id, bucket, user_id) "
            f"SELECT DISTINCT m.entity_kind, m.entity_id, {quarter}, e.user_id FROM {events} AS e "
            "CROSS JOIN analytics_clip_map AS m "
            "WHERE m.clip_id = e.clip_id AND NOT e.flagged AND e.type IN ('impression', 'view_progress') "
            "AND m.entity_kind IN ('clip', 'creator', 'merchant') "
            "ON CONFLICT (entity_kind, entity_id, bucket, user_id) DO NOTHING"
        ),
        params,
    )
    first = sql.least(session, "analytics_creator_viewer.first_at", "excluded.first_at")
    last = sql.greatest(session, "analytics_creator_viewer.last_at", "excluded.last_at")
    session.execute(
        text(
            "INSERT INTO analytics_creator_viewer (creator_id, user_id, first_at, last_at, engagements) "
            "SELECT m.entity_id, e.user_id, MIN(e.client_at), MAX(e.client_at), "
            "SUM(CASE WHEN e.type IN ('like', 'share', 'complete', 'replay', 'product_tap', 'add_to_cart') "
            "THEN 1 ELSE 0 END) "
            f"FROM {events} AS e CROSS JOIN analytics_clip_map AS m "
            "WHERE m.clip_id = e.clip_id AND m.entity_kind = 'creator' AND NOT e.flagged GROUP BY m.entity_id, e.user_id "
            f"ON CONFLICT (creator_id, user_id) DO UPDATE SET first_at = {first}, last_at = {last}, "
            "engagements = analytics_creator_viewer.engagements + excluded.engagements"
        ),
        params,
    )


SLICE_COLUMNS = (
    "id, user_id, type, clip_id, creator_id, watch_ms, progress, client_at, device_id, client_ip, "
    "account_guest, account_created_at, flagged, aggregated"
)
SLICE = "analytics_slice"


def _slice_snapshot(session: Session, source: str, selection: str, params: dict[str, Any]) -> str:
    """PostgreSQL: the slice's events copied once into a temporary table (emptied at commit), which
    every statement of the fold then reads. Measured on a 50,000-event slice: reading the slice
    through ``id IN (the slice's ids)`` costs 90-170 ms a statement (index lookups, or a scan of
    the whole log), reading the copy 15 ms, and the fold reads the slice about ten times (the fold
    of a live tail went from 17,300 to 20,100 events/s: bench/README.md). SQLite reads the pending
    events by their index in each statement."""
    session.execute(
        text(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {SLICE} ON COMMIT DELETE ROWS AS "
            f"SELECT {SLICE_COLUMNS} FROM feed_event WITH NO DATA"
        )
    )
    session.execute(text(f"DELETE FROM {SLICE}"))
    session.execute(
        text(f"INSERT INTO {SLICE} SELECT {SLICE_COLUMNS} FROM {source} WHERE {selection}"), params
    )
    # its size and the spread of the join keys, for the joins' plans (measured: without them the
    # reach statement took twice as long); a small sample is enough for that
    session.execute(text("SET LOCAL default_statistics_target = 10"))
    session.execute(text(f"ANALYZE {SLICE} (user_id, clip_id, type)"))
    session.execute(text("RESET default_statistics_target"))
    return SLICE


def fold_slice(session: Session, source: str, selection: str, params: dict[str, Any]) -> None:
    """Fold one aggregation run's slice of the event log (see the module)."""
    from app.analytics import authenticity

    if is_postgres(session):
        events = _slice_snapshot(session, source, selection, params)
    else:
        events = f"(SELECT {SLICE_COLUMNS} FROM {source} WHERE {selection})"
    _map_slice_clips(session, events, params)
    flagged_now = authenticity.check_slice(session, events, selection, params)
    if flagged_now and events == SLICE:  # the copy follows the log
        for start in range(0, len(flagged_now), 5000):
            ids = sql.id_list(flagged_now[start : start + 5000])
            session.execute(text(f"UPDATE {SLICE} SET flagged = true WHERE id IN ({ids})"))
    _upsert_engagement(session, events, params)
    _add_viewers(session, events, params)


def move_to_filtered(session: Session, ids: list[int]) -> None:
    """Events already in the rollups as organic, just flagged: moved to "filtered"."""
    for start in range(0, len(ids), 5000):
        chunk = sql.id_list(ids[start : start + 5000])
        events = f"(SELECT * FROM feed_event WHERE id IN ({chunk}))"
        _upsert_engagement(session, events, {}, sign=-1, filtered="false")
        _upsert_engagement(session, events, {}, sign=1, filtered="true")


# ---------------------------------------------------------------------------- sales

ORDER_CURSOR = "orders"
ORDER_OVERLAP = timedelta(minutes=5)  # re-read orders updated this long before the cursor


def bucket_of(at: datetime, grain: int) -> datetime:
    """The bucket of an instant at a grain (UTC; weeks from Monday)."""
    at = as_utc(at)
    if grain == QUARTER:
        return at.replace(minute=at.minute - at.minute % 15, second=0, microsecond=0)
    midnight = at.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight if grain == DAY else midnight - timedelta(days=midnight.weekday())


Line = tuple[int, int, int]  # a counted order line: (units, revenue, commission), minor units


def order_contributions(
    order: Any, counted: dict[uuid.UUID, Line]
) -> dict[tuple[str, uuid.UUID, str], tuple[int, ...]]:
    """(entity kind, entity id, currency) -> (orders, units, revenue, commission) of one order
    whose lines count ``counted`` (``{line id: (units, revenue, commission)}``: net of partial
    refunds and their commission reversals): each entity counts the order once and the lines that
    concern it."""
    per: dict[tuple[str, uuid.UUID, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    currency = order.currency
    for line in order.lines:
        figures = counted.get(line.id, (0, 0, 0))
        keys = [
            ("all", ALL),
            ("sku", line.sku_id),
            ("product", line.product_id),
            ("merchant", line.organisation_id),
        ]
        if order.clip_id is not None:
            keys.append(("clip", order.clip_id))
        if order.creator_id is not None:
            keys.append(("creator", order.creator_id))
        for kind, entity in keys:
            total = per[(kind, entity, currency)]
            for i, value in enumerate(figures):
                total[i] += value
    return {key: (1, *total) for key, total in per.items()}


def seller_contributions(
    order: Any, counted: dict[uuid.UUID, Line]
) -> dict[tuple[uuid.UUID, str, uuid.UUID, str], tuple[int, ...]]:
    """(merchant, seller kind, seller id, currency) -> (orders, units, revenue, commission) of one
    order attributed to a clip or a creator (its sellers): each merchant of the order counts it
    once, with its own lines (as the merchant entity does in ``order_contributions``)."""
    sellers = [(k, v) for k, v in (("clip", order.clip_id), ("creator", order.creator_id)) if v is not None]
    per: dict[tuple[uuid.UUID, str, uuid.UUID, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for line in order.lines:
        figures = counted.get(line.id, (0, 0, 0))
        for kind, seller in sellers:
            total = per[(line.organisation_id, kind, seller, order.currency)]
            for i, value in enumerate(figures):
                total[i] += value
    return {key: (1, *total) for key, total in per.items()}


SALES_KEY = ["entity_kind", "entity_id", "grain", "bucket", "currency"]
SELLER_KEY = ["organisation_id", "seller_kind", "seller_id", "grain", "bucket", "currency"]


COUNTERS = ("orders", "units", "revenue_minor", "commission_minor")


def _sales_rows(
    order: Any,
    counted: dict[uuid.UUID, Line],
    paid_at: datetime,
    sign: int,
    into: dict[tuple[Any, ...], list[int]],
    sellers_into: dict[tuple[Any, ...], list[int]],
) -> None:
    """Add an order's contribution (``sign`` 1) or its removal (-1) to ``into`` (keyed like
    ``analytics_sales``: ``SALES_KEY``) and ``sellers_into`` (``analytics_seller``:
    ``SELLER_KEY``), at every grain, in the payment's buckets."""
    for contributions, target in (
        (order_contributions(order, counted), into),
        (seller_contributions(order, counted), sellers_into),
    ):
        for (*entity, currency), values in contributions.items():
            for grain in GRAINS:
                row = target.setdefault(
                    (*entity, grain, bucket_of(paid_at, grain), currency), [0] * len(COUNTERS)
                )
                for i, value in enumerate(values):
                    row[i] += sign * value


def _apply_sales(
    session: Session, model: Any, key: list[str], rows: dict[tuple[Any, ...], list[int]]
) -> None:
    """One statement for a page of orders (rows already summed per key: a statement may not
    update a row twice)."""
    if not rows:
        return
    stmt = _insert(session, model)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=key,
            set_={c: getattr(model, c) + getattr(stmt.excluded, c) for c in COUNTERS},
        ),
        [{**dict(zip(key, k, strict=True)), **dict(zip(COUNTERS, v, strict=True))} for k, v in rows.items()],
    )


def sync_orders(session: Session, page: int = 2000) -> int:
    """Bring the sales rollups in line with the orders changed since the last sync (exactly once
    per order state: see the module), a page of orders at a time. Returns how many orders were
    looked at."""
    from app.commerce import service as commerce_service

    if is_postgres(session):  # syncs take turns (the facts are read, then written)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": 0x636C6970_616E6C79})
    cursor = session.get(AnalyticsCursor, ORDER_CURSOR, with_for_update=is_postgres(session))
    since = as_utc(cursor.value) - ORDER_OVERLAP if cursor is not None else None
    after: tuple[datetime, uuid.UUID] | None = None
    newest = as_utc(cursor.value) if cursor is not None else None
    total = 0
    while True:
        orders = commerce_service.orders_changed_since(session, since, page, after=after)
        if not orders:
            break
        total += len(orders)
        _sync_page(session, orders, commerce_service)
        last = orders[-1]
        after = (as_utc(last.updated_at), last.id)
        newest = after[0] if newest is None else max(newest, after[0])
        session.flush()
        session.expunge_all()  # (a long pass: keep the identity map small)
        if len(orders) < page:
            break
    if newest is not None:
        if cursor is None:
            cursor = session.get(AnalyticsCursor, ORDER_CURSOR)
        if cursor is None:
            session.add(AnalyticsCursor(name=ORDER_CURSOR, value=newest))
        else:
            cursor.value = newest
    session.flush()
    return total


def _counted_lines(fact: AnalyticsOrderFact, order: Any) -> dict[uuid.UUID, Line]:
    """What the rollups hold for a counted order, line by line (facts written before partial
    refunds existed hold no lines: their order counted whole, without commission)."""
    if fact.lines is None:
        return {line.id: (line.quantity, line.line_total_minor, 0) for line in order.lines}
    return {
        uuid.UUID(key): (int(value[0]), int(value[1]), int(value[2]) if len(value) > 2 else 0)
        for key, value in fact.lines.items()
    }


def _sync_page(session: Session, orders: list[Any], commerce: Any) -> None:
    """Bring each order's contribution in line with what it is now: counted or not, net of its
    refunds (a partial refund takes its units and money out of the bucket of the payment) and
    with the commission its lines cost now (net of reversals)."""
    from app.analytics import commission

    facts = {
        f.order_id: f
        for f in session.scalars(
            select(AnalyticsOrderFact).where(AnalyticsOrderFact.order_id.in_([o.id for o in orders]))
        )
    }
    booked = commission.line_commissions(session, [o.id for o in orders if commerce.counts_as_sale(o)])
    now = utcnow()
    rows: dict[tuple[Any, ...], list[int]] = {}
    seller_rows: dict[tuple[Any, ...], list[int]] = {}
    for order in orders:
        wanted: dict[uuid.UUID, Line] | None = None
        if commerce.counts_as_sale(order):
            wanted = {
                line: (units, revenue, booked.get(line, 0))
                for line, (units, revenue) in commerce.sale_lines(order).items()
            }
        fact = facts.get(order.id)
        if fact is None:
            fact = AnalyticsOrderFact(order_id=order.id, counted=False, paid_at=None, synced_at=now)
            session.add(fact)
        held = _counted_lines(fact, order) if fact.counted else None
        if wanted != held:
            if held is not None:
                _sales_rows(order, held, fact.paid_at or order.paid_at, -1, rows, seller_rows)
            if wanted is not None:
                _sales_rows(order, wanted, order.paid_at, 1, rows, seller_rows)
            fact.counted = wanted is not None
            fact.paid_at = order.paid_at if wanted is not None else fact.paid_at
            fact.lines = None if wanted is None else {str(k): list(v) for k, v in wanted.items()}
        fact.synced_at = now
    _apply_sales(session, AnalyticsSales, SALES_KEY, rows)
    _apply_sales(session, AnalyticsSeller, SELLER_KEY, seller_rows)
