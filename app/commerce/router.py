from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status

from app.accounts.dependencies import CurrentUser, MerchantUser
from app.catalog.dependencies import OrganisationId, unit_of_work_in_this_thread
from app.commerce import service
from app.commerce.exceptions import IdempotencyKeyRequired
from app.commerce.models import Order, OrderStatus, Refund
from app.commerce.schemas import (
    CheckoutRequest,
    OrderLineRead,
    OrderPage,
    OrderRead,
    PartialRefundRequest,
    RefundCreated,
    RefundLineRead,
    RefundRead,
    RefundRequest,
    WebhookAck,
)
from app.db import SessionDep
from app.errors import problem_responses

router = APIRouter(tags=["commerce"])


def refund_read(refund: Refund, *, for_merchant: bool = True) -> RefundRead:
    return RefundRead(
        id=refund.id,
        order_id=refund.order_id,
        number=refund.number,
        currency=refund.currency,
        amount_minor=refund.amount_minor,
        restock=refund.restock,
        reason=refund.reason,
        created_by=refund.created_by if for_merchant else None,
        created_at=refund.created_at,
        lines=[
            RefundLineRead(
                line_id=line.order_line_id,
                quantity=line.quantity,
                amount_minor=line.amount_minor,
                restocked_quantity=line.restocked_quantity,
            )
            for line in refund.lines
        ],
    )


def order_read(order: Order, *, for_merchant: bool = True) -> OrderRead:
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
                refunded_quantity=line.refunded_quantity,
                refunded_minor=line.refunded_minor,
                restocked_quantity=line.restocked_quantity,
            )
            for line in order.lines
        ],
        refunded_minor=order.refunded_minor,
        refunds=[refund_read(refund, for_merchant=for_merchant) for refund in order.refunds],
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
    order = service.get_order_for(session, order_id, user)
    return order_read(order, for_merchant=order.buyer_id != user.id)


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
    return order_read(order, for_merchant=False)


@router.get("/v1/me/orders", response_model=OrderPage, responses=problem_responses(401))
def my_orders(
    user: CurrentUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> OrderPage:
    orders, total = service.list_buyer_orders(session, user.id, limit=limit, offset=offset)
    return OrderPage(
        items=[order_read(o, for_merchant=False) for o in orders], total=total, limit=limit, offset=offset
    )


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


def _idempotency_key(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="Optional client-chosen key: a retry with the same key and body returns the "
        "first refund and refunds nothing more",
    ),
]


@router.post(
    "/v1/merchant/orders/{order_id}/refund",
    response_model=OrderRead,
    responses=problem_responses(401, 403, 404, 409, 422),
    openapi_extra={"x-access": "merchant_member+owner"},
)
def refund_order(
    order_id: uuid.UUID,
    data: RefundRequest,
    organisation_id: OrganisationId,
    user: MerchantUser,
    session: SessionDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> OrderRead:
    """Refund everything not refunded yet of a paid, partially refunded or `refund_required`
    order (the whole order when nothing was refunded); `restock` puts those units back on hand.
    The order becomes `refunded`; the refund is listed in its `refunds`."""
    with unit_of_work_in_this_thread(session):
        order = service.refund_order(
            session,
            order_id,
            organisation_id,
            restock=data.restock,
            actor_id=user.id,
            reason=data.reason,
            idempotency_key=_idempotency_key(idempotency_key),
        )
    return order_read(order)


@router.post(
    "/v1/merchant/orders/{order_id}/refunds",
    response_model=RefundCreated,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {
            "model": RefundCreated,
            "description": "Replay of an earlier request with the same Idempotency-Key",
        },
        **problem_responses(401, 403, 404, 409, 422),
    },
    openapi_extra={"x-access": "merchant_member+owner"},
)
def create_refund(
    order_id: uuid.UUID,
    data: PartialRefundRequest,
    organisation_id: OrganisationId,
    user: MerchantUser,
    session: SessionDep,
    response: Response,
    idempotency_key: IdempotencyKeyHeader = None,
) -> RefundCreated:
    """Refund chosen lines of a paid order: `quantity` units of each (0 for money only) and
    optionally `amount_minor` (default: those units' share of what remains refundable on the
    line). `restock` puts the refunded units back on hand. Refunds may follow each other until
    the order is fully refunded; the order is `partially_refunded`, then `refunded`.

    422 `unknown_order_line`, `duplicate_refund_line`, `refund_exceeds_remaining` (with `lines`:
    each line over, the `field`, `requested` and `remaining`), `empty_refund`; 409
    `order_not_refundable` (not paid, already fully refunded), `idempotency_key_reused`. The body
    is validated before the order is looked up."""
    with unit_of_work_in_this_thread(session):
        refund, created = service.refund(
            session,
            order_id,
            organisation_id,
            lines=[service.RefundLineSpec(w.line_id, w.quantity, w.amount_minor) for w in data.lines],
            restock=data.restock,
            reason=data.reason,
            actor_id=user.id,
            idempotency_key=_idempotency_key(idempotency_key),
        )
        order = session.get(Order, refund.order_id)
        assert order is not None
        result = RefundCreated(refund=refund_read(refund), order=order_read(order))
    if not created:
        response.status_code = status.HTTP_200_OK
    return result


@router.get(
    "/v1/merchant/orders/{order_id}/refunds",
    response_model=list[RefundRead],
    responses=problem_responses(401, 403, 404),
    openapi_extra={"x-access": "merchant_member+owner"},
)
def list_refunds(
    order_id: uuid.UUID, organisation_id: OrganisationId, session: SessionDep
) -> list[RefundRead]:
    """The order's refunds, oldest first."""
    return [refund_read(r) for r in service.list_refunds(session, order_id, organisation_id)]


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
