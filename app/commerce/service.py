"""Checkout, orders and payment webhooks.

Stock flow: checkout *reserves* (``sku.reserved += n``) every line atomically; a verified
``payment.succeeded`` webhook turns reservations into sales (``quantity -= n``, ``reserved -= n``);
``payment.failed``, cancel and expiry release them. Every step writes stock ledger entries.

Late payment rule: a ``payment.succeeded`` for an order whose reservations have expired (or were
released by a failure) re-reserves and sells the lines if *all* of them are still available;
otherwise the order becomes ``refund_required`` (the money is recorded and must go back; a
merchant refund moves it to ``refunded``). A payment for an order the buyer cancelled always goes
to ``refund_required``.

Refunds: a merchant refunds chosen lines (units, and optionally an amount per line) or everything
left (:func:`refund`); each refund is a :class:`Refund` record with its lines, a refund payment
row, optional restock ledger entries and the creator programme's pro-rata commission reversal.
The order is ``partially_refunded`` until its refunds reach its total, then ``refunded``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app.accounts.models import User
from app.catalog import service as catalog_service
from app.catalog.models import LedgerReason, ReservationState, StockReservation
from app.commerce.exceptions import (
    DuplicateRefundLine,
    EmptyRefund,
    IdempotencyKeyReused,
    InsufficientStock,
    InvalidAttribution,
    InvalidSignature,
    InvalidWebhook,
    MixedCurrency,
    OrderNotCancellable,
    OrderNotFound,
    OrderNotRefundable,
    OrderTooLarge,
    RefundExceedsRemaining,
    SkuUnavailable,
    UnknownOrderLine,
)
from app.commerce.models import (
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentKind,
    Refund,
    RefundLine,
    WebhookEvent,
)
from app.commerce.schemas import CheckoutRequest
from app.config import DEV_WEBHOOK_SECRET, Environment, get_settings
from app.creators import service as creators_service
from app.db import as_utc, is_postgres, utcnow
from app.errors import ServiceUnavailable
from app.notifications import service as notifications_service
from app.social import service as social_service

SIGNATURE_HEADER = "ClipShop-Signature"
MAX_ORDER_TOTAL_MINOR = 2_000_000_000  # totals are 32-bit integer columns


# --- checkout -----------------------------------------------------------------------------------


def request_hash(data: CheckoutRequest) -> str:
    canonical = json.dumps(data.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _existing_order(session: Session, buyer_id: uuid.UUID, key: str, digest: str) -> Order | None:
    order = session.scalar(select(Order).where(Order.buyer_id == buyer_id, Order.idempotency_key == key))
    if order is not None and order.request_hash != digest:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used for a different checkout request; use a new key"
        )
    return order


def _attribution(session: Session, data: CheckoutRequest, sku_ids: set[uuid.UUID]) -> uuid.UUID | None:
    """Creator credited for the order (the clip's creator), after checking clip and tag agree."""
    if data.clip_id is None:
        if data.tag_id is not None:
            raise InvalidAttribution("tag_id needs the clip_id it belongs to")
        return None
    from app.tags import service as tags_service

    return tags_service.attribution_creator(session, data.clip_id, data.tag_id, sku_ids)


def checkout(
    session: Session, buyer: User, data: CheckoutRequest, idempotency_key: str
) -> tuple[Order, bool]:
    """Create a ``pending_payment`` order holding stock for every line, or raise
    :class:`InsufficientStock` listing every short line. Returns ``(order, created)``; a retry
    with the same key and body returns the first order with ``created=False``."""
    digest = request_hash(data)
    existing = _existing_order(session, buyer.id, idempotency_key, digest)
    if existing is not None:
        return existing, False

    wanted: dict[uuid.UUID, int] = {}
    for line in data.lines:
        wanted[line.sku_id] = wanted.get(line.sku_id, 0) + line.quantity
    skus = catalog_service.skus_for_checkout(session, wanted)
    unavailable = [str(i) for i in wanted if i not in skus or not skus[i].purchasable]
    if unavailable:
        raise SkuUnavailable("Some SKUs do not exist or are no longer sold", sku_ids=unavailable)
    currencies = {skus[i].currency for i in wanted}
    if len(currencies) > 1:
        raise MixedCurrency(f"One order takes one currency; the cart mixes {', '.join(sorted(currencies))}")
    creator_id = _attribution(session, data, set(wanted))
    organisations = {skus[i].organisation_id for i in wanted}
    now = utcnow()
    expires_at = now + timedelta(seconds=get_settings().reservation_ttl_seconds)
    subtotal = sum(skus[i].price_minor * q for i, q in wanted.items())
    if subtotal > MAX_ORDER_TOTAL_MINOR:
        raise OrderTooLarge(f"An order totals at most {MAX_ORDER_TOTAL_MINOR} minor units")
    order = Order(
        id=uuid.uuid4(),
        buyer_id=buyer.id,
        organisation_id=next(iter(organisations)) if len(organisations) == 1 else None,
        status=OrderStatus.pending_payment,
        currency=currencies.pop(),
        subtotal_minor=subtotal,
        total_minor=subtotal,
        expires_at=expires_at,
        idempotency_key=idempotency_key,
        request_hash=digest,
        clip_id=data.clip_id,
        tag_id=data.tag_id,
        creator_id=creator_id,
    )
    order_lines: list[OrderLine] = []
    for position, (sku_id, quantity) in enumerate(wanted.items()):
        sku = skus[sku_id]
        order_line = OrderLine(
            id=uuid.uuid4(),
            order_id=order.id,
            position=position,
            sku_id=sku_id,
            product_id=sku.product_id,
            organisation_id=sku.organisation_id,
            sku_code=sku.code,
            title=sku.title[:200],
            quantity=quantity,
            unit_price_minor=sku.price_minor,
            line_total_minor=sku.price_minor * quantity,
        )
        order_lines.append(order_line)
    session.add(order)
    # Claim the idempotency key (unique per buyer) before any stock is touched. A concurrent
    # request with the same key waits on the unique index (PostgreSQL) until this one ends; if
    # it committed, this insert fails and the committed order is the answer. Nothing but reads
    # happened in this transaction yet, so rolling it back loses nothing.
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        again = _existing_order(session, buyer.id, idempotency_key, digest)
        if again is None:
            raise
        return again, False
    reserve_lines(session, order, order_lines)
    if data.share_code:
        social_service.attribute_checkout(
            session, order_id=order.id, share_code=data.share_code, buyer_id=buyer.id
        )
    session.flush()
    return order, True


def reserve_lines(session: Session, order: Order, lines: list[OrderLine]) -> None:
    """Reserve every line or none.

    Lines go in SKU primary-key order and each reservation is one guarded
    ``UPDATE sku SET reserved = reserved + :q WHERE id = :id AND quantity - reserved >= :q``: the
    UPDATE takes the row lock itself, so the rows are locked in the same stable order an explicit
    ``SELECT ... ORDER BY id FOR UPDATE`` would use (no deadlocks between carts listing SKUs in
    different orders) and the arithmetic happens in SQL (availability never goes negative; the
    CHECK constraints back this up). A line that does not fit releases that SKU's expired
    reservations (under its row lock) and tries once more. Every short line is collected into one
    :class:`InsufficientStock`; raising rolls the whole transaction back, reservations included.
    """
    short: list[dict[str, Any]] = []
    for line in sorted(lines, key=lambda item: item.sku_id):
        if _reserve(session, order, line) is not None:
            continue
        state = catalog_service.lock_and_release_expired(session, [line.sku_id])
        if _reserve(session, order, line) is None:
            quantity, reserved, _active = state[line.sku_id]
            short.append(
                {
                    "sku_id": str(line.sku_id),
                    "requested": line.quantity,
                    "available": max(0, quantity - reserved),
                }
            )
    if short:
        order_of = {line.sku_id: line.position for line in lines}
        _raise_short(sorted(short, key=lambda item: order_of[uuid.UUID(item["sku_id"])]))
    # Rows that reference the SKUs go in once this transaction holds the SKU row locks: their
    # foreign-key checks then add no shared locks (multixacts) to hot rows other buyers wait on.
    session.add_all(lines)
    session.flush()
    set_committed_value(order, "lines", sorted(lines, key=lambda item: item.position))
    for line in lines:
        session.add(
            StockReservation(
                order_id=order.id,
                order_line_id=line.id,
                sku_id=line.sku_id,
                quantity=line.quantity,
                expires_at=order.expires_at,
                state=ReservationState.active,
            )
        )


def _reserve(session: Session, order: Order, line: OrderLine) -> tuple[int, int] | None:
    return catalog_service.change_stock(
        session,
        line.sku_id,
        reason=LedgerReason.reserve,
        reserved_delta=line.quantity,
        require_available=line.quantity,
        order_id=order.id,
    )


def _raise_short(short: list[dict[str, Any]]) -> None:
    detail = "; ".join(
        f"{s['sku_id']}: {s['requested']} requested, {s['available']} available" for s in short
    )
    raise InsufficientStock(f"Not enough stock: {detail}", lines=short)


# --- reads --------------------------------------------------------------------------------------


def effective_status(order: Order) -> OrderStatus:
    if order.status is OrderStatus.pending_payment and as_utc(order.expires_at) <= utcnow():
        return OrderStatus.expired
    return order.status


def get_order_for(session: Session, order_id: uuid.UUID, user: User) -> Order:
    from app.accounts import service as accounts_service
    from app.accounts.models import Role

    order = session.get(Order, order_id)
    if order is None:
        raise OrderNotFound("No such order")
    if order.buyer_id == user.id or user.role is Role.admin:
        return order
    organisation_id = accounts_service.get_merchant_organisation_id(session, user.id)
    if organisation_id is not None and any(line.organisation_id == organisation_id for line in order.lines):
        return order
    raise OrderNotFound("No such order")


def list_buyer_orders(
    session: Session, buyer_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[list[Order], int]:
    base = select(Order).where(Order.buyer_id == buyer_id)
    return _page(session, base, limit, offset)


def list_merchant_orders(
    session: Session, organisation_id: uuid.UUID, *, status: OrderStatus | None, limit: int, offset: int
) -> tuple[list[Order], int]:
    has_line = (
        select(OrderLine.id)
        .where(OrderLine.order_id == Order.id, OrderLine.organisation_id == organisation_id)
        .exists()
    )
    base = select(Order).where(or_(Order.organisation_id == organisation_id, has_line))
    if status is not None:
        base = base.where(Order.status == status)
    return _page(session, base, limit, offset)


def _page(session: Session, base: Any, limit: int, offset: int) -> tuple[list[Order], int]:
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    orders = list(
        session.scalars(
            base.options(selectinload(Order.refunds))
            .order_by(Order.created_at.desc(), Order.id)
            .limit(limit)
            .offset(offset)
        )
    )
    return orders, total


def skus_referenced_by_orders(session: Session, sku_ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    ids = list(sku_ids)
    if not ids:
        return []
    return list(session.scalars(select(OrderLine.sku_id).where(OrderLine.sku_id.in_(ids)).distinct()))


# --- state changes ------------------------------------------------------------------------------


def _lock_order(session: Session, order_id: uuid.UUID) -> Order | None:
    query = select(Order).where(Order.id == order_id).execution_options(populate_existing=True)
    if is_postgres(session):
        query = query.with_for_update(key_share=True)
    return session.scalar(query)


def _active_reservations(session: Session, order_id: uuid.UUID) -> list[StockReservation]:
    return list(
        session.scalars(
            select(StockReservation)
            .where(StockReservation.order_id == order_id, StockReservation.state == ReservationState.active)
            .execution_options(populate_existing=True)
        )
    )


def _release_order(
    session: Session,
    order: Order,
    state: ReservationState,
    reason: LedgerReason,
    actor_id: uuid.UUID | None,
    note: str,
) -> None:
    catalog_service.lock_skus(session, [line.sku_id for line in order.lines])
    catalog_service.release_reservations(
        session,
        _active_reservations(session, order.id),
        state=state,
        reason=reason,
        actor_id=actor_id,
        note=note,
    )


def cancel_order(session: Session, order_id: uuid.UUID, user: User) -> Order:
    order = _lock_order(session, order_id)
    if order is None or order.buyer_id != user.id:
        raise OrderNotFound("No such order")
    if order.status is not OrderStatus.pending_payment:
        raise OrderNotCancellable(
            f"Only unpaid orders can be cancelled; this one is {effective_status(order).value}"
        )
    _release_order(
        session, order, ReservationState.released, LedgerReason.release, user.id, "order cancelled"
    )
    order.status = OrderStatus.cancelled
    order.cancelled_at = utcnow()
    session.flush()
    creators_service.order_cancelled(session, order)
    return order


# --- refunds ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefundLineSpec:
    """One line of a refund as the merchant asks for it: ``amount_minor`` None means the units'
    share of what remains refundable on the line."""

    line_id: uuid.UUID
    quantity: int
    amount_minor: int | None = None


def _refund_hash(lines: Sequence[RefundLineSpec] | None, restock: bool, reason: str | None) -> str:
    canonical = json.dumps(
        {
            "lines": None if lines is None else [[str(w.line_id), w.quantity, w.amount_minor] for w in lines],
            "restock": restock,
            "reason": reason,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _refund_plan(
    lines: list[OrderLine], wanted: Sequence[RefundLineSpec] | None
) -> list[tuple[OrderLine, int, int]]:
    """``(line, units, amount)`` for each line the refund touches, checked against what remains
    refundable on it. A line's amount defaults to the units' share of the money left on it,
    rounded down, and to all of it with the last units, so a line's refunds add up to exactly its
    total."""
    if wanted is None:  # everything not refunded yet
        rest = [
            (line, line.quantity - line.refunded_quantity, line.line_total_minor - line.refunded_minor)
            for line in lines
        ]
        return [item for item in rest if item[1] > 0 or item[2] > 0]
    by_id = {line.id: line for line in lines}
    unknown = [str(w.line_id) for w in wanted if w.line_id not in by_id]
    if unknown:
        raise UnknownOrderLine(f"Not a line of this order: {', '.join(unknown)}", line_ids=unknown)
    ids = [w.line_id for w in wanted]
    if len(set(ids)) != len(ids):
        raise DuplicateRefundLine("Name each order line once per refund")
    plan: list[tuple[OrderLine, int, int]] = []
    over: list[dict[str, Any]] = []
    for w in wanted:
        line = by_id[w.line_id]
        units_left = line.quantity - line.refunded_quantity
        money_left = line.line_total_minor - line.refunded_minor
        if w.quantity > units_left:
            over.append(
                {
                    "line_id": str(line.id),
                    "field": "quantity",
                    "requested": w.quantity,
                    "remaining": units_left,
                }
            )
            continue
        if w.amount_minor is None:
            if w.quantity == 0:
                amount = 0
            elif w.quantity == units_left:
                amount = money_left
            else:
                amount = money_left * w.quantity // units_left
        elif w.amount_minor > money_left:
            over.append(
                {
                    "line_id": str(line.id),
                    "field": "amount_minor",
                    "requested": w.amount_minor,
                    "remaining": money_left,
                }
            )
            continue
        else:
            amount = w.amount_minor
        if w.quantity > 0 or amount > 0:
            plan.append((line, w.quantity, amount))
    if over:
        detail = "; ".join(
            f"{o['line_id']}: {o['field']} {o['requested']} requested, {o['remaining']} remaining"
            for o in over
        )
        raise RefundExceedsRemaining(f"More than remains refundable: {detail}", lines=over)
    return plan


def refund(
    session: Session,
    order_id: uuid.UUID,
    organisation_id: uuid.UUID,
    *,
    lines: Sequence[RefundLineSpec] | None,
    restock: bool,
    reason: str | None,
    actor_id: uuid.UUID | None,
    idempotency_key: str | None = None,
) -> tuple[Refund, bool]:
    """Refund chosen lines (``lines``) or everything not refunded yet (``lines=None``) of a paid
    order of ``organisation_id``. Returns ``(refund, created)``: a retry with the same
    ``idempotency_key`` and request returns the first refund with ``created=False`` and changes
    nothing.

    Everything happens under the order's row lock (PostgreSQL), taken first: concurrent refunds of
    one order take turns and each checks what remains after the previous one. The counters on the
    order and its lines have CHECK constraints and ``(order_id, number)`` is unique, so even a
    writer that skipped the lock could not over-refund. Restocked units are put back on hand with
    stock ledger entries; the creator programme reverses the lines' commission pro rata; the
    merchant's webhooks get ``order.refunded``."""
    digest = _refund_hash(lines, restock, reason)
    order = _lock_order(session, order_id)
    if order is None or not any(line.organisation_id == organisation_id for line in order.lines):
        raise OrderNotFound("No such order")
    if idempotency_key is not None:
        existing = session.scalar(
            select(Refund)
            .where(Refund.order_id == order.id, Refund.idempotency_key == idempotency_key)
            .execution_options(populate_existing=True)
        )
        if existing is not None:
            if existing.request_hash != digest:
                raise IdempotencyKeyReused(
                    "This Idempotency-Key was already used for a different refund of this order; use a new key"
                )
            return existing, False
    if any(line.organisation_id != organisation_id for line in order.lines):
        raise OrderNotRefundable("This order has lines of other merchants; each refunds through support")
    refundable = [OrderStatus.paid, OrderStatus.partially_refunded]
    if lines is None:
        refundable.append(OrderStatus.refund_required)
    if order.status not in refundable:
        if order.status is OrderStatus.refund_required:
            raise OrderNotRefundable("The whole payment of this order must go back: refund it in full")
        raise OrderNotRefundable(
            f"Only paid orders can be refunded; this one is {effective_status(order).value}"
        )
    order_lines = list(
        session.scalars(
            select(OrderLine)
            .where(OrderLine.order_id == order.id)
            .order_by(OrderLine.position)
            .execution_options(populate_existing=True)
        )
    )
    plan = _refund_plan(order_lines, lines)
    amount = sum(item[2] for item in plan)
    if amount <= 0:
        raise EmptyRefund("This refund gives no money back; name units or an amount")
    if order.refunded_minor + amount > order.total_minor:  # (the lines' checks imply it)
        raise RefundExceedsRemaining("More than remains refundable on this order")
    # Units left the shelf only when the payment turned reservations into sales.
    sold = order.status in (OrderStatus.paid, OrderStatus.partially_refunded)
    restocked = {line.id: (units if restock and sold else 0) for line, units, _ in plan}
    to_restock = sorted((line for line, _, _ in plan if restocked[line.id] > 0), key=lambda item: item.sku_id)
    if to_restock:
        catalog_service.lock_skus(session, [line.sku_id for line in to_restock])
        for line in to_restock:
            catalog_service.change_stock(
                session,
                line.sku_id,
                reason=LedgerReason.restock,
                quantity_delta=restocked[line.id],
                order_id=order.id,
                actor_id=actor_id,
                note="refund with restock",
            )
    number = int(session.scalar(select(func.max(Refund.number)).where(Refund.order_id == order.id)) or 0) + 1
    now = utcnow()
    record = Refund(
        id=uuid.uuid4(),
        order_id=order.id,
        number=number,
        organisation_id=organisation_id,
        currency=order.currency,
        amount_minor=amount,
        restock=restock,
        reason=reason,
        created_by=actor_id,
        idempotency_key=idempotency_key,
        request_hash=digest,
        created_at=now,
    )
    record.lines = [
        RefundLine(
            id=uuid.uuid4(),
            order_line_id=line.id,
            position=position,
            quantity=units,
            amount_minor=money,
            restocked_quantity=restocked[line.id],
        )
        for position, (line, units, money) in enumerate(plan)
    ]
    session.add(record)
    for line, units, money in plan:
        line.refunded_quantity += units
        line.refunded_minor += money
        line.restocked_quantity += restocked[line.id]
    order.refunded_minor += amount
    if order.refunded_minor >= order.total_minor:
        order.status = OrderStatus.refunded
        order.refunded_at = now
    else:
        order.status = OrderStatus.partially_refunded
    session.flush()
    session.add(
        Payment(
            order_id=order.id,
            kind=PaymentKind.refund,
            refund_id=record.id,
            amount_minor=amount,
            currency=order.currency,
            created_at=now,
        )
    )
    session.flush()
    if order.status is OrderStatus.refunded:
        creators_service.order_refunded(session, order)
    else:
        creators_service.lines_refunded(
            session, order.id, {line.id: money for line, _, money in plan if money}
        )
    _order_refunded(session, order, record)
    session.expire(order, ["refunds"])
    return record, True


def refund_order(
    session: Session,
    order_id: uuid.UUID,
    organisation_id: uuid.UUID,
    *,
    restock: bool,
    actor_id: uuid.UUID,
    reason: str | None = None,
    idempotency_key: str | None = None,
) -> Order:
    """Refund everything not refunded yet (the whole order when nothing was)."""
    record, _created = refund(
        session,
        order_id,
        organisation_id,
        lines=None,
        restock=restock,
        reason=reason,
        actor_id=actor_id,
        idempotency_key=idempotency_key,
    )
    order = session.get(Order, record.order_id)
    assert order is not None
    return order


def list_refunds(session: Session, order_id: uuid.UUID, organisation_id: uuid.UUID) -> list[Refund]:
    order = session.get(Order, order_id)
    if order is None or not any(line.organisation_id == organisation_id for line in order.lines):
        raise OrderNotFound("No such order")
    return list(order.refunds)


def _order_refunded(session: Session, order: Order, record: Refund) -> None:
    """The merchant's webhooks: ``order.refunded``, for every refund (full or partial)."""
    by_line = {line.id: line for line in order.lines}
    notifications_service.emit_event(
        session,
        event_type="order.refunded",
        organisation_id=record.organisation_id,
        payload={
            "order_id": str(order.id),
            "refund_id": str(record.id),
            "number": record.number,
            "status": order.status.value,
            "currency": record.currency,
            "amount_minor": record.amount_minor,
            "order_total_minor": order.total_minor,
            "order_refunded_minor": order.refunded_minor,
            "restock": record.restock,
            "reason": record.reason,
            "created_at": as_utc(record.created_at).isoformat(),
            "lines": [
                {
                    "line_id": str(item.order_line_id),
                    "sku_id": str(by_line[item.order_line_id].sku_id),
                    "sku": by_line[item.order_line_id].sku_code,
                    "title": by_line[item.order_line_id].title,
                    "quantity": item.quantity,
                    "amount_minor": item.amount_minor,
                    "restocked_quantity": item.restocked_quantity,
                }
                for item in record.lines
            ],
        },
    )


def _record_payment(session: Session, order: Order, kind: PaymentKind, reference: str | None) -> bool:
    """Insert the order's charge row once; a second attempt is a no-op (one charge per order)."""
    if session.scalar(select(Payment.id).where(Payment.order_id == order.id, Payment.kind == kind)):
        return False
    try:
        with session.begin_nested():
            session.add(
                Payment(
                    order_id=order.id,
                    kind=kind,
                    provider_reference=reference,
                    amount_minor=order.total_minor,
                    currency=order.currency,
                )
            )
            session.flush()
    except IntegrityError:
        return False
    return True


def capture_payment(session: Session, order_id: uuid.UUID, reference: str | None) -> str:
    order = _lock_order(session, order_id)
    if order is None:
        return "unknown_order"
    if order.status in (
        OrderStatus.paid,
        OrderStatus.refund_required,
        OrderStatus.partially_refunded,
        OrderStatus.refunded,
    ):
        return "already_paid"
    _record_payment(session, order, PaymentKind.charge, reference)
    now = utcnow()
    if order.status is OrderStatus.cancelled:
        order.status = OrderStatus.refund_required
        return "refund_required"
    lines = sorted(order.lines, key=lambda item: item.sku_id)
    # Lock the SKUs (primary-key order) and release whatever has expired on them, this order's
    # own reservations included when it is past its expiry.
    catalog_service.lock_and_release_expired(session, [line.sku_id for line in lines])
    active = {r.order_line_id: r for r in _active_reservations(session, order.id)}
    if order.status is OrderStatus.pending_payment and all(line.id in active for line in lines):
        for line in lines:
            catalog_service.change_stock(
                session,
                line.sku_id,
                reason=LedgerReason.sale,
                quantity_delta=-line.quantity,
                reserved_delta=-line.quantity,
                order_id=order.id,
            )
            active[line.id].state = ReservationState.sold
            active[line.id].updated_at = now
        order.status = OrderStatus.paid
        order.paid_at = now
        session.flush()
        return "paid"
    # Late payment: reservations expired or were released. Re-reserve all lines or refund.
    catalog_service.release_reservations(
        session,
        active.values(),
        state=ReservationState.expired,
        reason=LedgerReason.expire,
        note="late payment",
    )
    states = catalog_service.stock_states(session, [line.sku_id for line in lines])
    if all(states[line.sku_id].quantity - states[line.sku_id].reserved >= line.quantity for line in lines):
        for line in lines:
            result = catalog_service.change_stock(
                session,
                line.sku_id,
                reason=LedgerReason.sale,
                quantity_delta=-line.quantity,
                require_available=line.quantity,
                order_id=order.id,
                note="paid after expiry",
            )
            assert result is not None  # rows are locked and availability was checked
        order.status = OrderStatus.paid
        order.paid_at = now
        session.flush()
        return "paid_after_expiry"
    order.status = OrderStatus.refund_required
    session.flush()
    return "refund_required"


def fail_payment(session: Session, order_id: uuid.UUID) -> str:
    order = _lock_order(session, order_id)
    if order is None:
        return "unknown_order"
    if order.status is not OrderStatus.pending_payment:
        return "ignored"
    _release_order(session, order, ReservationState.released, LedgerReason.release, None, "payment failed")
    order.status = OrderStatus.failed
    session.flush()
    return "failed"


def expire_orders(session: Session, limit: int = 500) -> int:
    """Mark unpaid orders past their expiry as ``expired`` and release their stock. Availability
    never depends on this sweep (reads ignore expired reservations); it tidies state."""
    ids = list(
        session.scalars(
            select(Order.id)
            .where(Order.status == OrderStatus.pending_payment, Order.expires_at <= utcnow())
            .order_by(Order.expires_at)
            .limit(limit)
        )
    )
    count = 0
    for order_id in ids:
        order = _lock_order(session, order_id)
        if order is None or order.status is not OrderStatus.pending_payment:
            continue
        _release_order(session, order, ReservationState.expired, LedgerReason.expire, None, "order expired")
        order.status = OrderStatus.expired
        count += 1
    session.flush()
    return count


# --- webhooks -----------------------------------------------------------------------------------


def sign(body: bytes, secret: str, timestamp: int | None = None) -> str:
    """The ``ClipShop-Signature`` header value for ``body``: ``t=<unix>,v1=<hex hmac>``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(
    body: bytes, header: str | None, *, secret: str, tolerance: int, now: float | None = None
) -> None:
    if not header:
        raise InvalidSignature(f"Missing {SIGNATURE_HEADER} header")
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        raise InvalidSignature("The signature header has no valid timestamp")
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise InvalidSignature(
            "The signature timestamp is outside the tolerance window", code="signature_expired"
        )
    expected = sign(body, secret, timestamp).split("v1=", 1)[1]
    if not any(hmac.compare_digest(expected, candidate) for candidate in parts.get("v1", [])):
        raise InvalidSignature("The signature does not match the body")


# Largest amount a provider may report (beyond any order total; keeps it an integer column value).
MAX_WEBHOOK_AMOUNT_MINOR = 10**15


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _parse_webhook(body: bytes) -> tuple[dict[str, Any], dict[str, Any], uuid.UUID]:
    """The event, its ``data`` and the order id; anything else is a 400 ``invalid_webhook`` and
    nothing is recorded (a provider retrying a malformed event must not turn into a 500 loop)."""
    try:
        event = json.loads(body, parse_constant=_refuse_constant)  # NaN, Infinity: refused
        if not isinstance(event, dict):
            raise TypeError("not an object")
        if not isinstance(event.get("id"), str | int) or isinstance(event.get("id"), bool):
            raise TypeError("id")
        if not isinstance(event.get("type"), str):
            raise TypeError("type")
        data = event.get("data")
        if not isinstance(data, dict):
            raise TypeError("data")
        order_id = uuid.UUID(str(data["order_id"]))
    except (ValueError, KeyError, TypeError, RecursionError):
        raise InvalidWebhook("The event needs id, type and data.order_id")
    amount = data.get("amount_minor")
    if amount is not None and (
        type(amount) is not int or not -MAX_WEBHOOK_AMOUNT_MINOR <= amount <= MAX_WEBHOOK_AMOUNT_MINOR
    ):
        raise InvalidWebhook("data.amount_minor must be an integer number of minor units")
    payment_id = data.get("payment_id")
    if payment_id is not None and (not isinstance(payment_id, str) or len(payment_id) > 200):
        raise InvalidWebhook("data.payment_id must be a string")
    return event, data, order_id


def handle_webhook(session: Session, body: bytes, signature: str | None) -> tuple[str, bool]:
    """Verify, de-duplicate by provider event id, apply. Returns ``(outcome, duplicate)``."""
    settings = get_settings()
    if (
        settings.environment is Environment.production
        and settings.payment_webhook_secret == DEV_WEBHOOK_SECRET
    ):
        raise ServiceUnavailable(
            "Set CLIPSHOP_PAYMENT_WEBHOOK_SECRET to receive payment webhooks", code="webhook_not_configured"
        )
    verify_signature(
        body,
        signature,
        secret=settings.payment_webhook_secret,
        tolerance=settings.payment_webhook_tolerance_seconds,
    )
    event, data, order_id = _parse_webhook(body)
    event_id = str(event["id"])
    event_type = str(event["type"])
    record = WebhookEvent(
        provider_event_id=event_id, type=event_type, order_id=order_id, outcome="received", payload=event
    )
    # Replay protection: the provider event id is unique. A concurrent duplicate waits on the
    # index until the first delivery commits, then lands here.
    if session.scalar(select(WebhookEvent.id).where(WebhookEvent.provider_event_id == event_id)):
        return "duplicate", True
    try:
        with session.begin_nested():
            session.add(record)
            session.flush()
    except IntegrityError:
        return "duplicate", True
    if event_type == "payment.succeeded":
        order = session.get(Order, order_id)
        amount = data.get("amount_minor")
        if order is not None and amount is not None and amount != order.total_minor:
            outcome = "amount_mismatch"
        else:
            outcome = capture_payment(session, order_id, data.get("payment_id"))
            if outcome in ("paid", "paid_after_expiry"):
                creators_service.order_paid(session, session.get(Order, order_id))
    elif event_type == "payment.failed":
        outcome = fail_payment(session, order_id)
    else:
        outcome = "ignored"
    record.outcome = outcome
    if outcome in ("paid", "paid_after_expiry"):
        _order_paid(session, order_id)
    session.flush()
    return outcome, False


# ---------------------------------------------------------------------------- for analytics


def orders_changed_since(
    session: Session,
    since: datetime | None,
    limit: int,
    *,
    after: tuple[datetime, uuid.UUID] | None = None,
) -> list[Order]:
    """Orders (with their lines) updated at or after ``since``, in (updated_at, id) order, after
    the keyset ``after`` when given; at most ``limit``."""
    query = select(Order).options(selectinload(Order.lines)).order_by(Order.updated_at, Order.id).limit(limit)
    if since is not None:
        query = query.where(Order.updated_at >= since)
    if after is not None:
        query = query.where(
            or_(Order.updated_at > after[0], and_(Order.updated_at == after[0], Order.id > after[1]))
        )
    return list(session.scalars(query))


def counts_as_sale(order: Order) -> bool:
    """Whether an order counts as a sale in analytics: paid and not cancelled or fully refunded
    since (a partially refunded order counts, net of its refunds: :func:`sale_lines`)."""
    return order.status in (OrderStatus.paid, OrderStatus.partially_refunded) and order.paid_at is not None


def sale_lines(order: Order) -> dict[uuid.UUID, tuple[int, int]]:
    """``{line id: (units, revenue in minor units)}`` a counted sale contributes, net of its
    refunds."""
    return {
        line.id: (line.quantity - line.refunded_quantity, line.line_total_minor - line.refunded_minor)
        for line in order.lines
    }


def _order_paid(session: Session, order_id: uuid.UUID) -> None:
    """Tell the rest of the service: the share link it came through, the merchants' webhooks."""
    order = session.get(Order, order_id)
    assert order is not None
    social_service.share_order_paid(session, order_id=order.id, total_minor=order.total_minor)
    for organisation_id in sorted({line.organisation_id for line in order.lines}):
        lines = [line for line in order.lines if line.organisation_id == organisation_id]
        notifications_service.emit_event(
            session,
            event_type="order.paid",
            organisation_id=organisation_id,
            payload={
                "order_id": str(order.id),
                "status": order.status.value,
                "currency": order.currency,
                "total_minor": sum(line.line_total_minor for line in lines),
                "paid_at": order.paid_at.isoformat() if order.paid_at else None,
                "clip_id": str(order.clip_id) if order.clip_id else None,
                "lines": [
                    {
                        "sku_id": str(line.sku_id),
                        "sku": line.sku_code,
                        "title": line.title,
                        "quantity": line.quantity,
                        "unit_price_minor": line.unit_price_minor,
                        "line_total_minor": line.line_total_minor,
                    }
                    for line in lines
                ],
            },
        )
