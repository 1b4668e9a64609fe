"""Engagement authenticity: which accounts' engagement is not to be believed.

Checked on every aggregation run's slice of the event log (``check_slice``, called by
``rollups.fold_slice`` inside the aggregator's transaction), from what each event records (the
account's kind and creation time, ``X-Device-Id``, the client address) and a little state per
account, device, address and target. An account is flagged when one of these holds:

* ``engagement_burst`` / ``follow_spike`` — at least ``analytics_burst_min_accounts`` fresh
  (younger than ``analytics_fresh_account_seconds``) or dormant (silent for longer than
  ``analytics_dormant_seconds``) accounts liked, shared or completed the same clip (or followed
  the same creator) within one ``analytics_burst_window_seconds`` window: all of them are flagged;
* ``engagement_without_watching`` — at least ``analytics_no_watch_min_events`` of the account's
  likes, shares or completes (and at least half of them) came with no view progress of the clip
  (no ``view_progress`` with progress or watch time so far, ``analytics_watch``; no ``watch_ms``
  on the event itself);
* ``shared_device`` — more than ``analytics_device_max_accounts`` engaging accounts behind one
  ``X-Device-Id``; ``shared_address`` — more than ``analytics_ip_max_fresh_accounts`` fresh
  engaging accounts behind one client address (addresses are shared by households and carriers,
  so only fresh accounts count there);
* ``concentrated_on_creator`` — a fresh account with at least
  ``analytics_concentration_min_events`` engagements, 90 % or more of them on one creator.

A flagged account's events (of the last ``analytics_flag_lookback_days`` already counted, this
slice's, and every later one) are flagged: they count in analytics only as "filtered", and are
discounted from the feed's counters, likes, follows and each engine's quality and trending
(``feed_service.discount_events``). Each run in which a rule fires for an account adds one to
its ``flags``; accounts with ``analytics_review_min_flags`` or more are listed for review.

Creator-level ratios (likes per view, follows per view far above the creator's own history and
the creators of the same interest) do not flag accounts; they are flags of the creator's
authenticity answer (``creator_authenticity``).
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, bindparam, func, select, text
from sqlalchemy.orm import Session

from app.analytics import sql
from app.analytics.models import (
    AnalyticsAccount,
    AnalyticsAccountCreator,
    AnalyticsBurstEngager,
    AnalyticsFlagTally,
    AnalyticsSharedKey,
)
from app.config import get_settings
from app.db import as_utc, utcnow
from app.feed import service as feed_service

ENGAGEMENT_KINDS = ("like", "share", "complete", "replay", "follow")
WATCH_NEEDED = ("like", "share", "complete", "replay")

CODES = {
    "engagement_burst": "a burst of engagement from new or dormant accounts",
    "follow_spike": "a burst of follows from new or dormant accounts",
    "engagement_without_watching": "likes or completes without watching the clip",
    "shared_device": "many accounts behind one device",
    "shared_address": "many new accounts behind one network address",
    "concentrated_on_creator": "new accounts engaging almost only with this creator",
    "like_ratio_outlier": "likes per view far above the creator's history and peers",
    "follow_ratio_outlier": "follows per view far above the creator's history and peers",
}


class Engagement(NamedTuple):
    id: int
    user_id: uuid.UUID
    type: str
    clip_id: uuid.UUID | None
    creator_id: uuid.UUID | None
    at: datetime
    device_id: str | None
    client_ip: str | None
    created_at: datetime | None
    unwatched: bool


def _uuid(value: Any) -> uuid.UUID | None:
    if value is None:
        return None
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return as_utc(value)


def _users_param(name: str) -> Any:
    return bindparam(name, expanding=True, type_=AnalyticsAccount.__table__.c.user_id.type)


def read_engagement(session: Session, events: str, params: dict[str, Any]) -> list[Engagement]:
    kinds = ", ".join(f"'{k}'" for k in ENGAGEMENT_KINDS)
    need = ", ".join(f"'{k}'" for k in WATCH_NEEDED)
    # the slice's own views first: a like and the view before it often arrive in one batch
    session.execute(
        text(
            "INSERT INTO analytics_watch (user_id, clip_id) SELECT DISTINCT e.user_id, e.clip_id "
            f"FROM {events} AS e WHERE e.type = 'view_progress' AND e.clip_id IS NOT NULL "
            "AND (e.progress > 0 OR e.watch_ms > 0) ON CONFLICT (user_id, clip_id) DO NOTHING"
        ),
        params,
    )
    rows = session.execute(
        text(
            "SELECT e.id, e.user_id, e.type, e.clip_id, COALESCE(d.creator_id, e.creator_id), e.client_at, "
            "e.device_id, e.client_ip, e.account_created_at, "
            f"CASE WHEN e.type IN ({need}) AND COALESCE(e.watch_ms, 0) = 0 AND NOT EXISTS ("
            "SELECT 1 FROM analytics_watch AS w WHERE w.user_id = e.user_id AND w.clip_id = e.clip_id) "
            "THEN 1 ELSE 0 END "
            f"FROM {events} AS e LEFT JOIN analytics_clip_dim AS d ON d.clip_id = e.clip_id "
            f"WHERE e.type IN ({kinds})"
        ),
        params,
    ).all()
    return [
        Engagement(
            int(r[0]),
            _uuid(r[1]),  # type: ignore[arg-type]
            r[2],
            _uuid(r[3]),
            _uuid(r[4]),
            _time(r[5]),  # type: ignore[arg-type]
            r[6],
            r[7],
            _time(r[8]),
            bool(r[9]),
        )
        for r in rows
    ]


def _window(at: datetime, seconds: int) -> datetime:
    epoch = int(at.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=at.tzinfo)


def _insert(session: Session, model: Any) -> Any:
    from app.analytics.rollups import _insert as insert

    return insert(session, model)


def check_slice(session: Session, events: str, selection: str, params: dict[str, Any]) -> list[int]:
    """Flag accounts from a slice's engagement, and discount their events (see the module).
    Returns the ids of the slice's events flagged now."""
    settings = get_settings()
    rows = read_engagement(session, events, params)
    users_in_slice = [
        _uuid(r[0])
        for r in session.execute(
            text(f"SELECT DISTINCT e.user_id FROM {events} AS e"),
            params,
        ).all()
    ]
    accounts = {
        a.user_id: a
        for a in session.scalars(
            select(AnalyticsAccount).where(AnalyticsAccount.user_id.in_([u for u in users_in_slice if u]))
        )
    }
    fresh_s = timedelta(seconds=settings.analytics_fresh_account_seconds)
    dormant_s = timedelta(seconds=settings.analytics_dormant_seconds)
    flagged: dict[uuid.UUID, tuple[str, str]] = {}  # account -> (code, detail)

    def flag(user: uuid.UUID, code: str, detail: str) -> None:
        flagged.setdefault(user, (code, detail))

    # --- per account: fresh or dormant, engagement counts, unwatched share
    first_at: dict[uuid.UUID, datetime] = {}
    for r in rows:
        if r.user_id not in first_at or r.at < first_at[r.user_id]:
            first_at[r.user_id] = r.at

    dormant_users = {
        u
        for u, at in first_at.items()
        if (a := accounts.get(u)) is not None and at - as_utc(a.last_seen_at) > dormant_s
    }

    def fresh_or_dormant(r: Engagement) -> bool:
        return (r.created_at is not None and r.at - r.created_at < fresh_s) or r.user_id in dormant_users

    engaged = Counter(r.user_id for r in rows if r.type in WATCH_NEEDED)
    unwatched = Counter(r.user_id for r in rows if r.unwatched)
    for user in engaged:
        account = accounts.get(user)
        total = engaged[user] + (account.engagements if account else 0)
        blind = unwatched[user] + (account.unwatched if account else 0)
        if blind >= settings.analytics_no_watch_min_events and 2 * blind >= total:
            flag(user, "engagement_without_watching", f"{blind} of {total} engagements without watching")

    # --- bursts of fresh / dormant accounts on one target per window
    window = settings.analytics_burst_window_seconds
    burst_rows: list[dict[str, Any]] = []
    for r in rows:
        if not fresh_or_dormant(r):
            continue
        target = r.creator_id if r.type == "follow" else r.clip_id
        if target is None:
            continue
        burst_rows.append({"target_id": target, "window_start": _window(r.at, window), "user_id": r.user_id})
    if burst_rows:
        session.execute(_insert(session, AnalyticsBurstEngager).on_conflict_do_nothing(), burst_rows)
        keys: set[tuple[uuid.UUID, datetime]] = {(b["target_id"], b["window_start"]) for b in burst_rows}
        follow_targets = {r.creator_id for r in rows if r.type == "follow"}
        be = AnalyticsBurstEngager
        crowded = _crowded(
            session,
            select(be.target_id, be.window_start, func.count())
            .where(be.target_id.in_(list({t for t, _ in keys})))
            .group_by(be.target_id, be.window_start),
            keys,
            settings.analytics_burst_min_accounts - 1,
        )
        for target, window_start in crowded:
            users = list(
                session.scalars(
                    select(be.user_id).where(be.target_id == target, be.window_start == window_start)
                )
            )
            code = "follow_spike" if target in follow_targets else "engagement_burst"
            for user in users:
                flag(user, code, f"{len(users)} new or dormant accounts within {window // 60} minutes")

    # --- many accounts behind one device / fresh accounts behind one address
    shared_rows = []
    for r in rows:
        if r.device_id:
            shared_rows.append(
                {"key_kind": "device", "key": r.device_id, "user_id": r.user_id, "first_at": r.at}
            )
        if r.client_ip and fresh_or_dormant(r):
            shared_rows.append({"key_kind": "ip", "key": r.client_ip, "user_id": r.user_id, "first_at": r.at})
    if shared_rows:
        session.execute(_insert(session, AnalyticsSharedKey).on_conflict_do_nothing(), shared_rows)
        sk = AnalyticsSharedKey
        for kind, limit in (
            ("device", settings.analytics_device_max_accounts),
            ("ip", settings.analytics_ip_max_fresh_accounts),
        ):
            wanted = {s["key"] for s in shared_rows if s["key_kind"] == kind}
            if not wanted:
                continue
            crowded_keys = _crowded(
                session,
                select(sk.key, func.count())
                .where(sk.key_kind == kind, sk.key.in_(list(wanted)))
                .group_by(sk.key),
                None,
                limit,
            )
            for (key,) in crowded_keys:
                users = list(session.scalars(select(sk.user_id).where(sk.key_kind == kind, sk.key == key)))
                code = "shared_device" if kind == "device" else "shared_address"
                for user in users:
                    flag(
                        user,
                        code,
                        f"{len(users)} accounts behind one {'device' if kind == 'device' else 'address'}",
                    )

    # --- fresh accounts engaging almost only with one creator
    per_creator: dict[tuple[uuid.UUID, uuid.UUID], int] = Counter(
        (r.user_id, r.creator_id)
        for r in rows
        if r.creator_id is not None and r.type in ("like", "share", "follow")
    )
    if per_creator:
        stmt = _insert(session, AnalyticsAccountCreator)
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["user_id", "creator_id"],
                set_={"engagements": AnalyticsAccountCreator.engagements + stmt.excluded.engagements},
            ),
            [{"user_id": u, "creator_id": c, "engagements": n} for (u, c), n in per_creator.items()],
        )
        fresh_users = {r.user_id for r in rows if r.created_at is not None and r.at - r.created_at < fresh_s}
        if fresh_users:
            ac = AnalyticsAccountCreator
            spread: dict[uuid.UUID, list[int]] = defaultdict(list)
            for user, n in session.execute(
                select(ac.user_id, ac.engagements).where(ac.user_id.in_(list(fresh_users)))
            ):
                spread[user].append(n)
            for user, counts in spread.items():
                total = sum(counts)
                if total >= settings.analytics_concentration_min_events and max(counts) >= 0.9 * total:
                    flag(
                        user,
                        "concentrated_on_creator",
                        f"{max(counts)} of {total} engagements on one creator",
                    )

    # --- account state
    now = utcnow()
    _update_accounts(session, events, params, engaged, unwatched, flagged, now)

    # --- flag the events of flagged accounts: this slice's, and the recent ones already counted
    known_flagged = {u for u, a in accounts.items() if a.flagged_at is not None}
    targets = list(
        set(flagged) | (known_flagged & set(first_at)) | _flagged_in_slice(session, events, params)
    )
    if not targets:
        return []
    lookback = now - timedelta(days=settings.analytics_flag_lookback_days)
    newly: list[tuple[int, bool]] = []
    for start in range(0, len(targets), 500):
        chunk = targets[start : start + 500]
        newly += [
            (int(i), bool(a))
            for i, a in session.execute(
                text(
                    "UPDATE feed_event SET flagged = true WHERE user_id IN :users AND NOT flagged "
                    f"AND (aggregated OR ({selection})) AND client_at >= :lookback RETURNING id, aggregated"
                ).bindparams(
                    _users_param("users"),
                    bindparam("lookback", type_=AnalyticsAccount.__table__.c.last_seen_at.type),
                ),
                {**params, "users": chunk, "lookback": lookback},
            ).all()
        ]
    if not newly:
        return []
    from app.analytics.rollups import move_to_filtered

    ids = sorted(i for i, _ in newly)
    move_to_filtered(session, sorted(i for i, aggregated in newly if aggregated))
    _tally(session, ids, flagged, accounts)
    if flagged:  # their views no longer count in organic reach
        session.execute(
            text("DELETE FROM analytics_reach WHERE user_id IN :users").bindparams(_users_param("users")),
            {"users": list(flagged)},
        )
    for start in range(0, len(ids), 5000):
        feed_service.discount_events(session, f"id IN ({sql.id_list(ids[start : start + 5000])})", {})
    return [i for i, aggregated in newly if not aggregated]


