"""The ledger's invariants, checked against the database as it is."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session


def check_ledger(session: Session) -> dict[str, Any]:
    """Assert every invariant of the commission ledger; returns a few totals for the caller."""
    from app.creators import service
    from app.creators.models import (
        CommissionEntry,
        CommissionState,
        EntryKind,
        OrderLineCommission,
        Payout,
        PayoutItem,
        PayoutStatus,
    )

    entries = list(session.scalars(select(CommissionEntry).order_by(CommissionEntry.id)))
    lines = {line.id: line for line in session.scalars(select(OrderLineCommission))}
    payouts = {p.id: p for p in session.scalars(select(Payout))}
    items = list(session.scalars(select(PayoutItem)))
    by_id = {e.id: e for e in entries}

    # Balances (as the API reports them) are the sums of the entries, per creator and currency.
    sums: dict[tuple[uuid.UUID, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for e in entries:
        s = sums[(e.creator_id, e.currency)]
        s[0] += e.pending_delta
        s[1] += e.payable_delta
        s[2] += e.in_payout_delta
        s[3] += e.paid_delta
    for creator_id in {c for c, _ in sums}:
        for balance in service.balances(session, creator_id):
            assert [
                balance.pending_minor,
                balance.payable_minor,
                balance.in_payout_minor,
                balance.paid_minor,
            ] == sums[(creator_id, balance.currency)]

    per_line: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for e in entries:
        if e.line_id is not None:
            per_line[e.line_id].append(e)
    for line_id, line in lines.items():
        mine = per_line.get(line_id, [])
        earned = [e for e in mine if e.kind is EntryKind.commission]
        releases = [e for e in mine if e.kind is EntryKind.release]
        reversals = [e for e in mine if e.kind is EntryKind.reversal]
        # No line earns twice (or is released twice).
        assert len(earned) == (1 if line.commission_minor > 0 else 0)
        assert len(releases) <= 1
        if not earned:
            assert not mine
            continue
        [original] = earned
        assert original.amount_minor == original.pending_delta == line.commission_minor
        # Every reversal names its original; together they never exceed it and follow the refunds.
        for reversal in reversals:
            assert reversal.reverses_id == original.id and by_id[reversal.reverses_id].line_id == line_id
            assert reversal.amount_minor < 0
        reversed_total = -sum(r.amount_minor for r in reversals)
        if line.refunded_minor >= line.base_minor:
            assert reversed_total == line.commission_minor
        else:
            assert reversed_total == line.commission_minor * line.refunded_minor // line.base_minor
        pending = sum(e.pending_delta for e in mine)
        if releases:
            assert pending == 0 and line.state is CommissionState.payable
            assert releases[0].amount_minor == line.commission_minor - sum(
                -r.amount_minor for r in reversals if r.id < releases[0].id
            )
        else:
            assert pending == line.commission_minor - reversed_total

    # Each settled entry is in exactly one payout, and a payout pays the sum of its entries.
    per_payout: dict[uuid.UUID, int] = defaultdict(int)
    seen: set[int] = set()
    for item in items:
        assert item.entry_id not in seen
        seen.add(item.entry_id)
        per_payout[item.payout_id] += by_id[item.entry_id].payable_delta
    for payout in payouts.values():
        assert payout.amount_minor == per_payout[payout.id] > 0
    for (creator_id, currency), (_pending, payable, in_payout, paid) in sums.items():
        mine = [p for p in payouts.values() if p.creator_id == creator_id and p.currency == currency]
        assert in_payout == sum(p.amount_minor for p in mine if p.status is PayoutStatus.created)
        assert paid == sum(p.amount_minor for p in mine if p.status is PayoutStatus.paid)
        unsettled = sum(
            e.payable_delta
            for e in entries
            if e.creator_id == creator_id
            and e.currency == currency
            and e.kind is not EntryKind.payout
            and e.id not in seen
        )
        assert payable == unsettled
    total = sum(sum(s) for s in sums.values())
    assert total == sum(
        e.amount_minor for e in entries if e.kind in (EntryKind.commission, EntryKind.reversal)
    )
    return {"entries": len(entries), "lines": len(lines), "payouts": len(payouts)}
