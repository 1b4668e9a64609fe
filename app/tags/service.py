"""Product tags on clips.

Rules: the clip's creator tags their own clips (active at once) with any sold SKU; a merchant
attaches its own SKUs to public clips as ``pending`` tags until the creator accepts; the creator
may reject or remove any tag on their clip; the merchant may remove tags of its SKUs; nobody
else touches tags. Reads carry the SKU's live price and availability; tags whose SKU or product
is deactivated are left out.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.accounts import service as accounts_service
from app.accounts.models import Role, User
from app.catalog import service as catalog_service
from app.catalog.models import Product, Sku
from app.clips import service as clips_service
from app.clips.models import Clip, ClipStatus, Visibility
from app.config import get_settings
from app.db import utcnow
from app.tags.exceptions import (
    ClipNotTaggable,
    SkuNotTaggable,
    TagForbidden,
    TagLimitReached,
    TagNotFound,
    TagNotPending,
    TagOutsideClip,
)
from app.tags.models import ProductTag, TagSource, TagStatus
from app.tags.schemas import TagCreate

LIVE_STATUSES = (TagStatus.active, TagStatus.pending)


def _organisation_of(session: Session, user: User) -> uuid.UUID | None:
    if user.role is not Role.merchant:
        return None
    return accounts_service.get_merchant_organisation_id(session, user.id)


def create_tag(session: Session, clip_id: uuid.UUID, user: User, data: TagCreate) -> ProductTag:
    clip = clips_service.get_clip(session, clip_id)
    if clip.creator_id != user.id and not clips_service.can_view(clip, user):
        # a clip the caller may not see answers as if it did not exist (no 409 that reveals it)
        raise TagNotFound("No such clip", code="clip_not_found")
    sku = session.get(Sku, data.sku_id)
    if sku is None or not sku.active or not sku.product.active:
        raise SkuNotTaggable("The SKU does not exist or is not sold")
    if clip.creator_id == user.id:
        status, source = TagStatus.active, TagSource.creator
    else:
        organisation_id = _organisation_of(session, user)
        if organisation_id is None:
            raise TagForbidden("Only the clip's creator or a merchant may tag a clip")
        if sku.organisation_id != organisation_id:
            raise TagForbidden("Merchants may only attach their own SKUs")
        if clip.visibility is not Visibility.public or clip.status is not ClipStatus.ready:
            raise ClipNotTaggable("Merchants may only attach SKUs to public, ready clips")
        status, source = TagStatus.pending, TagSource.merchant
    if clip.duration_ms is None:
        raise ClipNotTaggable("The clip's duration is not known yet (still processing)")
    if data.end_ms > clip.duration_ms:
        raise TagOutsideClip(
            f"The tag ends at {data.end_ms} ms but the clip lasts {clip.duration_ms} ms",
            duration_ms=clip.duration_ms,
        )
    # Lock the clip row so concurrent taggers cannot both pass the limit check (SQLite already
    # serialises writers).
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(Clip.id).where(Clip.id == clip.id).with_for_update(key_share=True))
    limit = get_settings().max_tags_per_clip
    count = session.scalar(
        select(func.count()).where(ProductTag.clip_id == clip.id, ProductTag.status.in_(LIVE_STATUSES))
    )
    if (count or 0) >= limit:
        raise TagLimitReached(f"A clip holds at most {limit} tags", limit=limit)
    tag = ProductTag(
        clip_id=clip.id,
        sku_id=sku.id,
        organisation_id=sku.organisation_id,
        start_ms=data.start_ms,
        end_ms=data.end_ms,
        x=data.x,
        y=data.y,
        label=data.label,
        status=status,
        source=source,
        created_by=user.id,
        decided_at=utcnow() if status is TagStatus.active else None,
    )
    session.add(tag)
    session.flush()
    return tag


def _get_tag(session: Session, clip_id: uuid.UUID, tag_id: uuid.UUID) -> tuple[Clip, ProductTag]:
    clip = clips_service.get_clip(session, clip_id)
    tag = session.get(ProductTag, tag_id)
    if tag is None or tag.clip_id != clip.id or tag.status is TagStatus.removed:
        raise TagNotFound("No such tag on this clip")
    return clip, tag


def decide_tag(
    session: Session, clip_id: uuid.UUID, tag_id: uuid.UUID, user: User, *, accept: bool
) -> ProductTag:
    clip, tag = _get_tag(session, clip_id, tag_id)
    if clip.creator_id != user.id:
        raise TagForbidden("Only the clip's creator accepts or rejects tags")
    if tag.status is not TagStatus.pending:
        raise TagNotPending(f"The tag is {tag.status.value}, not pending")
    tag.status = TagStatus.active if accept else TagStatus.rejected
    tag.decided_at = utcnow()
    session.flush()
    return tag


def remove_tag(session: Session, clip_id: uuid.UUID, tag_id: uuid.UUID, user: User) -> None:
    clip, tag = _get_tag(session, clip_id, tag_id)
    if clip.creator_id != user.id and _organisation_of(session, user) != tag.organisation_id:
        raise TagForbidden("Only the clip's creator or the SKU's merchant may remove this tag")
    tag.status = TagStatus.removed
    tag.decided_at = utcnow()
    session.flush()


def visible_clip(session: Session, clip_id: uuid.UUID, user: User | None) -> Clip:
    """The clip, when the caller may read its tags: anyone for a public ready clip, only its
    creator (and admins) otherwise; others get 404 as for a clip that does not exist."""
    clip = clips_service.get_clip(session, clip_id)
    owner = user is not None and (user.id == clip.creator_id or user.role is Role.admin)
    if not owner and not clips_service.is_public_playback(clip):
        raise TagNotFound("No such clip", code="clip_not_found")
    return clip


def _tag_rows(session: Session, clip_ids: list[uuid.UUID], statuses: Iterable[TagStatus]) -> list[Any]:
    return list(
        session.execute(
            select(
                ProductTag,
                Sku.product_id,
                Sku.code,
                Sku.options,
                Sku.compare_at_minor,
                Product.title,
            )
            .join(Sku, Sku.id == ProductTag.sku_id)
            .join(Product, Product.id == Sku.product_id)
            .where(
                ProductTag.clip_id.in_(clip_ids),
                ProductTag.status.in_(list(statuses)),
                Sku.active.is_(True),
                Product.active.is_(True),
            )
            .order_by(ProductTag.start_ms, ProductTag.created_at)
        )
    )


def _present(session: Session, rows: list[Any]) -> list[dict[str, Any]]:
    live = catalog_service.live_sku_states(session, [row[0].sku_id for row in rows])
    images = catalog_service.first_image_urls(session, [row.product_id for row in rows])
    items = []
    for row in rows:
        tag: ProductTag = row[0]
        state = live.get(tag.sku_id)
        if state is None:  # deactivated between the two queries
            continue
        price, currency, available, availability = state
        items.append(
            {
                "id": tag.id,
                "clip_id": tag.clip_id,
                "sku_id": tag.sku_id,
                "product_id": row.product_id,
                "title": row.title,
                "sku": row.code,
                "options": row.options,
                "start_ms": tag.start_ms,
                "end_ms": tag.end_ms,
                "x": tag.x,
                "y": tag.y,
                "label": tag.label,
                "status": tag.status,
                "source": tag.source,
                "price_minor": price,
                "currency": currency,
                "compare_at_minor": row.compare_at_minor,
                "available": available,
                "availability": availability,
                "image": images.get(row.product_id),
                "buy": {
                    "method": "POST",
                    "href": "/v1/checkout",
                    "body": {
                        "lines": [{"sku_id": str(tag.sku_id), "quantity": 1}],
                        "clip_id": str(tag.clip_id),
                        "tag_id": str(tag.id),
                    },
                },
                "created_at": tag.created_at,
            }
        )
    return items


def tags_for_viewer(session: Session, clip: Clip, user: User | None) -> list[dict[str, Any]]:
    """Active tags for everyone; the creator also sees pending ones, a merchant its own pending."""
    statuses = [TagStatus.active]
    organisation_id = None
    if user is not None and user.id == clip.creator_id:
        statuses.append(TagStatus.pending)
    elif user is not None:
        organisation_id = _organisation_of(session, user)
        if organisation_id is not None:
            statuses.append(TagStatus.pending)
    rows = _tag_rows(session, [clip.id], statuses)
    if organisation_id is not None:
        rows = [r for r in rows if r[0].status is TagStatus.active or r[0].organisation_id == organisation_id]
    return _present(session, rows)


def active_tags_for_clips(
    session: Session, clip_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """For the feed and clip reads: ``{clip_id: [tag dict (TagRead shape)]}`` of active tags with
    live price/availability; tags of deactivated SKUs/products are left out. Two queries in all."""
    ids = list(set(clip_ids))
    result: dict[uuid.UUID, list[dict[str, Any]]] = {cid: [] for cid in ids}
    if not ids:
        return result
    for item in _present(session, _tag_rows(session, ids, [TagStatus.active])):
        result[item["clip_id"]].append(item)
    return result


def active_tag_skus(session: Session, clip_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
    """``{clip_id: [sku_id]}`` of active tags (cheap: no stock); combine with
    :func:`app.catalog.service.live_sku_states` and :func:`app.catalog.service.stock_version`."""
    ids = list(set(clip_ids))
    result: dict[uuid.UUID, list[uuid.UUID]] = {cid: [] for cid in ids}
    if ids:
        for clip_id, sku_id in session.execute(
            select(ProductTag.clip_id, ProductTag.sku_id).where(
                ProductTag.clip_id.in_(ids), ProductTag.status == TagStatus.active
            )
        ):
            result[clip_id].append(sku_id)
    return result


def clip_product_interest_ids(session: Session, clip_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[int]]:
    """Interests of the products actively tagged on each clip (clips inherit them in the feed)."""
    ids = list(set(clip_ids))
    result: dict[uuid.UUID, list[int]] = {cid: [] for cid in ids}
    if not ids:
        return result
    pairs = list(
        session.execute(
            select(ProductTag.clip_id, Sku.product_id)
            .join(Sku, Sku.id == ProductTag.sku_id)
            .where(ProductTag.clip_id.in_(ids), ProductTag.status == TagStatus.active)
        )
    )
    interests = catalog_service.product_interest_ids(session, [p for _, p in pairs])
    for clip_id, product_id in pairs:
        for interest_id in interests.get(product_id, []):
            if interest_id not in result[clip_id]:
                result[clip_id].append(interest_id)
    return result


def attribution_creator(
    session: Session, clip_id: uuid.UUID, tag_id: uuid.UUID | None, sku_ids: set[uuid.UUID]
) -> uuid.UUID:
    """Check a checkout's attribution and return the creator to credit (the clip's creator)."""
    from app.commerce.exceptions import InvalidAttribution

    clip = session.get(Clip, clip_id)
    if clip is None or clip.status is ClipStatus.deleted:
        raise InvalidAttribution("clip_id does not name a clip")
    if tag_id is not None:
        tag = session.get(ProductTag, tag_id)
        if tag is None or tag.clip_id != clip_id or tag.status is not TagStatus.active:
            raise InvalidAttribution("tag_id does not name an active tag of that clip")
        if tag.sku_id not in sku_ids:
            raise InvalidAttribution("The tagged SKU is not in the cart")
    return clip.creator_id


def active_tag_products(
    session: Session, clip_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, tuple[uuid.UUID, dict[uuid.UUID, uuid.UUID]]]:
    """For attribution: ``{clip_id: (creator_id, {product_id: tag_id})}`` of the active tags on
    those clips (clips that are not deleted)."""
    ids = list(set(clip_ids))
    result: dict[uuid.UUID, tuple[uuid.UUID, dict[uuid.UUID, uuid.UUID]]] = {}
    if not ids:
        return result
    rows = session.execute(
        select(Clip.id, Clip.creator_id, Sku.product_id, ProductTag.id)
        .join(ProductTag, ProductTag.clip_id == Clip.id)
        .join(Sku, Sku.id == ProductTag.sku_id)
        .where(Clip.id.in_(ids), Clip.status != ClipStatus.deleted, ProductTag.status == TagStatus.active)
        .order_by(ProductTag.created_at)
    )
    for clip_id, creator_id, product_id, tag_id in rows:
        result.setdefault(clip_id, (creator_id, {}))[1].setdefault(product_id, tag_id)
    return result


def creator_featured_tags(session: Session, creator_id: uuid.UUID) -> list[Any]:
    """Active tags on the creator's ready public clips, newest clip first: rows of
    ``(clip_id, tag_id, sku_id, product_id, clip_ready_at)``."""
    return list(
        session.execute(
            select(ProductTag.clip_id, ProductTag.id, ProductTag.sku_id, Sku.product_id, Clip.ready_at)
            .join(Clip, Clip.id == ProductTag.clip_id)
            .join(Sku, Sku.id == ProductTag.sku_id)
            .where(
                Clip.creator_id == creator_id,
                Clip.status == ClipStatus.ready,
                Clip.visibility == Visibility.public,
                ProductTag.status == TagStatus.active,
            )
            .order_by(Clip.created_at.desc(), Clip.id, ProductTag.start_ms)
        ).all()
    )