def _crowded(session: Session, counted: Any, keys: set[Any] | None, limit: int) -> list[tuple[Any, ...]]:
    """The groups of ``counted`` (key columns..., count) with more than ``limit`` accounts (and
    among ``keys`` when given): one grouped query instead of one per key."""
    out = []
    for row in session.execute(counted):
        key = tuple(
            _time(v) if isinstance(v, str | datetime) and not isinstance(v, uuid.UUID) and _is_time(v) else v
            for v in row[:-1]
        )
        if row[-1] > limit and (keys is None or key in keys):
            out.append(key)
    return out


def _is_time(value: Any) -> bool:
    return isinstance(value, datetime)


def _flagged_in_slice(session: Session, events: str, params: dict[str, Any]) -> set[uuid.UUID]:
    """Accounts flagged before (not seen by the rules in this slice) that have events in it."""
    rows = session.execute(
        text(
            f"SELECT DISTINCT e.user_id FROM {events} AS e JOIN analytics_account AS a ON a.user_id = e.user_id "
            "WHERE a.flagged_at IS NOT NULL"
        ),
        params,
    ).all()
    return {u for r in rows if (u := _uuid(r[0])) is not None}


def _update_accounts(
    session: Session,
    events: str,
    params: dict[str, Any],
    engaged: Counter[uuid.UUID],
    unwatched: Counter[uuid.UUID],
    flagged: dict[uuid.UUID, tuple[str, str]],
    now: datetime,
) -> None:
    first = sql.least(session, "analytics_account.first_seen_at", "excluded.first_seen_at")
    last = sql.greatest(session, "analytics_account.last_seen_at", "excluded.last_seen_at")
    session.execute(
        text(
            "INSERT INTO analytics_account (user_id, first_seen_at, last_seen_at, engagements, unwatched, flags) "
            f"SELECT e.user_id, MIN(e.client_at), MAX(e.client_at), 0, 0, 0 FROM {events} AS e "
            "WHERE true GROUP BY e.user_id "
            f"ON CONFLICT (user_id) DO UPDATE SET first_seen_at = {first}, last_seen_at = {last}"
        ),
        params,
    )
    a = cast(Table, AnalyticsAccount.__table__)
    counts = [{"u": user, "e": engaged[user], "w": unwatched[user]} for user in set(engaged) | set(unwatched)]
    if counts:
        session.execute(
            a.update()
            .where(a.c.user_id == bindparam("u"))
            .values(engagements=a.c.engagements + bindparam("e"), unwatched=a.c.unwatched + bindparam("w")),
            counts,
        )
    if flagged:
        current = {
            acc.user_id: acc
            for acc in session.scalars(
                select(AnalyticsAccount).where(AnalyticsAccount.user_id.in_(list(flagged)))
            )
        }
        for user, (code, detail) in flagged.items():
            acc = current.get(user)
            if acc is None:
                continue
            acc.flags = (acc.flags or 0) + 1
            codes = acc.codes.split(",") if acc.codes else []
            if code not in codes:
                codes.append(code)
            acc.codes = ",".join(codes)
            acc.detail = detail
            if acc.flagged_at is None:
                acc.flagged_at = now
        session.flush()


