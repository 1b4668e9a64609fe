"""Stock arithmetic in SQL: row locks in primary-key order, guarded updates, the ledger.

Invariants (also CHECK constraints on ``sku``): ``quantity >= 0``, ``reserved >= 0`` and
``quantity - reserved >= 0``. ``reserved`` counts reservations in state ``active``; one that has
passed its ``expires_at`` still counts there until released, but every availability read adds it
back (:func:`available_expr`), and every writer releases the expired reservations of the rows it
locked before doing arithmetic (:func:`lock_and_release_expired`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Integer,
    String,
    Uuid,
    and_,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session

from app.catalog.models import LedgerReason, ReservationState, Sku, StockLedgerEntry, StockReservation
from app.db import is_postgres, utcnow


def expired_reserved_expr(now: datetime) -> ColumnElement[int]:
    """Quantity held by reservations of the current SKU row that are past their expiry."""
    return (
        select(func.coalesce(func.sum(StockReservation.quantity), 0))
        .where(
            StockReservation.sku_id == Sku.id,
            StockReservation.state == ReservationState.active,
            StockReservation.expires_at <= now,
        )
        .correlate(Sku)
        .scalar_subquery()
    )


def available_expr(now: datetime | None = None) -> ColumnElement[int]:
    return Sku.quantity - Sku.reserved + expired_reserved_expr(now or utcnow())


def availability_label(available: int, threshold: int) -> str:
    if available <= 0:
        return "out_of_stock"
    if available <= threshold:
        return "low_stock"
    return "in_stock"


def lock_skus(session: Session, sku_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, tuple[int, int, bool]]:
    """Lock the SKU rows in primary-key order (no deadlocks between carts listing the same SKUs in
    different orders) and return ``{id: (quantity, reserved, active)}``.

    PostgreSQL: ``SELECT ... ORDER BY id FOR NO KEY UPDATE`` (the row lock an ``UPDATE`` of
    non-key columns takes). Not plain ``FOR UPDATE``: inserting an order line or ledger entry
    takes ``FOR KEY SHARE`` on the referenced SKU through its foreign key, and ``FOR UPDATE``
    conflicts with that, deadlocking concurrent checkouts of the same SKU.
    SQLite: every transaction already holds the database write lock (``BEGIN IMMEDIATE``), so a
    plain read is consistent until commit."""
    ids = sorted(set(sku_ids))
    if not ids:
        return {}
    query = select(Sku.id, Sku.quantity, Sku.reserved, Sku.active).where(Sku.id.in_(ids)).order_by(Sku.id)
    if is_postgres(session):
        query = query.with_for_update(key_share=True)
    return {row.id: (row.quantity, row.reserved, row.active) for row in session.execute(query)}


def change_stock(
    session: Session,
    sku_id: uuid.UUID,
    *,
    reason: LedgerReason,
    quantity_delta: int = 0,
    reserved_delta: int = 0,
    require_available: int | None = None,
    actor_id: uuid.UUID | None = None,
    order_id: uuid.UUID | None = None,
    note: str | None = None,
    bump_version: bool | None = None,
    now: datetime | None = None,
) -> tuple[int, int] | None:
    """Apply deltas in one guarded ``UPDATE ... RETURNING`` and write the ledger entry.

    ``require_available``: only apply when ``quantity - reserved >= require_available``.
    Returns the new ``(quantity, reserved)``, or ``None`` when the guard refused the change."""
    now = now or utcnow()
    if bump_version is None:
        bump_version = quantity_delta != 0
    values: dict[str, Any] = {
        "quantity": Sku.quantity + quantity_delta,
        "reserved": Sku.reserved + reserved_delta,
        "stock_changed_at": now,
    }
    if bump_version:
        values["version"] = Sku.version + 1
    condition = Sku.id == sku_id
    if require_available is not None:
        condition = and_(condition, Sku.quantity - Sku.reserved >= require_available)
    changed = update(Sku).where(condition).values(**values).execution_options(synchronize_session=False)
    if is_postgres(session):
        # One round trip for the stock change and its ledger entry: the row lock taken by the
        # UPDATE is held for as short a time as possible.
        cte = changed.returning(Sku.id, Sku.quantity, Sku.reserved).cte("changed")
        statement = (
            insert(StockLedgerEntry)
            .from_select(
                [
                    "id", "sku_id", "reason", "note", "actor_id", "order_id", "quantity_before",
                    "quantity_after", "reserved_before", "reserved_after", "delta", "created_at",
                ],
                select(
                    func.gen_random_uuid(),
                    cte.c.id,
                    literal(reason.value, String()),
                    literal(note, String()),
                    literal(actor_id, Uuid()),
                    literal(order_id, Uuid()),
                    cte.c.quantity - quantity_delta,
                    cte.c.quantity,
                    cte.c.reserved - reserved_delta,
                    cte.c.reserved,
                    literal(quantity_delta, Integer()),
                    literal(now, DateTime(timezone=True)),
                ),
            )
            .add_cte(cte)
            .returning(StockLedgerEntry.quantity_after, StockLedgerEntry.reserved_after)
        )  # fmt: skip
        row = session.execute(statement).first()
        return None if row is None else (int(row[0]), int(row[1]))
    row = session.execute(changed.returning(Sku.quantity, Sku.reserved)).first()
    if row is None:
        return None
    quantity, reserved = int(row[0]), int(row[1])
    session.add(
        StockLedgerEntry(
            sku_id=sku_id,
            reason=reason,
            note=note,
            actor_id=actor_id,
            order_id=order_id,
            quantity_before=quantity - quantity_delta,
            quantity_after=quantity,
            reserved_before=reserved - reserved_delta,
            reserved_after=reserved,
            delta=quantity_delta,
            created_at=now,
        )
    )
    return quantity, reserved


def release_reservations(
    session: Session,
    reservations: Iterable[StockReservation],
    *,
    state: ReservationState,
    reason: LedgerReason,
    actor_id: uuid.UUID | None = None,
    note: str | None = None,
) -> int:
    """Give the stock of active reservations back (rows must already be locked). Returns units."""
    now = utcnow()
    released = 0
    for reservation in sorted(reservations, key=lambda r: r.sku_id):
        if reservation.state is not ReservationState.active:
            continue
        change_stock(
            session,
            reservation.sku_id,
            reason=reason,
            reserved_delta=-reservation.quantity,
            order_id=reservation.order_id,
            actor_id=actor_id,
            note=note,
            now=now,
        )
        reservation.state = state
        reservation.updated_at = now
        released += reservation.quantity
    return released


def lock_and_release_expired(
    session: Session, sku_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, tuple[int, int, bool]]:
    """Lock SKU rows (primary-key order), release their expired reservations, return fresh state."""
    ids = sorted(set(sku_ids))
    locked = lock_skus(session, ids)
    if not locked:
        return locked
    now = utcnow()
    expired = list(
        session.scalars(
            select(StockReservation).where(
                StockReservation.sku_id.in_(ids),
                StockReservation.state == ReservationState.active,
                StockReservation.expires_at <= now,
            )
        )
    )
    if not expired:
        return locked
    release_reservations(
        session,
        expired,
        state=ReservationState.expired,
        reason=LedgerReason.expire,
        note="reservation expired",
    )
    session.flush()
    rows = session.execute(select(Sku.id, Sku.quantity, Sku.reserved, Sku.active).where(Sku.id.in_(ids)))
    return {row.id: (row.quantity, row.reserved, row.active) for row in rows}
