"""What the search index reads from other domains (clips, accounts, catalog, feed counters), in
bulk: one or two set-based queries over plain columns per call, never ORM object graphs.
Live reads at query time (product availability, moderation, blocking) go through the other
domains' services."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.accounts.models import CreatorProfile, User
from app.catalog import service as catalog_service
from app.catalog.models import Product, Sku
from app.catalog.stock import availability_label
from app.clips.models import Clip, ClipStatus, Visibility
from app.config import get_settings
from app.feed.models import ClipStat, CreatorFollow

CHUNK = 5_000


@dataclass
class SourceDoc:
    kind: str
    entity_id: uuid.UUID
    owner_id: uuid.UUID | None
    title: str
    subtitle: str
    body: str
    visible: bool
    created_at: datetime


def _chunks(ids: list[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _profiles(session: Session, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, tuple[str, str]]:
    ids = list(set(user_ids))
    out: dict[uuid.UUID, tuple[str, str]] = {}
    for chunk in _chunks(ids):
        rows = session.execute(
            select(CreatorProfile.user_id, CreatorProfile.handle, CreatorProfile.display_name).where(
                CreatorProfile.user_id.in_(chunk)
            )
        )
        out.update({r[0]: (r[1], r[2]) for r in rows})
    return out


def changed_clips(
    session: Session, since: datetime | None, ids: list[uuid.UUID] | None = None
) -> list[SourceDoc]:
    query = select(
        Clip.id, Clip.creator_id, Clip.caption, Clip.status, Clip.visibility, Clip.created_at
    ).where(Clip.status != ClipStatus.uploading)
    if since is not None:
        query = query.where(Clip.updated_at >= since)
    if ids is not None:
        query = query.where(Clip.id.in_(ids))
    rows = session.execute(query).all()
    profiles = _profiles(session, (r.creator_id for r in rows))
    docs = []
    for r in rows:
        handle, name = profiles.get(r.creator_id, ("", ""))
        docs.append(
            SourceDoc(
                kind="clip",
                entity_id=r.id,
                owner_id=r.creator_id,
                title=r.caption or "",
                subtitle=f"{handle} {name}".strip(),
                body="",
                visible=r.status == ClipStatus.ready and r.visibility == Visibility.public,
                created_at=r.created_at,
            )
        )
    return docs


def changed_products(session: Session, since: datetime | None) -> list[SourceDoc]:
    query = select(
        Product.id,
        Product.organisation_id,
        Product.title,
        Product.brand,
        Product.category,
        Product.description,
        Product.active,
        Product.created_at,
    )
    if since is not None:
        query = query.where(Product.updated_at >= since)
    return [
        SourceDoc(
            kind="product",
            entity_id=r.id,
            owner_id=r.organisation_id,
            title=r.title or "",
            subtitle=r.brand or "",
            body=" ".join(
                x for x in ((r.category or "").replace(">", " "), (r.description or "")[:1000]) if x
            ),
            visible=bool(r.active),
            created_at=r.created_at,
        )
        for r in session.execute(query)
    ]


def changed_creators(session: Session, since: datetime | None) -> list[SourceDoc]:
    query = select(
        CreatorProfile.user_id,
        CreatorProfile.handle,
        CreatorProfile.display_name,
        CreatorProfile.bio,
        CreatorProfile.created_at,
        User.is_active,
    ).join(User, User.id == CreatorProfile.user_id)
    if since is not None:
        query = query.where((CreatorProfile.updated_at >= since) | (User.updated_at >= since))
    return [
        SourceDoc(
            kind="creator",
            entity_id=r.user_id,
            owner_id=r.user_id,
            title=r.display_name or r.handle,
            subtitle=r.handle,
            body=r.bio or "",
            visible=bool(r.is_active),
            created_at=r.created_at,
        )
        for r in session.execute(query)
    ]


def clips_with_changed_stats(session: Session, since: datetime | None) -> list[uuid.UUID]:
    query = select(ClipStat.clip_id)
    if since is not None:
        query = query.where(ClipStat.updated_at >= since)
    return list(session.scalars(query))


def clip_stats(session: Session, clip_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, int]]:
    out: dict[uuid.UUID, dict[str, int]] = {}
    for chunk in _chunks(clip_ids):
        rows = session.execute(
            select(
                ClipStat.clip_id, ClipStat.likes, ClipStat.shares, ClipStat.views, ClipStat.completes
            ).where(ClipStat.clip_id.in_(chunk))
        )
        for r in rows:
            out[r[0]] = {"likes": r[1], "shares": r[2], "views": r[3], "completes": r[4]}
    return out


def creators_with_new_follows(session: Session, since: datetime | None) -> list[uuid.UUID]:
    query = select(CreatorFollow.creator_id).distinct()
    if since is not None:
        query = query.where(CreatorFollow.created_at >= since)
    return list(session.scalars(query))


def follower_counts(session: Session, creator_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    out: dict[uuid.UUID, int] = {}
    for chunk in _chunks(creator_ids):
        rows = session.execute(
            select(CreatorFollow.creator_id, func.count())
            .where(CreatorFollow.creator_id.in_(chunk))
            .group_by(CreatorFollow.creator_id)
        )
        out.update({r[0]: int(r[1]) for r in rows})
    return out


def product_availability(
    session: Session, product_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, tuple[int, int, str, str, uuid.UUID]]:
    """Live, through the catalog's service: product -> (units available to sell, lowest price of
    its SKUs in stock (of all its active SKUs when sold out), currency, availability label, that
    SKU's id). Products without an active SKU are absent."""
    ids = list(set(product_ids))
    if not ids:
        return {}
    sku_rows = session.execute(select(Sku.id, Sku.product_id).where(Sku.product_id.in_(ids))).all()
    states = catalog_service.live_sku_states(session, [r[0] for r in sku_rows])
    per_product: dict[uuid.UUID, list[tuple[int, str, int, uuid.UUID]]] = defaultdict(list)
    for sku_id, product_id in sku_rows:
        state = states.get(sku_id)
        if state is not None:
            per_product[product_id].append((state[0], state[1], state[2], sku_id))
    threshold = get_settings().low_stock_threshold
    out = {}
    for product_id, skus in per_product.items():
        available = sum(s[2] for s in skus)
        in_stock = [s for s in skus if s[2] > 0] or skus
        cheapest = min(in_stock, key=lambda s: s[0])
        label = availability_label(available, threshold)
        out[product_id] = (available, cheapest[0], cheapest[1], label, cheapest[3])
    return out


