"""Keeping each API process's in-memory engine in step with the database.

The database is the source of truth; the engine is a per-process cache:

* **rebuild** (first use, or ``reset_runtime()``): servable clips with interests, tag/stock flags,
  follows, the most recent ``feed_rebuild_events`` events replayed in log order.
* **catch-up** (a background thread every ``feed_refresh_seconds``, and synchronously before a new
  feed session is ranked): events with an id above the high-water mark are applied; ids skipped
  in between (transactions that had not committed yet on PostgreSQL) are re-checked for a minute.
  Clips changed since the last sync are (de)activated; clips whose tagged SKUs' stock moved
  (``sku.stock_changed_at``) get their stock flag refreshed.

So every process converges on the same state within about a second, whichever process received
an event. Redis (when configured) holds the feed sessions, so any process can serve any cursor.
"""

from __future__ import annotations

import gc
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Hashable, Iterable
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import create_engine, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app.config import get_settings
from app.db import get_engine, new_session, utcnow
from app.feed import service, sources, writer
from app.feed.engine import EngineEvent, FeedEngine
from app.feed.events import EventType
from app.feed.models import CreatorFollow, FeedEvent
from app.interests import service as interests_service
from app.interests.models import UserInterest
from app.social import service as social_service

logger = logging.getLogger("clipshop.feed")

GAP_RECHECK_SECONDS = 60.0
# events the writer may hand over ahead of the catch-up (beyond that they are read from the log)
WRITTEN_MAX_ROWS = 200_000
AGGREGATE_LIMIT = 50_000  # events folded per aggregation run
_FOLLOWS = frozenset((EventType.follow.value, EventType.unfollow.value))
_generations = itertools.count(1)  # each rebuilt engine gets a new one (clip positions change)
# Onboarding picks read for a new session are reused for this long (a change made through this
# process is seen at once; through another process, within this time).
PICKS_CACHE_SECONDS = 5.0


def card_bytes(card: dict[str, Any]) -> bytes:
    card.pop("_version", None)
    return orjson.dumps(card)[:-1]


def _ts(value: datetime) -> float:
    return service.as_timestamp(value)


