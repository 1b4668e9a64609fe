from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status

from app.accounts.dependencies import CurrentUser, MerchantUser
from app.catalog.dependencies import OrganisationId, unit_of_work_in_this_thread
from app.commerce import service
from app.commerce.exceptions import IdempotencyKeyRequired
from app.commerce.models import Order, OrderStatus
from app.commerce.schemas import (
    CheckoutRequest,
    OrderLineRead,
    OrderPage,
    OrderRead,
    RefundRequest,
    WebhookAck,
)
from app.db import SessionDep
from app.errors import problem_responses

router = APIRouter(tags=["commerce"])


def order_read(order: Order) -> OrderRead:
    return OrderRead(
        id=order.id,
        status=service.effective_status(order),
        buyer_id=order.buyer_id,
        organisation_id=order.organisation_id,
        currency=order.currency,
        subtotal_minor=order.subtotal_minor,
        total_minor=order.total_minor,
        expires_at=order.expires_at,
        clip_id=order.clip_id,
        tag_id=order.tag_id,
        creator_id=order.creator_id,
        lines=[
            OrderLineRead(
                id=line.id,
                sku_id=line.sku_id,
                product_id=line.product_id,
                sku=line.sku_code,
                title=line.title,
                quantity=line.quantity,
                unit_price_minor=line.unit_price_minor,
                line_total_minor=line.line_total_minor,
            )
            for line in order.lines
        ],
        created_at=order.created_at,
        paid_at=order.paid_at,
        cancelled_at=order.cancelled_at,
        refunded_at=order.refunded_at,
    )


@router.post(
    "/v1/checkout",
    response_model=OrderRead,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {
            "model": OrderRead,
            "description": "Replay of an earlier request with the same Idempotency-Key",
        },
        **problem_responses(401, 409, 422, 428),
    },
    openapi_extra={"x-required-headers": ["Idempotency-Key"]},
)
def checkout(
    data: CheckoutRequest,
    user: CurrentUser,
    session: SessionDep,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(
            max_length=255,
            description="Client-chosen unique key; retries with the same key and body return the same order",
        ),
    ] = None,
) -> OrderRead:
    """Reserve stock for every line (all or nothing) and create a `pending_payment` order.

    Not enough stock: 409 `insufficient_stock` with `lines` = every short line and what is
    available. Same key, different body: 409 `idempotency_key_reused`."""
    if not idempotency_key or not idempotency_key.strip():
        raise IdempotencyKeyRequired("Send an Idempotency-Key header (e.g. a UUID) with every checkout")
    with unit_of_work_in_this_thread(session):
        order, created = service.checkout(session, user, data, idempotency_key.strip())
    if not created:
        response.status_code = status.HTTP_200_OK
    return order_read(order)


@router.get(
    "/v1/orders/{order_id}",
    response_model=OrderRead,
    responses=problem_responses(401, 404),
    openapi_extra={"x-access": "authenticated+owner"},
)
def read_order(order_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> OrderRead:
    return order_read(service.get_order_for(session, order_id, user))


@router.post(
    "/v1/orders/{order_id}/cancel",
    response_model=OrderRead,
    responses=problem_responses(401, 404, 409),
    openapi_extra={"x-access": "authenticated+owner"},
)
def cancel_order(order_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> OrderRead:
    """The buyer cancels an unpaid order; its reserved stock is released at once."""
    with unit_of_work_in_this_thread(session):
        order = service.cancel_order(session, order_id, user)
    return order_read(order)


@router.get("/v1/me/orders", response_model=OrderPage, responses=problem_responses(401))
def my_orders(
    user: CurrentUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> OrderPage:
    orders, total = service.list_buyer_orders(session, user.id, limit=limit, offset=offset)
    return OrderPage(items=[order_read(o) for o in orders], total=total, limit=limit, offset=offset)


@router.get("/v1/merchant/orders", response_model=OrderPage, responses=problem_responses(401, 403))
def merchant_orders(
    organisation_id: OrganisationId,
    session: SessionDep,
    status_filter: Annotated[OrderStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> OrderPage:
    orders, total = service.list_merchant_orders(
        session, organisation_id, status=status_filter, limit=limit, offset=offset
    )
    return OrderPage(items=[order_read(o) for o in orders], total=total, limit=limit, offset=offset)


@router.post(
    "/v1/merchant/orders/{order_id}/refund",
    response_model=OrderRead,
    responses=problem_responses(401, 403, 404, 409),
    openapi_extra={"x-access": "merchant_member+owner"},
)
def refund_order(
    order_id: uuid.UUID,
    data: RefundRequest,
    organisation_id: OrganisationId,
    user: MerchantUser,
    session: SessionDep,
) -> OrderRead:
    """Refund a paid (or `refund_required`) order; `restock` puts the units back on hand."""
    with unit_of_work_in_this_thread(session):
        order = service.refund_order(
            session, order_id, organisation_id, restock=data.restock, actor_id=user.id
        )
    return order_read(order)


@router.post(
    "/v1/payments/webhook",
    response_model=WebhookAck,
    responses=problem_responses(400, 503),
    openapi_extra={
        "x-required-headers": ["ClipShop-Signature"],
        "x-access": "webhook_signature",
        "requestBody": {
            "required": True,
            "description": "The provider's event; the signature covers these exact bytes",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["id", "type", "data"],
                        "properties": {
                            "id": {"type": "string", "description": "Provider event id (processed once)"},
                            "type": {"type": "string", "enum": ["payment.succeeded", "payment.failed"]},
                            "data": {
                                "type": "object",
                                "required": ["order_id"],
                                "properties": {
                                    "order_id": {"type": "string", "format": "uuid"},
                                    "amount_minor": {"type": "integer"},
                                    "payment_id": {"type": "string", "maxLength": 200},
                                },
                            },
                        },
                    },
                    "example": {
                        "id": "evt_123",
                        "type": "payment.succeeded",
                        "data": {
                            "order_id": "0b6c8ad4-8a5f-4b3e-9a53-9c1d2d3e4f50",
                            "amount_minor": 4900,
                            "payment_id": "pay_123",
                        },
                    },
                }
            },
        },
    },
)
async def payment_webhook(
    request: Request,
    session: SessionDep,
    signature_header: Annotated[
        str | None,
        Header(
            alias="ClipShop-Signature",
            description="`t=<unix seconds>,v1=<hex HMAC-SHA256(secret, '<t>.' + raw body)>`",
        ),
    ] = None,
) -> WebhookAck:
    """Payment provider events, signed: header `ClipShop-Signature: t=<unix seconds>,v1=<hex>`
    where v1 = HMAC-SHA256(secret, `<t>.<raw body>`). Events: `payment.succeeded`,
    `payment.failed` with `{"id", "type", "data": {"order_id", "amount_minor", "payment_id"}}`.
    Replays of an event id are acknowledged without effect."""
    from starlette.concurrency import run_in_threadpool

    body = await request.body()
    signature = request.headers.get(service.SIGNATURE_HEADER)

    def handle() -> tuple[str, bool]:
        with unit_of_work_in_this_thread(session):
            return service.handle_webhook(session, body, signature)

    outcome, duplicate = await run_in_threadpool(handle)
    return WebhookAck(outcome=outcome, duplicate=duplicate)