def _tally(
    session: Session,
    ids: list[int],
    flagged: dict[uuid.UUID, tuple[str, str]],
    accounts: dict[uuid.UUID, AnalyticsAccount],
) -> None:
    """Per creator, day and code: the engagement events just discounted."""
    kinds = ", ".join(f"'{k}'" for k in ENGAGEMENT_KINDS)
    tally: Counter[tuple[uuid.UUID, datetime, str]] = Counter()
    for start in range(0, len(ids), 5000):
        chunk = sql.id_list(ids[start : start + 5000])
        day = sql.day(session, "e.client_at")
        for user, creator, bucket, n in session.execute(
            text(
                f"SELECT e.user_id, COALESCE(d.creator_id, e.creator_id), {day}, count(*) FROM feed_event AS e "
                "LEFT JOIN analytics_clip_dim AS d ON d.clip_id = e.clip_id "
                f"WHERE e.id IN ({chunk}) AND e.type IN ({kinds}) GROUP BY e.user_id, COALESCE(d.creator_id, e.creator_id), {day}"
            )
        ).all():
            u, c = _uuid(user), _uuid(creator)
            if u is None or c is None:
                continue
            if u in flagged:
                code = flagged[u][0]
            else:
                acc = accounts.get(u)
                code = (acc.codes or "engagement_burst").split(",")[0] if acc else "engagement_burst"
            tally[(c, _time(bucket), code)] += int(n)  # type: ignore[index]
    if not tally:
        return
    stmt = _insert(session, AnalyticsFlagTally)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["creator_id", "day", "code"],
            set_={"events": AnalyticsFlagTally.events + stmt.excluded.events},
        ),
        [{"creator_id": c, "day": d, "code": code, "events": n} for (c, d, code), n in tally.items()],
    )
