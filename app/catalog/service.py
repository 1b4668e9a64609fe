"""Catalog service: products, SKUs, stock edits, images, and the cheap live reads others use.

Cross-domain callers (feed, tags, commerce) use :func:`live_sku_states`, :func:`stock_version`,
:func:`product_interest_ids`, :func:`skus_for_checkout` and the stock primitives re-exported from
:mod:`app.catalog.stock`; never the tables directly.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, selectinload

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.catalog.exceptions import (
    HandleTaken,
    ImageTooLarge,
    InvalidImage,
    NoOrganisation,
    ProductHasOrders,
    ProductNotFound,
    SkuCodeTaken,
    SkuHasOrders,
    SkuNotFound,
    StockBelowReserved,
    VersionMismatch,
)
from app.catalog.models import (
    LedgerReason,
    Product,
    ProductImage,
    ProductInterest,
    Sku,
    StockLedgerEntry,
)
from app.catalog.schemas import MAX_QUANTITY, ProductCreate, ProductUpdate, SkuCreate, SkuUpdate
from app.catalog.stock import (
    availability_label,
    available_expr,
    change_stock,
    lock_and_release_expired,
    lock_skus,
    release_reservations,
)
from app.config import get_settings
from app.db import on_commit, utcnow
from app.errors import Unprocessable
from app.interests import service as interests_service
from app.media.images import ImageRejected, render_variants
from app.storage import get_storage

__all__ = [
    "availability_label",
    "change_stock",
    "live_sku_states",
    "lock_and_release_expired",
    "lock_skus",
    "release_reservations",
    "stock_version",
]


# --- ownership ----------------------------------------------------------------------------------


def organisation_id_for(session: Session, user: User) -> uuid.UUID:
    organisation_id = accounts_service.get_merchant_organisation_id(session, user.id)
    if organisation_id is None:
        raise NoOrganisation("This account does not belong to a merchant organisation")
    return organisation_id


def get_owned_product(session: Session, organisation_id: uuid.UUID, product_id: uuid.UUID) -> Product:
    product = session.get(Product, product_id)
    # Another merchant's product is reported as missing: its existence is not their business.
    if product is None or product.organisation_id != organisation_id:
        raise ProductNotFound("No such product in your catalog")
    return product


def get_owned_sku(session: Session, organisation_id: uuid.UUID, sku_id: uuid.UUID) -> Sku:
    sku = session.get(Sku, sku_id)
    if sku is None or sku.organisation_id != organisation_id:
        raise SkuNotFound("No such SKU in your catalog")
    return sku


# --- category -> interests ----------------------------------------------------------------------

# Keyword (matched as a word prefix in the category path, case-insensitive) -> interest slug.
# Documented in the README ("Catalog"); merchants can always set `interests` explicitly.
CATEGORY_KEYWORDS: list[tuple[tuple[str, ...], str]] = [
    (("sneaker", "shoe", "plimsoll", "trainer", "footwear"), "fashion.sneakers"),
    (("hoodie", "tshirt", "tee", "sweatshirt", "streetwear"), "fashion.streetwear"),
    (("jewel", "necklace", "earring", "bracelet", "ring", "pendant"), "fashion.jewelry"),
    (("bag", "backpack", "handbag", "tote"), "fashion.bags"),
    (("accessor", "hat", "cap", "belt", "sunglass", "scarf", "watch"), "fashion.accessories"),
    (("clothing", "apparel", "shirt", "dress", "pant", "jacket", "sweater", "top", "jean"), "fashion"),
    (("skincare", "serum", "moisturi", "cleanser"), "beauty.skincare"),
    (("makeup", "lipstick", "mascara", "cosmetic"), "beauty.makeup"),
    (("hair", "shampoo"), "beauty.haircare"),
    (("fragrance", "perfume", "cologne"), "beauty.fragrance"),
    (("beauty",), "beauty"),
    (("garden", "plant", "planter"), "home.garden"),
    (("decor", "candle", "pillow", "cushion", "vase", "rug"), "home.decor"),
    (("furniture", "chair", "sofa", "table", "shelf"), "home.furniture"),
    (("cleaning",), "home.cleaning"),
    (("home", "homeware", "bedding"), "home"),
    (("cookware", "pan", "pot", "knife", "knive"), "kitchen.cookware"),
    (("coffee", "espresso"), "kitchen.coffee"),
    (("kitchen",), "kitchen"),
    (("snack", "candy", "chocolate"), "food.snacks"),
    (("food", "grocer", "juice", "drink", "beverage", "groceries"), "food"),
    (("headphone", "speaker", "earbud", "audio"), "tech.audio"),
    (("phone", "smartphone"), "tech.phones"),
    (("camera",), "tech.cameras"),
    (("electronic", "gadget", "tech"), "tech"),
    (("console",), "gaming.consoles"),
    (("game", "gaming"), "gaming"),
    (("yoga",), "fitness.yoga"),
    (("running",), "fitness.running"),
    (("supplement", "protein"), "fitness.supplements"),
    (("fitness", "gym", "sport"), "fitness"),
    (("camping", "tent"), "outdoors.camping"),
    (("hiking",), "outdoors.hiking"),
    (("cycling", "bike", "bicycle"), "outdoors.cycling"),
    (("outdoor",), "outdoors"),
    (("dog",), "pets.dogs"),
    (("pet",), "pets"),
    (("toy",), "kids.toys"),
    (("baby",), "kids.baby"),
    (("book", "audiobook"), "books"),
    (("music", "album", "mp3", "vinyl"), "entertainment.music"),
    (("film", "movie", "dvd"), "entertainment.film"),
]
_WORD = re.compile(r"[a-z0-9]+")


def category_interest_slugs(category: str | None) -> list[str]:
    if not category:
        return []
    words = _WORD.findall(category.lower().replace("t-shirt", "tshirt"))
    found: list[str] = []
    for keywords, slug in CATEGORY_KEYWORDS:
        if any(word.startswith(k) for word in words for k in keywords) and slug not in found:
            found.append(slug)
    # A specific child makes its parent redundant.
    return [s for s in found if not any(o != s and o.startswith(s + ".") for o in found)]


def _interest_index(session: Session) -> dict[str, int]:
    return {i.slug: i.id for i in interests_service.list_interests(session)}


def _set_interests(
    session: Session,
    product: Product,
    explicit: list[str] | None,
    index: dict[str, int] | None = None,
) -> None:
    if explicit is not None:
        ids = [i.id for i in interests_service.resolve_slugs(session, explicit)]
    else:
        index = index if index is not None else _interest_index(session)
        ids = [index[s] for s in category_interest_slugs(product.category) if s in index]
    session.execute(delete(ProductInterest).where(ProductInterest.product_id == product.id))
    for interest_id in dict.fromkeys(ids):
        session.add(ProductInterest(product_id=product.id, interest_id=interest_id))


def product_interest_ids(session: Session, product_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[int]]:
    ids = list(set(product_ids))
    result: dict[uuid.UUID, list[int]] = {pid: [] for pid in ids}
    if ids:
        for pid, iid in session.execute(
            select(ProductInterest.product_id, ProductInterest.interest_id).where(
                ProductInterest.product_id.in_(ids)
            )
        ):
            result[pid].append(iid)
    return result


def product_interest_slugs(session: Session, product_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    ids = product_interest_ids(session, product_ids)
    slug_of = {v: k for k, v in _interest_index(session).items()}
    return {pid: [slug_of[i] for i in iids if i in slug_of] for pid, iids in ids.items()}


# --- products and SKUs --------------------------------------------------------------------------


def _add_sku(
    session: Session, product: Product, data: SkuCreate, actor_id: uuid.UUID | None, reason: LedgerReason
) -> Sku:
    sku = Sku(
        product_id=product.id,
        organisation_id=product.organisation_id,
        code=data.sku.strip(),
        options=data.options,
        price_minor=data.price_minor,
        currency=data.currency,
        compare_at_minor=data.compare_at_minor,
        active=data.active,
        quantity=data.quantity,
        reserved=0,
        version=1,
    )
    session.add(sku)
    session.flush()
    if data.quantity:
        session.add(
            StockLedgerEntry(
                sku_id=sku.id,
                reason=reason,
                actor_id=actor_id,
                quantity_before=0,
                quantity_after=data.quantity,
                reserved_before=0,
                reserved_after=0,
                delta=data.quantity,
                note="initial stock",
            )
        )
    return sku


def _check_codes_free(session: Session, organisation_id: uuid.UUID, codes: Sequence[str]) -> None:
    stripped = [c.strip() for c in codes]
    duplicates = sorted({c for c in stripped if stripped.count(c) > 1})
    if duplicates:
        raise SkuCodeTaken(f"SKU codes repeated in the request: {', '.join(duplicates)}", codes=duplicates)
    taken = list(
        session.scalars(
            select(Sku.code).where(Sku.organisation_id == organisation_id, Sku.code.in_(stripped))
        )
    )
    if taken:
        raise SkuCodeTaken(f"SKU codes already used in your catalog: {', '.join(sorted(taken))}", codes=taken)


def create_product(
    session: Session, organisation_id: uuid.UUID, data: ProductCreate, actor_id: uuid.UUID | None
) -> Product:
    _check_codes_free(session, organisation_id, [s.sku for s in data.skus])
    if data.handle and session.scalar(
        select(Product.id).where(Product.organisation_id == organisation_id, Product.handle == data.handle)
    ):
        raise HandleTaken(f"A product with handle {data.handle!r} exists")
    product = Product(
        organisation_id=organisation_id,
        handle=data.handle,
        title=data.title,
        description=data.description,
        brand=data.brand,
        category=data.category,
        active=data.active,
    )
    session.add(product)
    session.flush()
    _set_interests(session, product, data.interests)
    for sku_data in data.skus:
        _add_sku(session, product, sku_data, actor_id, LedgerReason.initial)
    session.flush()
    return product


def update_product(session: Session, product: Product, data: ProductUpdate) -> Product:
    fields = data.model_dump(exclude_unset=True)
    interests = fields.pop("interests", None)
    for name, value in fields.items():
        if name == "title" and value is None:
            continue
        setattr(product, name, value)
    if interests is not None or "category" in fields:
        _set_interests(session, product, interests)
    product.updated_at = utcnow()
    session.flush()
    return product


def add_sku(session: Session, product: Product, data: SkuCreate, actor_id: uuid.UUID | None) -> Sku:
    _check_codes_free(session, product.organisation_id, [data.sku])
    sku = _add_sku(session, product, data, actor_id, LedgerReason.initial)
    session.flush()
    return sku


def update_sku(session: Session, sku: Sku, data: SkuUpdate) -> Sku:
    fields = data.model_dump(exclude_unset=True)
    code = fields.pop("sku", None)
    if code is not None and code.strip() != sku.code:
        _check_codes_free(session, sku.organisation_id, [code])
        sku.code = code.strip()
    for name, value in fields.items():
        if value is None and name != "compare_at_minor":
            continue
        setattr(sku, name, value)
    sku.updated_at = utcnow()
    sku.stock_changed_at = utcnow()  # visibility changes matter to the feed as much as stock does
    session.flush()
    return sku


def _skus_with_orders(session: Session, sku_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    from app.commerce import service as commerce_service

    return commerce_service.skus_referenced_by_orders(session, sku_ids)


def delete_sku(session: Session, sku: Sku) -> None:
    if _skus_with_orders(session, [sku.id]):
        raise SkuHasOrders("Orders reference this SKU: deactivate it instead (PATCH active=false)")
    session.delete(sku)
    session.flush()


def delete_product(session: Session, product: Product) -> None:
    sku_ids = list(session.scalars(select(Sku.id).where(Sku.product_id == product.id)))
    if _skus_with_orders(session, sku_ids):
        raise ProductHasOrders(
            "Orders reference SKUs of this product: deactivate it instead (PATCH active=false)"
        )
    keys = [img.key_prefix for img in product.images if img.key_prefix]
    session.execute(delete(Sku).where(Sku.product_id == product.id))
    session.delete(product)
    session.flush()
    storage = get_storage()

    def remove_files() -> None:
        for key in keys:
            storage.delete_prefix(key)

    on_commit(session, remove_files)


def list_products(
    session: Session, organisation_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[list[Product], int]:
    base = select(Product).where(Product.organisation_id == organisation_id)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    products = list(
        session.scalars(
            base.options(selectinload(Product.skus), selectinload(Product.images))
            .order_by(Product.created_at.desc(), Product.id)
            .limit(limit)
            .offset(offset)
        )
    )
    return products, total


def browse_products(
    session: Session, query: str | None, *, after: tuple[str, uuid.UUID] | None, limit: int
) -> tuple[list[Product], tuple[str, uuid.UUID] | None]:
    """Active products (with at least one active SKU) whose title, brand or category contains
    ``query``, ordered by title; keyset pages after ``(title, id)``."""
    base = select(Product).where(
        Product.active.is_(True),
        select(Sku.id).where(Sku.product_id == Product.id, Sku.active.is_(True)).exists(),
    )
    # printable words only (PostgreSQL refuses NUL in text; nothing else matches control characters)
    words = "".join(ch if ch.isprintable() else " " for ch in (query or "")).lower().split()[:5]
    for word in words:
        pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        base = base.where(
            func.lower(Product.title).like(pattern, escape="\\")
            | func.lower(func.coalesce(Product.brand, "")).like(pattern, escape="\\")
            | func.lower(func.coalesce(Product.category, "")).like(pattern, escape="\\")
        )
    if after is not None:
        title, last_id = after
        base = base.where((Product.title > title) | ((Product.title == title) & (Product.id > last_id)))
    rows = list(
        session.scalars(
            base.options(selectinload(Product.skus), selectinload(Product.images))
            .order_by(Product.title, Product.id)
            .limit(limit + 1)
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, ((rows[-1].title, rows[-1].id) if more and rows else None)


def get_public_product(session: Session, product_id: uuid.UUID) -> Product:
    product = session.get(Product, product_id)
    if product is None or not product.active:
        raise ProductNotFound("No such product")
    return product


def get_public_sku(session: Session, sku_id: uuid.UUID) -> Sku:
    sku = session.get(Sku, sku_id)
    if sku is None or not sku.active or not sku.product.active:
        raise SkuNotFound("No such SKU")
    return sku


# --- live stock reads ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StockState:
    quantity: int
    reserved: int  # live reservations only (expired ones excluded)
    available: int
    version: int


def stock_states(session: Session, sku_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, StockState]:
    ids = list(set(sku_ids))
    if not ids:
        return {}
    available = available_expr()
    rows = session.execute(
        select(Sku.id, Sku.quantity, Sku.version, available.label("available")).where(Sku.id.in_(ids))
    )
    return {
        row.id: StockState(
            quantity=row.quantity,
            reserved=row.quantity - int(row.available),
            available=max(0, int(row.available)),
            version=row.version,
        )
        for row in rows
    }


def live_sku_states(
    session: Session, sku_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, tuple[int, str, int, str]]:
    """``{sku_id: (price_minor, currency, available, availability)}`` for active SKUs of active
    products, computed live in one query (expired reservations never count). Inactive or missing
    SKUs are absent from the result."""
    ids = list(set(sku_ids))
    if not ids:
        return {}
    threshold = get_settings().low_stock_threshold
    rows = session.execute(
        select(Sku.id, Sku.price_minor, Sku.currency, available_expr().label("available"))
        .join(Product, Product.id == Sku.product_id)
        .where(Sku.id.in_(ids), Sku.active.is_(True), Product.active.is_(True))
    )
    result = {}
    for row in rows:
        available = max(0, int(row.available))
        result[row.id] = (row.price_minor, row.currency, available, availability_label(available, threshold))
    return result


def stock_version(session: Session) -> str:
    """A cheap signal that changes whenever any SKU's availability may have changed: the latest
    stock/visibility change plus the number of reservations that have expired but not been
    released (expiry changes availability without a write). Compare with the previous value;
    when it differs, re-read :func:`live_sku_states`."""
    from app.catalog.models import ReservationState, StockReservation

    latest = session.scalar(select(func.max(Sku.stock_changed_at)))
    lapsed = session.scalar(
        select(func.count())
        .select_from(StockReservation)
        .where(StockReservation.state == ReservationState.active, StockReservation.expires_at <= utcnow())
    )
    return f"{latest.isoformat() if isinstance(latest, datetime) else latest}|{lapsed}"


@dataclass(frozen=True)
class CheckoutSku:
    id: uuid.UUID
    product_id: uuid.UUID
    organisation_id: uuid.UUID
    code: str
    title: str
    price_minor: int
    currency: str
    purchasable: bool


def skus_for_checkout(session: Session, sku_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, CheckoutSku]:
    ids = list(set(sku_ids))
    rows = session.execute(
        select(
            Sku.id,
            Sku.product_id,
            Sku.organisation_id,
            Sku.code,
            Product.title,
            Sku.price_minor,
            Sku.currency,
            (Sku.active & Product.active).label("purchasable"),
        )
        .join(Product, Product.id == Sku.product_id)
        .where(Sku.id.in_(ids))
    )
    return {
        row.id: CheckoutSku(
            row.id,
            row.product_id,
            row.organisation_id,
            row.code,
            row.title,
            row.price_minor,
            row.currency,
            bool(row.purchasable),
        )
        for row in rows
    }


# --- stock edits --------------------------------------------------------------------------------


def set_stock(
    session: Session,
    sku: Sku,
    quantity: int,
    *,
    expected_version: int,
    actor_id: uuid.UUID,
    note: str | None = None,
) -> StockState:
    """Absolute quantity with optimistic concurrency: refused (412) unless the caller saw the
    current version."""
    locked = lock_and_release_expired(session, [sku.id])
    current_quantity, reserved, _active = locked[sku.id]
    session.refresh(sku)
    if sku.version != expected_version:
        raise VersionMismatch(
            f"The stock changed since you read it (version {sku.version}, you sent {expected_version})",
            current_version=sku.version,
        )
    if quantity < reserved:
        raise StockBelowReserved(
            f"{reserved} units are reserved by unpaid orders; the quantity cannot go below that",
            reserved=reserved,
        )
    change_stock(
        session,
        sku.id,
        reason=LedgerReason.set,
        quantity_delta=quantity - current_quantity,
        actor_id=actor_id,
        note=note,
        bump_version=True,
    )
    session.flush()
    return stock_states(session, [sku.id])[sku.id]


def adjust_stock(session: Session, sku: Sku, delta: int, *, reason: str, actor_id: uuid.UUID) -> StockState:
    locked = lock_and_release_expired(session, [sku.id])
    quantity, reserved, _active = locked[sku.id]
    if quantity + delta > MAX_QUANTITY:
        raise Unprocessable(f"A SKU holds at most {MAX_QUANTITY} units", code="quantity_too_large")
    if quantity + delta < reserved:
        raise StockBelowReserved(
            f"Removing {-delta} units would leave less than the {reserved} units reserved by unpaid orders "
            f"(on hand: {quantity})",
            reserved=reserved,
            quantity=quantity,
        )
    change_stock(
        session, sku.id, reason=LedgerReason.adjust, quantity_delta=delta, actor_id=actor_id, note=reason
    )
    session.flush()
    return stock_states(session, [sku.id])[sku.id]


def ledger(
    session: Session, sku_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[list[StockLedgerEntry], int]:
    base = select(StockLedgerEntry).where(StockLedgerEntry.sku_id == sku_id)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    entries = list(
        session.scalars(
            base.order_by(StockLedgerEntry.created_at.desc(), StockLedgerEntry.id).limit(limit).offset(offset)
        )
    )
    return entries, total


# --- images -------------------------------------------------------------------------------------


def add_image(session: Session, product: Product, data: bytes, alt: str | None = None) -> ProductImage:
    settings = get_settings()
    if len(data) > settings.product_image_max_bytes:
        raise ImageTooLarge(f"Images are limited to {settings.product_image_max_bytes} bytes")
    try:
        variants = render_variants(data, settings.product_image_widths, max_pixels=settings.image_max_pixels)
    except ImageRejected as exc:
        if exc.code == "image_too_large":
            raise ImageTooLarge(exc.message)
        raise InvalidImage(exc.message, code=exc.code)
    image_id = uuid.uuid4()
    prefix = f"products/{product.id}/{image_id}"
    storage = get_storage()
    stored: list[dict[str, Any]] = []
    for variant in variants:
        key = f"{prefix}/{variant.width}.{'jpg' if variant.format == 'jpeg' else variant.format}"
        storage.put_bytes(key, variant.data, variant.content_type)
        stored.append(
            {"width": variant.width, "height": variant.height, "format": variant.format, "key": key}
        )
    largest = max(variants, key=lambda v: v.width)
    position = (
        session.scalar(select(func.max(ProductImage.position)).where(ProductImage.product_id == product.id))
        or -1
    ) + 1
    image = ProductImage(
        id=image_id,
        product_id=product.id,
        position=position,
        key_prefix=prefix,
        variants=stored,
        width=largest.width,
        height=largest.height,
        alt=alt,
    )
    session.add(image)
    session.flush()
    # Files are written before the commit: if the transaction then fails they are unreferenced
    # objects under a random prefix, never served through the API.
    return image


def delete_image(session: Session, product: Product, image_id: uuid.UUID) -> None:
    image = session.get(ProductImage, image_id)
    if image is None or image.product_id != product.id:
        raise ProductNotFound("No such image on this product", code="image_not_found")
    prefix = image.key_prefix
    session.delete(image)
    session.flush()
    if prefix:
        on_commit(session, lambda: get_storage().delete_prefix(prefix))


def image_url(image: ProductImage) -> str | None:
    jpegs = [v for v in image.variants if v.get("format") == "jpeg"]
    if jpegs:
        return get_storage().url_for(max(jpegs, key=lambda v: v["width"])["key"])
    return image.source_url


def first_image_urls(session: Session, product_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str | None]:
    ids = list(set(product_ids))
    result: dict[uuid.UUID, str | None] = {}
    if not ids:
        return result
    for image in session.scalars(
        select(ProductImage).where(ProductImage.product_id.in_(ids)).order_by(ProductImage.position)
    ):
        if image.product_id not in result:
            result[image.product_id] = image_url(image)
    return result


# --- creator programme reads --------------------------------------------------------------------


@dataclass(frozen=True)
class ProductCard:
    id: uuid.UUID
    organisation_id: uuid.UUID
    title: str
    brand: str | None
    category: str | None
    image_url: str | None
    interests: list[str]
    # (sku_id, code, price_minor, currency, available, availability) of active SKUs
    skus: list[tuple[uuid.UUID, str, int, str, int, str]]


def product_cards(session: Session, product_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, ProductCard]:
    """Active products among ``product_ids`` with live price and availability of their active
    SKUs (three queries in all)."""
    ids = list(set(product_ids))
    if not ids:
        return {}
    products = list(
        session.execute(
            select(Product.id, Product.organisation_id, Product.title, Product.brand, Product.category).where(
                Product.id.in_(ids), Product.active.is_(True)
            )
        )
    )
    found = [row.id for row in products]
    skus: dict[uuid.UUID, list[tuple[uuid.UUID, str, int, str, int, str]]] = {pid: [] for pid in found}
    threshold = get_settings().low_stock_threshold
    if found:
        for row in session.execute(
            select(
                Sku.id,
                Sku.product_id,
                Sku.code,
                Sku.price_minor,
                Sku.currency,
                available_expr().label("available"),
            )
            .where(Sku.product_id.in_(found), Sku.active.is_(True))
            .order_by(Sku.created_at, Sku.id)
        ):
            available = max(0, int(row.available))
            skus[row.product_id].append(
                (
                    row.id,
                    row.code,
                    row.price_minor,
                    row.currency,
                    available,
                    availability_label(available, threshold),
                )
            )
    images = first_image_urls(session, found)
    interests = product_interest_slugs(session, found)
    return {
        row.id: ProductCard(
            row.id,
            row.organisation_id,
            row.title,
            row.brand,
            row.category,
            images.get(row.id),
            interests.get(row.id, []),
            skus[row.id],
        )
        for row in products
    }


def product_categories(
    session: Session, product_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, tuple[uuid.UUID, str | None]]:
    """``{product_id: (organisation_id, category)}`` (active or not: orders outlive activity)."""
    ids = list(set(product_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(Product.id, Product.organisation_id, Product.category).where(Product.id.in_(ids))
    )
    return {pid: (org, category) for pid, org, category in rows}


def active_product_ids(
    session: Session, organisation_ids: Iterable[uuid.UUID], limit: int
) -> list[uuid.UUID]:
    ids = list(set(organisation_ids))
    if not ids:
        return []
    return list(
        session.scalars(
            select(Product.id)
            .where(Product.organisation_id.in_(ids), Product.active.is_(True))
            .order_by(Product.id)
            .limit(limit)
        )
    )


def organisation_skus(session: Session, organisation_id: uuid.UUID) -> list[Any]:
    """Light rows (id, product_id, code, title, currency) of an organisation's SKUs, for reports."""
    return list(
        session.execute(
            select(Sku.id, Sku.product_id, Sku.code, Product.title, Sku.currency)
            .join(Product, Product.id == Sku.product_id)
            .where(Sku.organisation_id == organisation_id)
            .order_by(Product.title, Sku.code)
        ).all()
    )
