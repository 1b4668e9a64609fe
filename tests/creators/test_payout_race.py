"""A payout run racing a refund (full or partial) on PostgreSQL: the creator is paid the right
amount, once."""

from __future__ import annotations

import threading
import uuid

import pytest

from tests.creators.helpers import admit, buy, make_shop, release_all, tagged_clip
from tests.creators.ledger_checks import check_ledger

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("partial", [False, True], ids=["full", "partial"])
@pytest.mark.parametrize("refund_first", [True, False])
def test_payout_run_racing_a_refund_pays_the_right_amount_once(client, make_user, refund_first, partial):
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import sessionmaker

    from app.commerce import service as commerce_service
    from app.config import get_settings
    from app.creators import service
    from app.creators.models import Payout
    from app.db import session_scope

    shop = make_shop(client, make_user, price=10_000)
    creator_user, creator = make_user("creator")
    clip_id, tag_id = tagged_clip(client, creator, creator_user["id"], shop.sku_id)
    admit(creator_user["id"])
    _, buyer = make_user("viewer")
    orders = [buy(client, buyer, shop.sku_id, clip_id=clip_id, tag_id=tag_id) for _ in range(3)]
    release_all()  # 3 x 500 payable

    engine = create_engine(get_settings().database_url, pool_size=4)
    factory = sessionmaker(engine, expire_on_commit=False)
    first_holds_lock = threading.Event()
    errors: list[BaseException] = []

    # A full refund of the first order takes back its 500; a partial one (3,000 of its 10,000) 150.
    reversed_ = 150 if partial else 500

    def refund() -> None:
        with factory() as session, session.begin():
            if partial:
                commerce_service.refund(
                    session,
                    uuid.UUID(orders[0]["id"]),
                    uuid.UUID(shop.organisation_id),
                    lines=[commerce_service.RefundLineSpec(uuid.UUID(orders[0]["lines"][0]["id"]), 0, 3_000)],
                    restock=False,
                    reason=None,
                    actor_id=uuid.UUID(shop.merchant_user["id"]),
                )
            else:
                commerce_service.refund_order(
                    session,
                    uuid.UUID(orders[0]["id"]),
                    uuid.UUID(shop.organisation_id),
                    restock=False,
                    actor_id=uuid.UUID(creator_user["id"]),
                )
            if refund_first:
                first_holds_lock.set()
                threading.Event().wait(0.5)  # hold the account lock while the run starts

    def run() -> None:
        if refund_first:
            first_holds_lock.wait(10)
        with factory() as session, session.begin():
            service.run_payouts(session, key="race", threshold_minor=1)
            if not refund_first:
                first_holds_lock.set()
                threading.Event().wait(0.5)

    def guarded(fn):
        def call() -> None:
            try:
                fn()
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        return call

    threads = [threading.Thread(target=guarded(run))]
    refund_thread = threading.Thread(
        target=guarded(lambda: (first_holds_lock.wait(10) if not refund_first else None, refund()))
    )
    threads.append(refund_thread)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    engine.dispose()
    assert not errors, errors

    with session_scope() as session:
        [payout] = session.scalars(select(Payout)).all()
        [balance] = service.balances(session, uuid.UUID(creator_user["id"]))
        check_ledger(session)
    if refund_first:
        # The run waited for the refund: it pays what the refund left.
        assert payout.amount_minor == 1500 - reversed_ and balance.payable_minor == 0
    else:
        # The run paid all three; the refund came after and is owed back.
        assert payout.amount_minor == 1500 and balance.payable_minor == -reversed_
    assert balance.in_payout_minor == payout.amount_minor
    # Running again pays nobody (the balance is at most zero).
    with session_scope() as session:
        run, _created = service.run_payouts(session, key="race-2", threshold_minor=1)
        assert service.run_payouts_list(session, run.id) == []