class FeedRuntime:
    def __init__(self) -> None:
        self.engine = FeedEngine()
        self.generation = next(_generations)
        self.loaded = False
        self.lock = threading.RLock()
        self.high_water = 0
        self.gaps: dict[int, float] = {}
        self.clips_synced_at: datetime | None = None
        self.stock_synced_at: datetime | None = None
        self.stock_seen: str | None = None
        self.tags_synced_at: datetime | None = None
        self._thread: threading.Thread | None = None
        # clip id (as its int: hashed in C, unlike a UUID) -> the clip's feed JSON without its
        # closing brace (counts are stitched in)
        self.cards: dict[int, bytes] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()
        # read-your-writes without a query per new session: when each catch-up started, and
        # when this process last committed events for each viewer
        self.catch_up_started = 0.0
        self.committed_for: dict[Hashable, float] = {}
        self.picks_read: dict[uuid.UUID, float] = {}  # viewer -> when its picks were last read
        # events this process's writer committed, not applied yet: first id -> (last id, rows)
        self._written: dict[int, tuple[int, list[EngineEvent]]] = {}
        self._written_rows = 0
        self._written_lock = threading.Lock()
        # retractions (events discounted after the fact): the last one read, the events the
        # engine has not applied yet (taken out once it has), and the first event it applied
        self.retraction_mark = 0
        self._retract_waiting: list[int] = []
        self.retract_floor = 0
        # the engine, and clip id text -> (its key, its index) there (see served_clip_by_text)
        self._clip_texts: tuple[FeedEngine, dict[str, tuple[uuid.UUID, int]]] = (self.engine, {})

    # ------------------------------------------------------------------ rebuild
    def ensure_loaded(self, session: Session) -> None:
        if not self.loaded:
            with self.lock:
                if not self.loaded:
                    self.rebuild(session)

    def rebuild(self, session: Session) -> None:
        started = time.perf_counter()
        engine = FeedEngine()
        now = utcnow()
        clips = sources.load_clips(session)
        cards = sources.clip_cards(session, None)
        session.rollback()  # never hold a transaction (on SQLite: the write lock) during CPU work
        self.cards = {clip_id.int: card_bytes(card) for clip_id, card in cards.items()}
        for row in clips:
            engine.upsert_clip(
                row.id, creator=row.creator_id, interests=row.interests, created_at=_ts(row.created_at)
            )
        for clip_id, (n_tags, in_stock) in sources.tag_stock(session).items():
            idx = engine.clip_index.get(clip_id)
            if idx is not None:
                engine.n_tags[idx] = n_tags
                engine.in_stock[idx] = in_stock
        follows = session.execute(select(CreatorFollow.user_id, CreatorFollow.creator_id)).all()
        session.rollback()
        for user_id, creator_id in follows:
            engine.follow(user_id, creator_id)
        limit = get_settings().feed_rebuild_events
        top = session.scalar(select(FeedEvent.id).order_by(FeedEvent.id.desc()).limit(1)) or 0
        self.engine = engine
        self._clip_texts = (engine, {})
        self.generation = next(_generations)
        self.picks_read = {}
        self.high_water = max(0, top - limit)
        self.gaps = {}
        with self._written_lock:  # read from the log instead
            self._written, self._written_rows = {}, 0
        self.clips_synced_at = now
        self.stock_synced_at = now
        self.tags_synced_at = now
        self.retraction_mark, self._retract_waiting, self.retract_floor = 0, [], self.high_water
        self._tail(session, batch=200_000, follows=False)
        self._retract(session)  # the replayed events discounted since (counters are set below)
        # Displayed counts come from the exact aggregates, not from the replayed window of events
        # (events aggregated later are added by the tail as they arrive).
        for row in service.all_clip_stats(session):
            engine.set_counters(
                row.clip_id,
                {
                    "impressions": row.impressions,
                    "views": row.views,
                    "completes": row.completes + row.replays,
                    "likes": row.likes,
                    "shares": row.shares,
                    "taps": row.product_taps,
                    "carts": row.add_to_carts,
                    "purchases": row.purchases,
                },
            )
        session.rollback()
        engine.compact()
        engine.refresh_pools()
        self.loaded = True
        # The engine holds millions of long-lived objects: keep them out of the cyclic GC's
        # full collections (which would otherwise pause requests for hundreds of ms).
        gc.collect()
        gc.freeze()
        logger.info(
            "feed engine rebuilt: %d clips, %d viewers in %.1fs",
            engine.n,
            len(engine.viewers),
            time.perf_counter() - started,
        )

    # ------------------------------------------------------------------ catch-up
    def written(self, first_id: int, last_id: int, rows: list[EngineEvent]) -> None:
        """The event writer of this process committed ``rows`` (as the engine takes them) as ids
        ``first_id..last_id``: kept for the next catch-up, which applies them in log order without
        reading them back. Anything doubtful is dropped here: the catch-up then reads those
        events from the log."""
        if not self.loaded or len(rows) != last_id - first_id + 1:
            return
        with self._written_lock:
            if last_id <= self.high_water or self._written_rows + len(rows) > WRITTEN_MAX_ROWS:
                return
            self._written[first_id] = (last_id, rows)
            self._written_rows += len(rows)

    def _next_written(self) -> int | None:
        """The first id of the earliest group the writer handed over (stale ones dropped)."""
        with self._written_lock:
            for first_id in [f for f in self._written if f <= self.high_water]:
                # the log was read past it meanwhile (its events came from there)
                self._written_rows -= len(self._written.pop(first_id)[1])
            return min(self._written, default=None)

    def _apply_written(self, first_id: int) -> int:
        """Apply the group starting at ``first_id``: every event before it has been applied."""
        with self._written_lock:
            last_id, rows = self._written.pop(first_id)
            self._written_rows -= len(rows)
        self.engine.apply_many(rows)
        self.high_water = last_id
        return len(rows)

    def served_clip_by_text(self, text: str) -> uuid.UUID | None:
        """The clip of a canonical id text when the engine serves it (its own key object, so
        that looking the clip up again is an identity hit), else ``None``."""
        engine, texts = self._clip_texts
        hit = texts.get(text)
        if hit is None:
            idx = engine.clip_index.get(uuid.UUID(text))
            if idx is None:
                return None
            key = engine.clip_keys[idx]
            if not isinstance(key, uuid.UUID):
                return None
            hit = texts[text] = (key, idx)
        return hit[0] if engine.active[hit[1]] else None

    def apply_rows(self, rows: Iterable[Any], follows: bool = True) -> None:
        """Apply rows of the event log to the engine (one ``apply_many`` call)."""
        events = (
            writer.engine_event(row)
            for row in rows
            # without ``follows``: the rebuild took them from creator_follow, the source of truth
            if follows or row.type not in _FOLLOWS
        )
        self.engine.apply_many(events)

    def _tail(self, session: Session, batch: int = 50_000, follows: bool = True) -> int:
        applied = 0
        now = time.monotonic()
        if (
            not self.gaps
            and self.loaded
            and not self._written
            and (service.last_event_id(session) or 0) <= self.high_water
        ):
            return 0  # nothing new: one primary-key lookup
        if self.gaps:
            late = service.events_by_ids(session, list(self.gaps))
            self.apply_rows(late, follows)
            for row in late:
                self.gaps.pop(row.id, None)
            applied += len(late)
            self.gaps = {i: t for i, t in self.gaps.items() if now - t < GAP_RECHECK_SECONDS}
        while True:
            # the log up to the next group this process's writer handed over, then that group
            before = self._next_written()
            rows = service.recent_events(session, self.high_water, batch, before=before)
            session.rollback()
            high_water = self.high_water
            for row in rows:
                if row.id > high_water + 1 and self.loaded:
                    for missing in range(high_water + 1, min(row.id, high_water + 1000)):
                        self.gaps[missing] = now
                high_water = row.id
            self.apply_rows(rows, follows)
            self.high_water = high_water
            applied += len(rows)
            if len(rows) == batch:
                continue
            if before is None:
                return applied
            # (only on SQLite: ids are taken in commit order there, so nothing can still arrive
            # below a committed group)
            applied += self._apply_written(before)

    def _retract(self, session: Session) -> int:
        """Take the events discounted since the last look out of the engine, once it has applied
        them (an event not applied yet waits: the tail applies every event, flagged or not)."""
        logged = service.retractions_after(session, self.retraction_mark)
        session.rollback()
        if logged:
            self.retraction_mark = logged[-1][0]
            floor = self.retract_floor
            self._retract_waiting += [event_id for _, event_id in logged if event_id > floor]
        if not self._retract_waiting:
            return 0
        high_water = self.high_water
        ready = [e for e in self._retract_waiting if e <= high_water]
        self._retract_waiting = [e for e in self._retract_waiting if e > high_water]
        if not ready:
            return 0
        rows = service.events_by_ids(session, ready)
        session.rollback()
        return self.engine.retract_many(writer.engine_event(row) for row in rows)

    def catch_up(self, session: Session, *, scans: bool = True) -> int:
        """Apply what changed in the database since the last catch-up. Cheap when nothing did.

        ``scans=False`` (a request, when the background thread runs): only the new events and the
        stock version; the background thread does the scans for changed clips and tags."""
        with self.lock:
            self.ensure_loaded(session)
            self.catch_up_started = time.monotonic()
            applied = self._tail(session)
            now = utcnow()
            engine = self.engine
            scans = scans or self._thread is None
            if scans:
                applied += self._retract(session)
            # clips: at most once a second (a scan of recently updated clips)
            if (
                scans
                and self.clips_synced_at is not None
                and (now - self.clips_synced_at).total_seconds() >= 1.0
            ):
                since = self.clips_synced_at - timedelta(seconds=2)
                changed = sources.load_clips(session, changed_since=since)
                if changed:
                    # cards of servable clips only: a card cached while a clip was processing (no
                    # poster, no renditions) would otherwise be served until a later scan, if the
                    # clip's next change came between two scans
                    served = [row.id for row in changed if row.active]
                    fresh = sources.clip_cards(session, served) if served else {}
                    self.cards.update({clip_id.int: card_bytes(card) for clip_id, card in fresh.items()})
                    for row in changed:
                        if not row.active:
                            self.cards.pop(row.id.int, None)
                for row in changed:
                    engine.upsert_clip(
                        row.id,
                        creator=row.creator_id,
                        interests=row.interests,
                        created_at=_ts(row.created_at),
                        active=row.active,
                    )
                self.clips_synced_at = now
            # stock: one indexed max() tells whether any SKU's stock moved since the last look
            # tags added or removed since the last look (the stock flags below cover stock moves)
            if (
                scans
                and self.tags_synced_at is not None
                and (now - self.tags_synced_at).total_seconds() >= 1.0
            ):
                changed_tags = sources.tag_changes(session, self.tags_synced_at - timedelta(seconds=2))
                if changed_tags:
                    current = sources.tag_stock(session, clip_ids=changed_tags)
                    for clip_id in changed_tags:
                        idx = engine.clip_index.get(clip_id)
                        if idx is not None:
                            n_tags, in_stock = current.get(clip_id, (0, True))
                            engine.n_tags[idx] = n_tags
                            engine.in_stock[idx] = in_stock
                self.tags_synced_at = now
            version = sources.stock_version(session)
            if version != self.stock_seen and self.stock_synced_at is not None:
                since = self.stock_synced_at - timedelta(seconds=2)
                for clip_id, (n_tags, in_stock) in sources.tag_stock(session, changed_since=since).items():
                    idx = engine.clip_index.get(clip_id)
                    if idx is not None:
                        engine.n_tags[idx] = n_tags
                        engine.in_stock[idx] = in_stock
                self.stock_synced_at = now
            self.stock_seen = version
            if applied:
                engine.maybe_compact()
                engine.maybe_refresh_pools()
            return applied

    def events_committed(self, user_id: uuid.UUID) -> None:
        """This process committed events of ``user_id``: its next session must reflect them."""
        if len(self.committed_for) > 100_000:
            self.committed_for.clear()
        self.committed_for[user_id] = time.monotonic()
        self.nudge()

    def needs_catch_up(self, user_id: uuid.UUID | None) -> bool:
        """Whether a new session must catch up synchronously before ranking.

        Without the background thread: always. With it: only when this process committed events
        of the viewer since the last catch-up started, or when that catch-up is older than two
        refresh intervals (events sent to another process are applied by the background thread
        within a refresh interval, as everything else that process did)."""
        if self._thread is None or not self.loaded:
            return True
        started = self.catch_up_started
        if time.monotonic() - started > 2 * get_settings().feed_refresh_seconds:
            return True
        return user_id is not None and self.committed_for.get(user_id, 0.0) >= started

    def sync_viewer(self, db: Reads, user_id: uuid.UUID) -> None:
        """Onboarding picks, read when a session starts (at most every ``PICKS_CACHE_SECONDS``)."""
        now = time.monotonic()
        if now - self.picks_read.get(user_id, -PICKS_CACHE_SECONDS) < PICKS_CACHE_SECONDS:
            return
        if len(self.picks_read) > 200_000:
            self.picks_read.clear()
        self.picks_read[user_id] = now
        table = UserInterest.__table__
        query = select(table.c.interest_id, table.c.selected).where(table.c.user_id == user_id)
        picks: dict[Hashable, float] = {
            interest_id: 1.0
            for interest_id, selected in db.session.connection().execute(query)  # Core: no ORM layer
            if selected
        }
        viewer = self.engine.viewer(user_id)
        if picks != {self.engine.interest_keys[c]: w for c, w in viewer.explicit.items()}:
            self.engine.set_explicit_interests(user_id, picks)
        # whom the viewer blocked: read with the picks (one small indexed query), so a block made
        # through another process applies within the same few seconds
        blocked = social_service.blocked_user_ids(db.session, user_id)
        if blocked or viewer.blocks:
            self.engine.set_blocks(user_id, blocked)

    # ------------------------------------------------------------------ background
    def start_background(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="feed-catch-up", daemon=True)
        self._thread.start()

    def stop_background(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None

    def nudge(self) -> None:
        """New events were committed: aggregate and catch up now rather than at the next tick."""
        self._wake.set()

    def _loop(self) -> None:
        interval = get_settings().feed_refresh_seconds
        try:  # build the engine now, not on the first feed request that would otherwise wait for it
            with read_session() as session:
                self.ensure_loaded(session)
        except Exception:
            logger.exception("feed engine rebuild failed; retried on the next request")
        aggregated_at, backlog = 0.0, False
        while not self._stop.is_set():
            self._wake.wait(interval)
            # let a burst of nudges (one per accepted batch) coalesce into one run
            if self._stop.wait(min(0.2, interval)):
                return
            self._wake.clear()
            try:
                # aggregation at most once a refresh interval (unless a run left more behind): a
                # run rewrites the counters of every clip it touches, so fewer, larger runs write
                # far less (on SQLite they also hold the write lock the event writer needs)
                if backlog or time.monotonic() - aggregated_at >= interval:
                    aggregated_at = time.monotonic()
                    with service.writer_lock(), new_session() as session:
                        backlog = service.aggregate_pending(session, AGGREGATE_LIMIT) == AGGREGATE_LIMIT
                        session.commit()
                with read_session() as session:
                    self.catch_up(session)
            except Exception:  # keep the loop alive; the next tick retries
                logger.exception("feed catch-up failed")

    def viewer_key(self, user_id: uuid.UUID | None, anonymous_id: str) -> Hashable:
        return user_id if user_id is not None else f"anon:{anonymous_id}"


_read_engine: Engine | None = None


def read_engine() -> Engine:
    """The engine of the feed's reads, which never take a write lock.

    On SQLite every transaction of the main engine starts with ``BEGIN IMMEDIATE`` (the write
    lock, which keeps stock arithmetic safe); feed reads must not queue behind event writes, so
    they use a plain connection (WAL readers never block). On PostgreSQL it is the main engine.
    """
    global _read_engine
    if _read_engine is None:
        settings = get_settings()
        if settings.is_sqlite:
            _read_engine = create_engine(
                settings.database_url, connect_args={"check_same_thread": False, "timeout": 30}
            )
        else:
            _read_engine = get_engine()
    return _read_engine


def read_session() -> Session:
    """A session for the feed's reads (see ``read_engine``)."""
    return Session(read_engine(), expire_on_commit=False)


class Reads:
    """The database reads of one feed request, on a session opened at first use: most pages
    (cursor pages of clips without tags) need none."""

    def __init__(self) -> None:
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = read_session()
        return self._session

    def end(self) -> None:
        """End the read transaction (SQLite: before CPU work); the session stays usable."""
        if self._session is not None:
            self._session.rollback()

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None


def known_clip_creators(clip_ids: set[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """Clips the loaded engine serves -> their creator (empty before the engine is loaded)."""
    rt = _runtime
    if rt is None or not rt.loaded:
        return {}
    engine = rt.engine
    out = {}
    for clip_id in clip_ids:
        idx = engine.clip_index.get(clip_id)
        if idx is not None and engine.active[idx]:
            creator = engine.creator_keys[int(engine.clip_creator[idx])]
            if isinstance(creator, uuid.UUID):
                out[clip_id] = creator
    return out


_runtime: FeedRuntime | None = None
_runtime_lock = threading.Lock()


def wait_loaded(rt: FeedRuntime) -> None:
    """Block until ``rt``'s engine is built (waiting for the thread building it, or building it
    here): no feed page is ever answered from an engine that is not loaded yet."""
    if not rt.loaded:
        with read_session() as session:
            rt.ensure_loaded(session)


async def ready_runtime() -> FeedRuntime:
    """The process's runtime with its engine loaded (waited for off the event loop)."""
    rt = get_runtime()
    if not rt.loaded:
        from starlette.concurrency import run_in_threadpool

        await run_in_threadpool(wait_loaded, rt)
    return rt


def warm_enabled() -> bool:
    settings = get_settings()
    if settings.feed_warm_at_startup is not None:
        return settings.feed_warm_at_startup
    return settings.environment.value != "test"


def warm_at_startup() -> None:
    """Build the engine while the process starts, before it accepts connections: processes
    sharing a listening socket (``serve --workers N``) leave a starting one's share to the ready
    ones, and when none is ready yet connections wait in the backlog. If the build fails (the
    database is down), start-up goes on: ``/readyz`` reports ``feed: warming`` and the first
    feed request builds it."""
    if not warm_enabled():
        return
    rt = get_runtime()
    try:
        wait_loaded(rt)
    except Exception:
        logger.exception("feed engine warm-up failed; built on the first feed request instead")


def readiness() -> str | None:
    """``ok`` / ``warming`` for ``/readyz`` (None: not warmed at start-up, nothing to report)."""
    if not warm_enabled():
        return None
    rt = _runtime
    return "ok" if rt is not None and rt.loaded else "warming"


@interests_service.on_picks_changed
def _picks_changed(user_id: uuid.UUID) -> None:
    if _runtime is not None:
        _runtime.picks_read.pop(user_id, None)


def viewer_blocks_changed(user_id: uuid.UUID, blocked: set[uuid.UUID]) -> None:
    """The viewer blocked or unblocked someone (``blocked``: everyone they block now): applied at
    once in this process, to new sessions and to the next pages of the current one."""
    rt = _runtime
    if rt is not None and rt.loaded:
        rt.engine.set_blocks(user_id, blocked)


def clip_moderated(clip_id: uuid.UUID, hidden: bool) -> None:
    """Moderation hid (or restored) a clip: out of this process's feed at once, including the
    pages of sessions already ranked (other processes: their next scan of changed clips)."""
    rt = _runtime
    if rt is not None and rt.loaded and hidden:
        rt.engine.set_active(clip_id, False)
    # a restore is applied by the scan, which checks the clip's status and visibility too


def _events_written(first_id: int, last_id: int, rows: list[EngineEvent]) -> None:
    if _runtime is not None:
        _runtime.written(first_id, last_id, rows)


writer.add_listener(_events_written)


def get_runtime() -> FeedRuntime:
    global _runtime
    if _runtime is None:
        with _runtime_lock:
            if _runtime is None:
                _runtime = FeedRuntime()
                if get_settings().feed_background_refresh:
                    _runtime.start_background()
    return _runtime


def reset_runtime() -> None:
    """Forget the in-memory state (tests; a process that wants a clean rebuild)."""
    global _runtime, _read_engine
    if _read_engine is not None and _read_engine is not get_engine():
        _read_engine.dispose()
    _read_engine = None
    with _runtime_lock:
        if _runtime is not None:
            _runtime.stop_background()
        _runtime = None
