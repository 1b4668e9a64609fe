"""What the feed reads from other domains (clips, tags, catalog), in bulk and cheaply.

Each function is one or two set-based queries over plain columns, never ORM object graphs:
they run on the feed's hot path or in the engine's background refresh.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.accounts import service as accounts_service
from app.accounts.models import CreatorProfile
from app.catalog import service as catalog_service
from app.catalog.models import Product, Sku
from app.catalog.stock import available_expr
from app.clips import service as clips_service
from app.clips.models import Clip, ClipInterest, ClipStatus, Visibility
from app.social import service as social_service
from app.tags import service as tags_service
from app.tags.models import ProductTag, TagStatus


@dataclass
class FeedClipRow:
    id: uuid.UUID
    creator_id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    active: bool
    interests: list[int]


def _servable() -> Any:
    return (Clip.status == ClipStatus.ready) & (Clip.visibility == Visibility.public)


def clip_creators(session: Session, clip_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """Ready clips among ``clip_ids`` -> their creator."""
    ids = list(clip_ids)
    # by primary key only (a status condition can lead SQLite to scan the status index instead)
    rows = session.execute(select(Clip.id, Clip.creator_id, Clip.status).where(Clip.id.in_(ids)))
    return {r[0]: r[1] for r in rows if r[2] == ClipStatus.ready}


def clip_durations(session: Session, clip_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int | None]:
    """Clips among ``clip_ids`` -> their duration in ms (None: not known yet)."""
    rows = session.execute(select(Clip.id, Clip.duration_ms).where(Clip.id.in_(list(clip_ids))))
    return {clip_id: duration for clip_id, duration in rows}


def load_clips(session: Session, changed_since: datetime | None = None) -> list[FeedClipRow]:
    """Clips for the engine: all servable ones, or every clip changed since a time (to (de)activate)."""
    query = select(Clip.id, Clip.creator_id, Clip.created_at, Clip.updated_at, Clip.status, Clip.visibility)
    query = (
        query.where(_servable()) if changed_since is None else query.where(Clip.updated_at > changed_since)
    )
    rows = session.execute(query).all()
    interests: dict[uuid.UUID, list[int]] = defaultdict(list)
    ids = [r[0] for r in rows]
    for start in range(0, len(ids), 20_000):
        for clip_id, interest_id in session.execute(
            select(ClipInterest.clip_id, ClipInterest.interest_id).where(
                ClipInterest.clip_id.in_(ids[start : start + 20_000])
            )
        ):
            interests[clip_id].append(interest_id)
    # hidden by moderation: one query over the (small) set of hidden clips
    hidden = social_service.hidden_clip_ids(session, None if changed_since is None else ids)
    return [
        FeedClipRow(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4] == ClipStatus.ready and r[5] == Visibility.public and r[0] not in hidden,
            interests.get(r[0], []),
        )
        for r in rows
        if changed_since is not None or r[0] not in hidden
    ]


def _available(sku_quantity: Any, sku_reserved: Any) -> Any:
    return sku_quantity - sku_reserved


def stock_version(session: Session) -> str:
    """Changes whenever any SKU's availability may have changed (cheap: see the catalog)."""
    return catalog_service.stock_version(session)


def tag_changes(session: Session, since: datetime) -> list[uuid.UUID]:
    """Clips whose tags were created, decided or removed since ``since``."""
    return list(session.scalars(select(ProductTag.clip_id).where(ProductTag.updated_at > since).distinct()))