# Extra signal sources, e.g. comment counts from the social domain: kind -> [(name, reader)].
SignalReader = Callable[[Session, list[uuid.UUID]], dict[uuid.UUID, int]]
_signal_readers: dict[str, list[tuple[str, SignalReader]]] = defaultdict(list)


def register_signal(kind: str, name: str, reader: SignalReader) -> None:
    """Plug a social signal into the ranking: ``reader(session, entity_ids) -> {id: count}``
    for documents of ``kind``; ``name`` is a ``search_document`` counter (``comments``, ...)."""
    _signal_readers[kind] = [(n, r) for n, r in _signal_readers[kind] if n != name] + [(name, reader)]


def extra_signals(session: Session, kind: str, ids: list[uuid.UUID]) -> dict[str, dict[uuid.UUID, int]]:
    return {name: reader(session, ids) for name, reader in _signal_readers.get(kind, [])}


def _social_service() -> Any:
    try:
        from app.social import service as social_service  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    return social_service


def _install_social_signals() -> None:
    social = _social_service()
    reader = getattr(social, "comment_counts", None) if social is not None else None
    if reader is not None:
        register_signal("clip", "comments", reader)


_install_social_signals()


def hidden_clip_ids(session: Session) -> set[uuid.UUID]:
    """Clips hidden by moderation (``app.social.service.hidden_clip_ids``; none before the social
    domain is installed)."""
    social = _social_service()
    hook = getattr(social, "hidden_clip_ids", None) if social is not None else None
    return set(hook(session)) if hook is not None else set()


def blocked_user_ids(session: Session, viewer_id: uuid.UUID | None) -> set[uuid.UUID]:
    """Creators and users the viewer blocked or who blocked them
    (``app.social.service.blocked_user_ids``; none before the social domain is installed)."""
    if viewer_id is None:
        return set()
    social = _social_service()
    hook = getattr(social, "blocked_user_ids", None) if social is not None else None
    return set(hook(session, viewer_id)) if hook is not None else set()
