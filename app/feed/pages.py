"""``GET /v1/feed`` hot path: session list -> page -> live fields -> JSON bytes.

No ORM objects and no response-model validation here: per-clip JSON fragments are cached,
live parts (counts from the engine, tags with live price/stock from one query) are serialised
with orjson and stitched in. ``tests/feed`` validates real responses against the OpenAPI schema.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Hashable
from typing import Any, cast

import orjson
from sqlalchemy.orm import Session

from app.config import get_settings
from app.feed import sources
from app.feed.engine import Reason
from app.feed.runtime import FeedRuntime, Reads, card_bytes, get_runtime, wait_loaded
from app.feed.sessions import (
    CursorExpired,
    FeedSession,
    decode_cursor,
    encode_cursor,
    get_store,
    new_session_id,
)
from app.interests.models import Interest

REASON_CODE = {
    Reason.FOLLOW: "follow",
    Reason.SIMILAR: "similar",
    Reason.INTEREST: "interest",
    Reason.TRENDING: "trending",
    Reason.EXPLORE: "explore",
}

_interest_names: dict[int, str] = {}


# One shared tuple per distinct reason: sessions hold references, not a new tuple per clip (fewer
# objects for the garbage collector to walk while thousands of sessions are alive).
_reason_tuples: dict[tuple[str, str], tuple[str, str]] = {}
_reason_by_key: dict[tuple[int, Reason, int], tuple[str, str]] = {}


def _reason_texts(db: Reads, rt: FeedRuntime, reasons: list[int], args: list[int]) -> list[tuple[str, str]]:
    """The (code, text) of each (reason, argument): one lookup per distinct pair."""
    texts: dict[tuple[int, int], tuple[str, str]] = {}
    for pair in set(zip(reasons, args, strict=True)):
        texts[pair] = _reason_text(db, rt, Reason(pair[0]), pair[1])
    return [texts[pair] for pair in zip(reasons, args, strict=True)]


def _reason_text(db: Reads, rt: FeedRuntime, reason: Reason, arg: int) -> tuple[str, str]:
    if reason is not Reason.FOLLOW:  # the others depend only on (reason, interest column)
        key = (rt.generation, reason, arg)
        known = _reason_by_key.get(key)
        if known is not None:
            return known
    text = _reason_pair(db, rt, reason, arg)
    if len(_reason_tuples) > 100_000:
        _reason_tuples.clear()
        _reason_by_key.clear()
    text = _reason_tuples.setdefault(text, text)
    if reason is not Reason.FOLLOW:
        _reason_by_key[(rt.generation, reason, arg)] = text
    return text


def _reason_pair(db: Reads, rt: FeedRuntime, reason: Reason, arg: int) -> tuple[str, str]:
    engine = rt.engine
    code = REASON_CODE[reason]
    if reason is Reason.FOLLOW and arg >= 0:
        creator = engine.creator_keys[arg]
        handle = _handles(db.session, [creator]).get(creator) if isinstance(creator, uuid.UUID) else None
        return code, f"Because you follow @{handle}" if handle else "From a creator you follow"
    if reason is Reason.INTEREST and arg >= 0:
        interest_id = engine.interest_keys[arg]
        name = _interest_name(db, interest_id)
        return code, f"Popular in {name}" if name else "Picked for your interests"
    if reason is Reason.SIMILAR:
        return code, "Because you liked similar clips"
    if reason is Reason.EXPLORE:
        return code, "New on ClipShop"
    return "trending", "Trending now"


def _interest_name(db: Reads, interest_id: Hashable) -> str | None:
    if not isinstance(interest_id, int):
        return None
    if interest_id not in _interest_names:
        interest = db.session.get(Interest, interest_id)
        if interest is None:
            return None
        _interest_names[interest_id] = interest.name
    return _interest_names[interest_id]


def _handles(session: Session, creator_ids: list[Any]) -> dict[Any, str]:
    from app.accounts import service as accounts_service

    return {k: p.handle for k, p in accounts_service.get_creator_profiles(session, creator_ids).items()}


def _rank_more(db: Reads, rt: FeedRuntime, viewer: Hashable, fs: FeedSession, n: int) -> None:
    engine = rt.engine
    positions = _positions(rt, fs)
    exclude = [i for i in positions if i >= 0]
    keys = engine.clip_keys
    ranked = engine.rank_columns(viewer, n, exclude=exclude)
    fs.items.extend(cast(list[uuid.UUID], [keys[c] for c in ranked.clips]))
    positions.extend(ranked.clips)
    fs.reasons.extend(_reason_texts(db, rt, ranked.reasons, ranked.args))


def _positions(rt: FeedRuntime, fs: FeedSession) -> list[int]:
    """The engine positions of the session's clips (-1: unknown to this engine), cached in the
    session so that pages look clips up by position rather than by UUID."""
    if fs.gen != rt.generation or len(fs.positions) != len(fs.items):
        index = rt.engine.clip_index
        fs.positions = [index.get(clip_id, -1) for clip_id in fs.items]
        fs.gen = rt.generation
    return fs.positions


def build_page(db: Reads, user_id: uuid.UUID | None, cursor: str | None, limit: int) -> bytes:
    settings = get_settings()
    rt = get_runtime()
    if not rt.loaded:  # never page from an empty engine: it would drop the session's clips
        wait_loaded(rt)
    store = get_store()
    signer = str(user_id) if user_id is not None else "anon"
    if cursor is None:
        if rt.needs_catch_up(user_id):  # read-your-writes: the new session sees the viewer's events
            rt.catch_up(db.session, scans=False)
        sid = new_session_id()
        viewer: Hashable = user_id if user_id is not None else f"anon:{sid}"
        if user_id is not None:
            rt.sync_viewer(db, user_id)
        db.end()  # end the read transaction before CPU work
        fs = FeedSession(sid, signer)
        with rt.lock:
            _rank_more(db, rt, viewer, fs, max(settings.feed_session_length, limit))
            if user_id is None:
                rt.engine.viewers.pop(viewer, None)
        offset = 0
    else:
        sid, offset = decode_cursor(cursor, signer)
        found = store.get(sid)
        if found is None:
            raise CursorExpired("This feed session has expired; start again without a cursor")
        fs = found
        viewer = user_id if user_id is not None else f"anon:{sid}"
    page, tags = _fill(db, rt, viewer, fs, offset, limit)
    fs.served = max(fs.served, offset + len(page))
    store.put(fs)
    next_cursor = encode_cursor(fs.id, offset + len(page), signer) if page else None
    return _render(db, rt, fs, offset, page, tags, next_cursor)


def _fill(
    db: Reads, rt: FeedRuntime, viewer: Hashable, fs: FeedSession, offset: int, limit: int
) -> tuple[list[uuid.UUID], dict[uuid.UUID, list[dict[str, Any]]]]:
    """The page at ``offset``; unserved clips that went out of stock or offline are dropped first."""
    engine = rt.engine
    for _attempt in range(5):
        if len(fs.items) < offset + limit:
            with rt.lock:
                _rank_more(db, rt, viewer, fs, max(limit, get_settings().feed_session_length))
                if isinstance(viewer, str):
                    engine.viewers.pop(viewer, None)
        window = fs.items[offset : offset + limit]
        places = _positions(rt, fs)[offset : offset + limit]
        tags = _live_tags(db, rt, window, places)
        drop: list[int] = []
        active = engine.active
        size = len(active)
        # Clips this engine does not know (ranked by another process whose engine is ahead of
        # this one's catch-up) are asked of the database, never dropped unseen: a request must
        # not shorten a stored session because of what this process has not learnt yet.
        unknown = [c for pos, (c, i) in enumerate(zip(window, places, strict=True), start=offset)
                   if pos >= fs.served and not 0 <= i < size]  # fmt: skip
        servable = sources.servable_clips(db.session, unknown) if unknown else set()
        if unknown:
            db.end()
        seer = engine.viewers.get(viewer)
        blocks = seer.blocks if seer is not None else None  # creators blocked since the ranking
        for pos, (clip_id, idx) in enumerate(zip(window, places, strict=True), start=offset):
            if pos < fs.served:
                continue  # already shown on a page: a retried cursor gets the same page
            known = 0 <= idx < size
            if blocks and known and int(engine.clip_creator[idx]) in blocks:
                drop.append(pos)
                continue
            sold_out = False
            if tags:
                clip_tags = tags.get(clip_id) or []
                sold_out = bool(clip_tags) and all(t["available"] <= 0 for t in clip_tags)
                if sold_out and known:
                    engine.in_stock[idx] = False
            offline = not active[idx] if known else clip_id not in servable
            if offline or sold_out:
                drop.append(pos)
        if not drop:
            return window, tags
        positions = _positions(rt, fs)
        for pos in reversed(drop):
            del fs.items[pos]
            del fs.reasons[pos]
            del positions[pos]
    window = fs.items[offset : offset + limit]
    return window, _live_tags(db, rt, window, _positions(rt, fs)[offset : offset + limit])


def _live_tags(
    db: Reads, rt: FeedRuntime, ids: list[uuid.UUID], places: list[int]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """Live tags, queried only for clips the engine knows to carry tags (most clips carry none);
    the engine learns of new or removed tags within a catch-up (about a second)."""
    n_tags = rt.engine.n_tags
    size = len(n_tags)
    tagged = [c for c, i in zip(ids, places, strict=True) if not 0 <= i < size or n_tags[i] > 0]
    if not tagged:
        return {}
    tags = sources.live_tags(db.session, tagged)
    db.end()
    return tags


@functools.lru_cache(maxsize=4096)
def _reason_bytes(code: str, text: str) -> bytes:
    return orjson.dumps({"code": code, "text": text})


def _render(
    db: Reads,
    rt: FeedRuntime,
    fs: FeedSession,
    offset: int,
    ids: list[uuid.UUID],
    tags: dict[uuid.UUID, list[dict[str, Any]]],
    next_cursor: str | None,
) -> bytes:
    cards = rt.cards
    found = [cards.get(clip_id.int) for clip_id in ids]
    if None in found:  # a clip that became ready since the last catch-up
        fresh = sources.clip_cards(
            db.session, [c for c, card in zip(ids, found, strict=True) if card is None]
        )
        db.end()
        cards.update({clip_id.int: card_bytes(fields) for clip_id, fields in fresh.items()})
        found = [cards.get(clip_id.int) for clip_id in ids]
    engine = rt.engine
    counters = engine.counters
    index = _positions(rt, fs)[offset : offset + len(ids)]
    views, completes, likes, shares = (counters[name] for name in _SHOWN_COUNTS)
    size = min(len(views), len(completes), len(likes), len(shares))
    out = [b'{"items":[']
    first = True
    for i, clip_id in enumerate(ids):
        card = found[i]
        if card is None:
            continue
        idx = index[i]
        # ``item`` reads one number without making a numpy scalar (ten clips: cheaper than gathers)
        counts = (
            (views.item(idx), completes.item(idx), likes.item(idx), shares.item(idx))
            if 0 <= idx < size
            else _NONE
        )
        clip_tags = tags.get(clip_id) if tags else None
        out += (
            b'{"clip":' if first else b',{"clip":',
            card,
            _COUNTS % counts,
            orjson.dumps(clip_tags, default=str) if clip_tags else b"[]",
            b',"reason":',
            _reason_bytes(*fs.reasons[offset + i]),
            b"}",
        )
        first = False
    out += (b'],"next_cursor":', orjson.dumps(next_cursor), b"}")
    return b"".join(out)


_SHOWN_COUNTS = ("impressions", "completes", "likes", "shares")
_NONE = (0, 0, 0, 0)
_COUNTS = b',"counts":{"views":%d,"completes":%d,"likes":%d,"shares":%d}},"tags":'