def tag_stock(
    session: Session, changed_since: datetime | None = None, clip_ids: list[uuid.UUID] | None = None
) -> dict[uuid.UUID, tuple[int, bool]]:
    """clip id -> (active tags, any tagged SKU available to sell), for clips with active tags.

    With ``changed_since``: only clips with a tagged SKU whose stock moved since then, plus every
    clip with a tagged SKU under an active reservation (expiry frees stock without a write)."""
    available = available_expr()
    query = (
        select(ProductTag.clip_id, func.count(), func.max(available))
        .join(Sku, Sku.id == ProductTag.sku_id)
        .join(Product, Product.id == Sku.product_id)
        .where(ProductTag.status == TagStatus.active, Sku.active.is_(True), Product.active.is_(True))
        .group_by(ProductTag.clip_id)
    )
    if changed_since is not None:
        moved = (
            select(ProductTag.clip_id)
            .join(Sku, Sku.id == ProductTag.sku_id)
            .where((Sku.stock_changed_at > changed_since) | (Sku.reserved > 0))
        )
        query = query.where(ProductTag.clip_id.in_(moved))
    if clip_ids is not None:
        query = query.where(ProductTag.clip_id.in_(clip_ids))
    return {r[0]: (int(r[1]), int(r[2] or 0) > 0) for r in session.execute(query)}


def servable_clips(session: Session, clip_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Those of ``clip_ids`` the feed may serve now (ready and public)."""
    if not clip_ids:
        return set()
    return set(session.scalars(select(Clip.id).where(Clip.id.in_(clip_ids), _servable())))


def clip_cards(session: Session, clip_ids: list[uuid.UUID] | None) -> dict[uuid.UUID, dict[str, Any]]:
    """The static part of each clip as shown in the feed (cached by the caller); ``None``: every
    servable clip."""
    media_url = clips_service.public_media_url
    rows = session.execute(
        select(
            Clip.id,
            Clip.creator_id,
            Clip.caption,
            Clip.duration_ms,
            Clip.poster_key,
            Clip.hls_master_key,
            Clip.mp4_key,
            Clip.renditions,
            Clip.updated_at,
            CreatorProfile.handle,
            CreatorProfile.display_name,
            CreatorProfile.avatar_key,
        )
        .outerjoin(CreatorProfile, CreatorProfile.user_id == Clip.creator_id)
        .where(_servable() if clip_ids is None else Clip.id.in_(clip_ids))
    ).all()
    out = {}
    for r in rows:
        avatar = None
        if r.avatar_key:
            profile = CreatorProfile(avatar_key=r.avatar_key)
            urls = accounts_service.avatar_urls(profile) or {}
            sizes = urls.get("jpeg") or {}
            avatar = sizes.get(min(sizes, key=int)) if sizes else None
        out[r.id] = {
            "id": str(r.id),
            "caption": r.caption,
            "duration_ms": r.duration_ms,
            # Stable URLs (the feed serves public ready clips only): a cached card never goes stale.
            "poster_url": media_url(r.poster_key) if r.poster_key else None,
            "playback": {
                "hls_url": media_url(r.hls_master_key) if r.hls_master_key else None,
                "mp4_url": media_url(r.mp4_key) if r.mp4_key else None,
                **_start(r.hls_master_key, r.renditions, media_url),
            },
            "creator": {
                "id": str(r.creator_id),
                "handle": r.handle,
                "display_name": r.display_name,
                "avatar_url": avatar,
            },
            "_version": r.updated_at.isoformat() if r.updated_at else "",
        }
    return out


def _start(
    master_key: str | None, renditions: list[dict[str, Any]] | None, media_url: Callable[[str], str]
) -> dict[str, str | None]:
    """Where a player of the master playlist starts: the lowest rung's media playlist (listed first
    in the master) and its first segment, so that a client can fetch them together with the master
    instead of one after the other."""
    rows = [row for row in renditions or [] if row.get("playlist_key")] if master_key else []
    lowest = min(rows, key=lambda row: int(row.get("bandwidth") or 0), default=None)
    playlist = lowest.get("playlist_key") if lowest else None
    segment = lowest.get("first_segment_key") if lowest else None
    return {
        "hls_start_playlist_url": media_url(playlist) if playlist else None,
        "hls_start_segment_url": media_url(segment) if playlist and segment else None,
    }


def live_tags(session: Session, clip_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """Active product tags of the clips with the SKU's *current* price, stock and buy action
    (the tags domain's own presentation, ``TagRead``; one query when no clip has tags)."""
    if not clip_ids:
        return {}
    return tags_service.active_tags_for_clips(session, clip_ids)
