from __future__ import annotations

import base64
import json
import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, Header, Query, Response, UploadFile, status

from app.accounts.dependencies import MerchantUser
from app.catalog import imports, service
from app.catalog.dependencies import OrganisationId, OwnedProduct, OwnedSku, unit_of_work_in_this_thread
from app.catalog.exceptions import (
    ImageTooLarge,
    ImportTooLarge,
    InvalidProductCursor,
    PreconditionRequired,
)
from app.catalog.models import Product, ProductImage
from app.catalog.schemas import (
    ImageVariantRead,
    ImportRead,
    LedgerEntryRead,
    LedgerPage,
    MerchantProductPage,
    MerchantProductRead,
    MerchantSkuRead,
    ProductCreate,
    ProductImageRead,
    ProductPage,
    ProductRead,
    ProductUpdate,
    SkuCreate,
    SkuPublicRead,
    SkuRead,
    SkuUpdate,
    StockAdjust,
    StockRead,
    StockSet,
)
from app.catalog.stock import availability_label
from app.config import get_settings
from app.db import SessionDep
from app.errors import problem_responses
from app.storage import get_storage

router = APIRouter()
merchant = APIRouter(tags=["catalog"])
public = APIRouter(tags=["catalog"])

MERCHANT_ERRORS = problem_responses(401, 403, 404)


# --- presenters ---------------------------------------------------------------------------------


def image_read(image: ProductImage) -> ProductImageRead:
    storage = get_storage()
    return ProductImageRead(
        id=image.id,
        position=image.position,
        url=service.image_url(image) or "",
        width=image.width,
        height=image.height,
        alt=image.alt,
        variants=[
            ImageVariantRead(width=v["width"], format=v["format"], url=storage.url_for(v["key"]))
            for v in image.variants
        ],
    )


def product_read(session: SessionDep, product: Product, *, merchant_view: bool) -> ProductRead:
    session.refresh(product)
    skus = sorted(product.skus, key=lambda s: (s.created_at, s.code))
    if not merchant_view:
        skus = [s for s in skus if s.active]
    states = service.stock_states(session, [s.id for s in skus])
    threshold = get_settings().low_stock_threshold
    sku_reads: list[SkuRead] = []
    for sku in skus:
        state = states[sku.id]
        fields = {
            "id": sku.id,
            "product_id": sku.product_id,
            "sku": sku.code,
            "options": sku.options,
            "price_minor": sku.price_minor,
            "currency": sku.currency,
            "compare_at_minor": sku.compare_at_minor,
            "active": sku.active,
            "available": state.available,
            "availability": availability_label(state.available, threshold),
        }
        if merchant_view:
            sku_reads.append(
                MerchantSkuRead(
                    **fields, quantity=state.quantity, reserved=state.reserved, version=state.version
                )
            )
        else:
            sku_reads.append(SkuRead(**fields))
    data = {
        "id": product.id,
        "organisation_id": product.organisation_id,
        "title": product.title,
        "description": product.description,
        "brand": product.brand,
        "category": product.category,
        "handle": product.handle,
        "interests": service.product_interest_slugs(session, [product.id])[product.id],
        "active": product.active,
        "images": [image_read(i) for i in product.images],
        "skus": sku_reads,
        "created_at": product.created_at,
        "updated_at": product.updated_at,
    }
    return MerchantProductRead(**data) if merchant_view else ProductRead(**data)  # type: ignore[arg-type]


def stock_read(sku_id: uuid.UUID, state: service.StockState) -> StockRead:
    return StockRead(
        sku_id=sku_id,
        quantity=state.quantity,
        reserved=state.reserved,
        available=state.available,
        availability=availability_label(state.available, get_settings().low_stock_threshold),  # type: ignore[arg-type]
        version=state.version,
    )


def _etag(version: int) -> str:
    return f'"{version}"'


def _parse_if_match(value: str | None) -> int:
    if value is None:
        raise PreconditionRequired("Send If-Match with the stock version (ETag) you read")
    raw = value.strip().removeprefix("W/").strip('"')
    try:
        return int(raw)
    except ValueError:
        raise PreconditionRequired(
            'If-Match must be the ETag of the stock, e.g. "3"', code="invalid_if_match"
        )


# --- merchant: products -------------------------------------------------------------------------


@merchant.post(
    "/v1/merchant/products",
    response_model=MerchantProductRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 403, 409, 422),
)
def create_product(
    data: ProductCreate, organisation_id: OrganisationId, user: MerchantUser, session: SessionDep
) -> ProductRead:
    product = service.create_product(session, organisation_id, data, user.id)
    return product_read(session, product, merchant_view=True)


@merchant.get(
    "/v1/merchant/products", response_model=MerchantProductPage, responses=problem_responses(401, 403)
)
def list_products(
    organisation_id: OrganisationId,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> MerchantProductPage:
    products, total = service.list_products(session, organisation_id, limit=limit, offset=offset)
    items = [product_read(session, p, merchant_view=True) for p in products]
    return MerchantProductPage(items=items, total=total, limit=limit, offset=offset)  # type: ignore[arg-type]


@merchant.get(
    "/v1/merchant/products/{product_id}", response_model=MerchantProductRead, responses=MERCHANT_ERRORS
)
def read_owned_product(product: OwnedProduct, session: SessionDep) -> ProductRead:
    return product_read(session, product, merchant_view=True)


@merchant.patch(
    "/v1/merchant/products/{product_id}",
    response_model=MerchantProductRead,
    responses=problem_responses(401, 403, 404, 422),
)
def update_product(data: ProductUpdate, product: OwnedProduct, session: SessionDep) -> ProductRead:
    service.update_product(session, product, data)
    return product_read(session, product, merchant_view=True)


@merchant.delete(
    "/v1/merchant/products/{product_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(401, 403, 404, 409),
)
def delete_product(product: OwnedProduct, session: SessionDep) -> Response:
    service.delete_product(session, product)
    return Response(status_code=204)


@merchant.post(
    "/v1/merchant/products/{product_id}/skus",
    response_model=MerchantProductRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def add_sku(data: SkuCreate, product: OwnedProduct, user: MerchantUser, session: SessionDep) -> ProductRead:
    service.add_sku(session, product, data, user.id)
    return product_read(session, product, merchant_view=True)


@merchant.patch(
    "/v1/merchant/skus/{sku_id}",
    response_model=MerchantProductRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def update_sku(data: SkuUpdate, sku: OwnedSku, session: SessionDep) -> ProductRead:
    service.update_sku(session, sku, data)
    return product_read(session, sku.product, merchant_view=True)


@merchant.delete(
    "/v1/merchant/skus/{sku_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(401, 403, 404, 409),
)
def delete_sku(sku: OwnedSku, session: SessionDep) -> Response:
    service.delete_sku(session, sku)
    return Response(status_code=204)


# --- merchant: stock ----------------------------------------------------------------------------


@merchant.get("/v1/merchant/skus/{sku_id}/stock", response_model=StockRead, responses=MERCHANT_ERRORS)
def read_stock(sku: OwnedSku, session: SessionDep, response: Response) -> StockRead:
    state = service.stock_states(session, [sku.id])[sku.id]
    response.headers["ETag"] = _etag(state.version)
    return stock_read(sku.id, state)


@merchant.put(
    "/v1/merchant/skus/{sku_id}/stock",
    response_model=StockRead,
    responses=problem_responses(401, 403, 404, 409, 412, 422, 428),
    openapi_extra={"x-required-headers": ["If-Match"]},
)
def set_stock(
    data: StockSet,
    sku: OwnedSku,
    user: MerchantUser,
    session: SessionDep,
    response: Response,
    if_match: Annotated[str | None, Header(description='Stock version from the ETag, e.g. "3"')] = None,
) -> StockRead:
    """Set the on-hand quantity. Requires `If-Match` with the ETag of the stock read (428 without,
    412 when someone changed the stock since)."""
    expected = _parse_if_match(if_match)
    state = service.set_stock(
        session, sku, data.quantity, expected_version=expected, actor_id=user.id, note=data.note
    )
    response.headers["ETag"] = _etag(state.version)
    return stock_read(sku.id, state)


@merchant.post(
    "/v1/merchant/skus/{sku_id}/stock/adjustments",
    response_model=StockRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def adjust_stock(
    data: StockAdjust, sku: OwnedSku, user: MerchantUser, session: SessionDep, response: Response
) -> StockRead:
    with unit_of_work_in_this_thread(session):
        state = service.adjust_stock(session, sku, data.delta, reason=data.reason, actor_id=user.id)
    response.headers["ETag"] = _etag(state.version)
    return stock_read(sku.id, state)


@merchant.get("/v1/merchant/skus/{sku_id}/stock/ledger", response_model=LedgerPage, responses=MERCHANT_ERRORS)
def stock_ledger(
    sku: OwnedSku,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> LedgerPage:
    entries, total = service.ledger(session, sku.id, limit=limit, offset=offset)
    return LedgerPage(items=[LedgerEntryRead.model_validate(e) for e in entries], total=total)


# --- merchant: images and imports (large bodies: under /v1/merchant/catalog/) ------------------


async def _read_limited(upload: UploadFile, limit: int, error: type[Exception]) -> bytes:
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise error(f"The file is larger than {limit} bytes")
    return data


@merchant.post(
    "/v1/merchant/catalog/products/{product_id}/images",
    response_model=ProductImageRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 403, 404, 413, 422),
)
async def upload_image(
    product: OwnedProduct,
    session: SessionDep,
    file: Annotated[UploadFile, File(description="JPEG, PNG, WebP, GIF, BMP or TIFF")],
    alt: Annotated[str | None, Form(max_length=300)] = None,
) -> ProductImageRead:
    from starlette.concurrency import run_in_threadpool

    data = await _read_limited(file, get_settings().product_image_max_bytes, ImageTooLarge)
    image = await run_in_threadpool(service.add_image, session, product, data, alt)
    return image_read(image)


@merchant.delete(
    "/v1/merchant/products/{product_id}/images/{image_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=MERCHANT_ERRORS,
)
def delete_image(image_id: uuid.UUID, product: OwnedProduct, session: SessionDep) -> Response:
    service.delete_image(session, product, image_id)
    return Response(status_code=204)


@merchant.post(
    "/v1/merchant/catalog/imports",
    response_model=ImportRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(400, 401, 403, 413, 422),
)
async def start_import(
    organisation_id: OrganisationId,
    user: MerchantUser,
    session: SessionDep,
    file: Annotated[UploadFile, File(description="CSV or JSON Lines (see README, Catalog import)")],
    format: Annotated[
        imports.ImportFormat | None,
        Form(
            description="native_csv, native_jsonl, shopify_csv, woocommerce_csv, saleor_json; guessed when omitted"
        ),
    ] = None,
    currency: Annotated[
        str,
        Form(
            description="Currency of the prices for formats without one (Shopify, WooCommerce, Saleor channel)"
        ),
    ] = "USD",
) -> ImportRead:
    """Queue a bulk import; poll `GET /v1/merchant/catalog/imports/{id}` for progress and errors."""
    from starlette.concurrency import run_in_threadpool

    data = await _read_limited(file, get_settings().catalog_import_max_bytes, ImportTooLarge)
    job = await run_in_threadpool(
        imports.start_import, session, organisation_id, user.id, data, format, file.filename or "", currency
    )
    return imports.import_read(job)


@merchant.get(
    "/v1/merchant/catalog/imports/{import_id}", response_model=ImportRead, responses=MERCHANT_ERRORS
)
def read_import(import_id: uuid.UUID, organisation_id: OrganisationId, session: SessionDep) -> ImportRead:
    return imports.import_read(imports.get_import(session, organisation_id, import_id))


# --- public reads -------------------------------------------------------------------------------


def _encode_product_cursor(key: tuple[str, uuid.UUID]) -> str:
    return base64.urlsafe_b64encode(json.dumps([key[0], str(key[1])]).encode()).decode().rstrip("=")


def _decode_product_cursor(cursor: str) -> tuple[str, uuid.UUID]:
    try:
        title, raw_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(title, str) or "\x00" in title:
            raise ValueError("not a title")
        return title, uuid.UUID(str(raw_id))
    except (ValueError, TypeError) as exc:
        raise InvalidProductCursor("The cursor is not one this list handed out") from exc


@public.get(
    "/v1/products",
    response_model=ProductPage,
    operation_id="catalog_browse_products",
    summary="Browse the public catalogue",
    description=(
        "Who may call it: anyone. Active products with at least one active SKU, by title; `q` "
        "keeps those whose title, brand or category contains every word (what the tagging editor "
        "searches). Cursor pages. Problem codes: `invalid_cursor`."
    ),
    responses={
        **problem_responses(400),
        200: {"content": {"application/json": {"example": {"items": [], "next_cursor": None}}}},
    },
)
def browse_products(
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=200, description="Words to look for")] = None,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ProductPage:
    after = _decode_product_cursor(cursor) if cursor else None
    products, last = service.browse_products(session, q, after=after, limit=limit)
    items = [product_read(session, p, merchant_view=False) for p in products]
    return ProductPage(items=items, next_cursor=_encode_product_cursor(last) if last else None)


@public.get(
    "/v1/products/{product_id}",
    response_model=ProductRead,
    responses=problem_responses(404),
    openapi_extra={"x-access": "public"},
)
def read_product(product_id: uuid.UUID, session: SessionDep) -> ProductRead:
    product = service.get_public_product(session, product_id)
    return product_read(session, product, merchant_view=False)


@public.get(
    "/v1/skus/{sku_id}",
    response_model=SkuPublicRead,
    responses=problem_responses(404),
    openapi_extra={"x-access": "public"},
)
def read_sku(sku_id: uuid.UUID, session: SessionDep) -> SkuPublicRead:
    """Price and live availability (reservations of unpaid, unexpired orders are subtracted)."""
    sku = service.get_public_sku(session, sku_id)
    state = service.stock_states(session, [sku.id])[sku.id]
    return SkuPublicRead(
        id=sku.id,
        product_id=sku.product_id,
        sku=sku.code,
        options=sku.options,
        price_minor=sku.price_minor,
        currency=sku.currency,
        compare_at_minor=sku.compare_at_minor,
        active=sku.active,
        available=state.available,
        availability=availability_label(state.available, get_settings().low_stock_threshold),  # type: ignore[arg-type]
        product_title=sku.product.title,
        image=service.first_image_urls(session, [sku.product_id]).get(sku.product_id),
    )


router.include_router(merchant)
router.include_router(public)
