"""Full and partial refunds through the API: lines and units, amounts, restock, the refund records,
idempotency, validation, the creator programme's reversals, analytics and the merchant's webhook."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from typing import Any

from tests.catalog.factories import create_product
from tests.commerce.helpers import checkout, on_hand, webhook


def _shop(client: Any, make_user: Any, prices: tuple[int, ...] = (1000, 333)) -> dict[str, Any]:
    """A merchant with one product per price (10 units each) and a buyer."""
    _, merchant = make_user("merchant")
    _, buyer = make_user("viewer")
    skus = []
    for price in prices:
        product = create_product(
            client,
            merchant,
            skus=[
                {"sku": f"S-{uuid.uuid4().hex[:8]}", "price_minor": price, "currency": "EUR", "quantity": 10}
            ],
        )
        skus.append(product["skus"][0]["id"])
    return {"merchant": merchant, "buyer": buyer, "skus": skus}


def _paid_order(client: Any, shop: dict[str, Any], quantities: tuple[int, ...] = (3, 2)) -> dict[str, Any]:
    response = checkout(client, shop["buyer"], list(zip(shop["skus"], quantities, strict=False)))
    assert response.status_code == 201, response.text
    order = response.json()
    assert webhook(client, "payment.succeeded", order).json()["outcome"] == "paid"
    return order


def _refund(
    client: Any, headers: dict[str, str], order_id: str, body: dict[str, Any], key: str | None = None
):
    extra = {"Idempotency-Key": key} if key else {}
    return client.post(f"/v1/merchant/orders/{order_id}/refunds", json=body, headers={**headers, **extra})


def test_partial_refunds_follow_each_other_until_the_order_is_refunded(client, make_user):
    shop = _shop(client, make_user)
    merchant = shop["merchant"]
    order = _paid_order(client, shop)  # 3 x 1000 + 2 x 333 = 3666
    a, b = order["lines"]
    assert order["total_minor"] == 3666 and on_hand(client, merchant, shop["skus"][0]) == (7, 0)

    # One unit of the first line, back on the shelf: its price.
    first = _refund(
        client, merchant, order["id"], {"lines": [{"line_id": a["id"], "quantity": 1}], "reason": "torn"}
    )
    assert first.status_code == 201, first.text
    refund, after = first.json()["refund"], first.json()["order"]
    assert refund["number"] == 1 and refund["amount_minor"] == 1000 and refund["reason"] == "torn"
    assert refund["lines"] == [
        {"line_id": a["id"], "quantity": 1, "amount_minor": 1000, "restocked_quantity": 1}
    ]
    assert after["status"] == "partially_refunded" and after["refunded_minor"] == 1000
    assert after["lines"][0]["refunded_quantity"] == 1 and after["lines"][0]["restocked_quantity"] == 1
    assert on_hand(client, merchant, shop["skus"][0]) == (8, 0)

    # A unit of the second line for less than its price, not restocked; then money only.
    second = _refund(
        client,
        merchant,
        order["id"],
        {"lines": [{"line_id": b["id"], "quantity": 1, "amount_minor": 200}], "restock": False},
    )
    assert second.status_code == 201 and second.json()["refund"]["amount_minor"] == 200
    assert on_hand(client, merchant, shop["skus"][1]) == (8, 0)
    third = _refund(
        client, merchant, order["id"], {"lines": [{"line_id": b["id"], "quantity": 0, "amount_minor": 133}]}
    )
    assert third.status_code == 201 and third.json()["refund"]["lines"][0]["restocked_quantity"] == 0
    assert third.json()["order"]["status"] == "partially_refunded"

    # The whole-order route refunds what is left: 2 units of a, 1 unit (and 0 left of its money) of b.
    rest = client.post(f"/v1/merchant/orders/{order['id']}/refund", json={"restock": True}, headers=merchant)
    assert rest.status_code == 200, rest.text
    final = rest.json()
    assert final["status"] == "refunded" and final["refunded_at"] is not None
    assert final["refunded_minor"] == final["total_minor"] == 3666
    assert [r["amount_minor"] for r in final["refunds"]] == [1000, 200, 133, 2333]
    assert [r["number"] for r in final["refunds"]] == [1, 2, 3, 4]
    last = final["refunds"][3]["lines"]
    assert last == [
        {"line_id": a["id"], "quantity": 2, "amount_minor": 2000, "restocked_quantity": 2},
        {"line_id": b["id"], "quantity": 1, "amount_minor": 333, "restocked_quantity": 1},
    ]
    assert [(line["refunded_quantity"], line["refunded_minor"]) for line in final["lines"]] == [
        (3, 3000),
        (2, 666),
    ]
    assert on_hand(client, merchant, shop["skus"][0]) == (10, 0) and on_hand(
        client, merchant, shop["skus"][1]
    ) == (9, 0)

    # The refunds are listed for the merchant (with who refunded), and shown to the buyer (without).
    listed = client.get(f"/v1/merchant/orders/{order['id']}/refunds", headers=merchant).json()
    assert [r["id"] for r in listed] == [r["id"] for r in final["refunds"]] and listed[0]["created_by"]
    seen = client.get(f"/v1/orders/{order['id']}", headers=shop["buyer"]).json()
    assert seen["status"] == "refunded" and len(seen["refunds"]) == 4
    assert all(r["created_by"] is None for r in seen["refunds"])
    assert client.get("/v1/merchant/orders?status=refunded", headers=merchant).json()["total"] == 1

    # Nothing is left: both routes refuse, and change nothing.
    again = _refund(
        client, merchant, order["id"], {"lines": [{"line_id": a["id"], "quantity": 0, "amount_minor": 1}]}
    )
    assert again.status_code == 409 and again.json()["code"] == "order_not_refundable"
    again = client.post(f"/v1/merchant/orders/{order['id']}/refund", json={}, headers=merchant)
    assert again.status_code == 409 and again.json()["code"] == "order_not_refundable"

    # One refund payment per refund, next to the one charge.
    from sqlalchemy import select

    from app.commerce.models import Payment, PaymentKind
    from app.db import session_scope

    with session_scope() as session:
        payments = session.scalars(select(Payment).where(Payment.order_id == uuid.UUID(order["id"]))).all()
        assert sorted(p.amount_minor for p in payments if p.kind is PaymentKind.refund) == [
            133,
            200,
            1000,
            2333,
        ]
        assert [p.amount_minor for p in payments if p.kind is PaymentKind.charge] == [3666]


def test_default_amounts_are_the_units_share_and_add_up_to_the_line_exactly(client, make_user):
    shop = _shop(client, make_user, prices=(1000,))
    order = _paid_order(client, shop, quantities=(3,))
    line = order["lines"][0]["id"]
    merchant = shop["merchant"]
    amounts = []
    # 999 for one unit, then the 2001 left shared by the two units left: 1000, then the last 1001.
    for body in (
        {"line_id": line, "quantity": 1, "amount_minor": 999},
        {"line_id": line, "quantity": 1},
        {"line_id": line, "quantity": 1},
    ):
        response = _refund(client, merchant, order["id"], {"lines": [body]})
        assert response.status_code == 201, response.text
        amounts.append(response.json()["refund"]["amount_minor"])
    assert amounts == [999, 1000, 1001] and sum(amounts) == 3000
    body = client.get(f"/v1/orders/{order['id']}", headers=merchant).json()
    assert body["status"] == "refunded" and body["refunded_minor"] == 3000


def test_refusals_say_why_and_change_nothing(client, make_user):
    shop = _shop(client, make_user)
    merchant = shop["merchant"]
    order = _paid_order(client, shop)
    a, b = order["lines"]
    url = f"/v1/merchant/orders/{order['id']}/refunds"

    def refuse(body: Any, status: int, code: str, headers: dict[str, str] = merchant) -> dict[str, Any]:
        response = client.post(url, json=body, headers=headers)
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == code, response.text
        return response.json()

    refuse({"lines": [{"line_id": str(uuid.uuid4()), "quantity": 1}]}, 422, "unknown_order_line")
    over = refuse({"lines": [{"line_id": a["id"], "quantity": 4}, {"line_id": b["id"], "quantity": 1}]}, 422,
                  "refund_exceeds_remaining")  # fmt: skip
    assert over["lines"] == [{"line_id": a["id"], "field": "quantity", "requested": 4, "remaining": 3}]
    over = refuse(
        {"lines": [{"line_id": b["id"], "quantity": 1, "amount_minor": 667}]}, 422, "refund_exceeds_remaining"
    )
    assert over["lines"] == [
        {"line_id": b["id"], "field": "amount_minor", "requested": 667, "remaining": 666}
    ]
    refuse({"lines": [{"line_id": a["id"], "quantity": 1}, {"line_id": a["id"], "quantity": 1}]}, 422,
           "duplicate_refund_line")  # fmt: skip
    refuse({"lines": [{"line_id": a["id"], "quantity": 0}]}, 422, "empty_refund")
    refuse({"lines": []}, 422, "validation_error")
    refuse({"lines": [{"line_id": a["id"], "quantity": -1}]}, 422, "validation_error")
    refuse({"lines": [{"line_id": a["id"], "quantity": 1}], "restock": "yes"}, 422, "validation_error")
    refuse({"lines": [{"line_id": a["id"], "quantity": 1}], "reason": "a\x00b"}, 422, "validation_error")
    # Another merchant's order is as unknown as an order that does not exist.
    _, other = make_user("merchant")
    hidden = refuse({"lines": [{"line_id": a["id"], "quantity": 1}]}, 404, "order_not_found", other)
    missing = client.post(
        f"/v1/merchant/orders/{uuid.uuid4()}/refunds",
        json={"lines": [{"line_id": a["id"], "quantity": 1}]},
        headers=merchant,
    ).json()
    assert (hidden["detail"], hidden["title"]) == (missing["detail"], missing["title"])
    assert client.get(f"/v1/merchant/orders/{order['id']}/refunds", headers=other).status_code == 404
    # The buyer is no merchant.
    assert (
        client.post(
            url, json={"lines": [{"line_id": a["id"], "quantity": 1}]}, headers=shop["buyer"]
        ).status_code
        == 403
    )

    unchanged = client.get(f"/v1/orders/{order['id']}", headers=merchant).json()
    assert unchanged["status"] == "paid" and unchanged["refunded_minor"] == 0 and unchanged["refunds"] == []
    assert on_hand(client, merchant, shop["skus"][0]) == (7, 0)

    # Unpaid orders cannot be refunded; neither, in part, an order whose whole payment must go back.
    pending = checkout(client, shop["buyer"], [(shop["skus"][0], 1)]).json()
    response = _refund(
        client, merchant, pending["id"], {"lines": [{"line_id": pending["lines"][0]["id"], "quantity": 1}]}
    )
    assert response.status_code == 409 and response.json()["code"] == "order_not_refundable"
    cancelled = checkout(client, shop["buyer"], [(shop["skus"][0], 1)]).json()
    client.post(f"/v1/orders/{cancelled['id']}/cancel", headers=shop["buyer"])
    assert webhook(client, "payment.succeeded", cancelled).json()["outcome"] == "refund_required"
    line = cancelled["lines"][0]["id"]
    response = _refund(client, merchant, cancelled["id"], {"lines": [{"line_id": line, "quantity": 1}]})
    assert response.status_code == 409 and response.json()["code"] == "order_not_refundable"
    whole = client.post(f"/v1/merchant/orders/{cancelled['id']}/refund", json={}, headers=merchant)
    assert whole.status_code == 200 and whole.json()["status"] == "refunded"
    assert whole.json()["refunds"][0]["lines"][0]["restocked_quantity"] == 0  # it never left the shelf


def test_an_idempotency_key_makes_retries_safe(client, make_user):
    shop = _shop(client, make_user)
    merchant = shop["merchant"]
    order = _paid_order(client, shop)
    a = order["lines"][0]
    body = {"lines": [{"line_id": a["id"], "quantity": 1}], "restock": True}
    first = _refund(client, merchant, order["id"], body, key="refund-1")
    assert first.status_code == 201
    retry = _refund(client, merchant, order["id"], body, key="refund-1")
    assert retry.status_code == 200 and retry.json()["refund"] == first.json()["refund"]
    assert retry.json()["order"]["refunded_minor"] == 1000 and len(retry.json()["order"]["refunds"]) == 1
    assert on_hand(client, merchant, shop["skus"][0]) == (8, 0)  # restocked once
    other_body = _refund(client, merchant, order["id"], {**body, "restock": False}, key="refund-1")
    assert other_body.status_code == 409 and other_body.json()["code"] == "idempotency_key_reused"
    # The key belongs to the order's refunds: the whole-order route with it is another request.
    whole = client.post(
        f"/v1/merchant/orders/{order['id']}/refund",
        json={},
        headers={**merchant, "Idempotency-Key": "refund-1"},
    )
    assert whole.status_code == 409 and whole.json()["code"] == "idempotency_key_reused"
    # A new key is a new refund; the whole-order route is idempotent by key too.
    assert _refund(client, merchant, order["id"], body, key="refund-2").json()["refund"]["number"] == 2
    for _ in range(2):
        whole = client.post(
            f"/v1/merchant/orders/{order['id']}/refund",
            json={},
            headers={**merchant, "Idempotency-Key": "all"},
        )
        assert whole.status_code == 200 and whole.json()["status"] == "refunded"
        assert len(whole.json()["refunds"]) == 3
    assert on_hand(client, merchant, shop["skus"][0]) == (10, 0)


def test_each_refund_reverses_its_share_of_the_commission(client, make_user):
    from app.creators import service as creators_service
    from app.db import session_scope
    from tests.creators.helpers import admit, buy, commissions, earnings, make_shop, release_all, tagged_clip
    from tests.creators.ledger_checks import check_ledger

    shop = make_shop(client, make_user, price=10_000)
    creator_user, creator = make_user("creator")
    clip_id, tag_id = tagged_clip(client, creator, creator_user["id"], shop.sku_id)
    admit(creator_user["id"])
    _, buyer = make_user("viewer")
    order = buy(client, buyer, shop.sku_id, 3, clip_id=clip_id, tag_id=tag_id)
    [record] = commissions(order["id"])
    assert record.commission_minor == 1500  # 5 % of 30,000
    line = order["lines"][0]["id"]

    def refund(body: dict[str, Any]) -> dict[str, Any]:
        response = _refund(client, shop.merchant, order["id"], {"lines": [body]})
        assert response.status_code == 201, response.text
        return response.json()

    refund({"line_id": line, "quantity": 1})  # 10,000 of 30,000: 500 back
    assert earnings(client, creator)["EUR"]["pending_minor"] == 1000
    # Money only: 13,333 refunded -> floor(1500 x 13,333 / 30,000) = 666 reversed
    refund({"line_id": line, "quantity": 0, "amount_minor": 3_333})
    assert earnings(client, creator)["EUR"]["pending_minor"] == 1500 - 666
    # The return window ends and a payout pays what is left; a later refund goes against payable.
    release_all()
    with session_scope() as session:
        creators_service.run_payouts(session, key="refund-test", threshold_minor=1)
    balance = earnings(client, creator)["EUR"]
    assert (balance["pending_minor"], balance["payable_minor"], balance["in_payout_minor"]) == (0, 0, 834)
    # One unit: 8,333 of the 16,667 left; 21,666 refunded -> floor(1500 x 21,666 / 30,000) = 1083
    assert refund({"line_id": line, "quantity": 1})["refund"]["amount_minor"] == 8_333
    assert earnings(client, creator)["EUR"]["payable_minor"] == -(1083 - 666)
    rest = client.post(f"/v1/merchant/orders/{order['id']}/refund", json={}, headers=shop.merchant)
    assert rest.json()["status"] == "refunded"
    assert earnings(client, creator)["EUR"]["payable_minor"] == -834  # owed back, netted later
    [record] = commissions(order["id"])
    assert record.refunded_minor == record.base_minor == 30_000
    with session_scope() as session:
        check_ledger(session)
        # A retry of a refund (same key) writes no second reversal.
        from sqlalchemy import func, select

        from app.creators.models import CommissionEntry, EntryKind

        reversals = session.scalar(
            select(func.count())
            .select_from(CommissionEntry)
            .where(CommissionEntry.kind == EntryKind.reversal)
        )
    assert reversals == 4


def test_an_idempotent_retry_writes_no_second_reversal(client, make_user):
    from sqlalchemy import func, select

    from app.creators.models import CommissionEntry, EntryKind
    from app.db import session_scope
    from tests.creators.helpers import admit, buy, make_shop, tagged_clip

    shop = make_shop(client, make_user, price=10_000)
    creator_user, creator = make_user("creator")
    clip_id, tag_id = tagged_clip(client, creator, creator_user["id"], shop.sku_id)
    admit(creator_user["id"])
    _, buyer = make_user("viewer")
    order = buy(client, buyer, shop.sku_id, 2, clip_id=clip_id, tag_id=tag_id)
    body = {"lines": [{"line_id": order["lines"][0]["id"], "quantity": 1}]}
    for _ in range(3):
        assert _refund(client, shop.merchant, order["id"], body, key="k").status_code in (200, 201)
    with session_scope() as session:
        reversed_ = session.scalars(
            select(CommissionEntry.amount_minor).where(CommissionEntry.kind == EntryKind.reversal)
        ).all()
        assert reversed_ == [-500]
        assert session.scalar(select(func.count()).select_from(CommissionEntry)) == 2


def test_sales_figures_are_net_of_partial_refunds(client, make_user):
    from app.analytics import rollups, service
    from app.db import session_scope

    shop = _shop(client, make_user)
    order = _paid_order(client, shop)  # 3666
    a, b = order["lines"]
    period = service.period(date.today() - timedelta(days=1), date.today() + timedelta(days=1), "UTC")

    def figures() -> tuple[int, int, int, int, int]:
        with session_scope() as session:
            rollups.sync_orders(session)
            everything = service.figures(session, "all", [rollups.ALL], period)[rollups.ALL]
            skus = service.figures(session, "sku", [uuid.UUID(s) for s in shop["skus"]], period)
            sku_a = skus[uuid.UUID(shop["skus"][0])]
            return (
                everything.orders,
                everything.units,
                everything.revenue.get("EUR", 0),
                sku_a.units,
                sku_a.revenue.get("EUR", 0),
            )

    assert figures() == (1, 5, 3666, 3, 3000)
    _refund(client, shop["merchant"], order["id"], {"lines": [{"line_id": a["id"], "quantity": 1}]})
    assert figures() == (1, 4, 2666, 2, 2000)
    _refund(
        client,
        shop["merchant"],
        order["id"],
        {"lines": [{"line_id": b["id"], "quantity": 0, "amount_minor": 66}]},
    )
    assert figures() == (1, 4, 2600, 2, 2000)
    assert figures() == (1, 4, 2600, 2, 2000)  # syncing again changes nothing
    client.post(f"/v1/merchant/orders/{order['id']}/refund", json={}, headers=shop["merchant"])
    assert figures()[:3] == (0, 0, 0)


def test_every_refund_reaches_the_merchants_webhooks(client, make_user):
    from sqlalchemy import select

    from app.db import session_scope
    from app.notifications.models import WebhookDelivery

    shop = _shop(client, make_user)
    endpoint = client.post(
        "/v1/merchant/webhooks",
        json={"url": "https://hooks.example.com/clipshop", "event_types": ["order.refunded"]},
        headers=shop["merchant"],
    )
    assert endpoint.status_code == 201, endpoint.text
    order = _paid_order(client, shop)
    a = order["lines"][0]
    refund = _refund(
        client,
        shop["merchant"],
        order["id"],
        {"lines": [{"line_id": a["id"], "quantity": 2}], "reason": "late"},
    )
    client.post(
        f"/v1/merchant/orders/{order['id']}/refund", json={"restock": False}, headers=shop["merchant"]
    )
    with session_scope() as session:
        bodies = [
            json.loads(d.body)
            for d in session.scalars(
                select(WebhookDelivery).where(WebhookDelivery.event_type == "order.refunded")
            )
        ]
    events = sorted((body["data"] for body in bodies), key=lambda data: data["number"])
    assert [e["status"] for e in events] == ["partially_refunded", "refunded"]
    first = events[0]
    assert first["refund_id"] == refund.json()["refund"]["id"] and first["reason"] == "late"
    assert (first["amount_minor"], first["order_total_minor"], first["order_refunded_minor"]) == (
        2000,
        3666,
        2000,
    )
    assert first["lines"][0]["line_id"] == a["id"] and first["lines"][0]["quantity"] == 2
    assert first["lines"][0]["restocked_quantity"] == 2 and first["lines"][0]["sku_id"] == a["sku_id"]
    assert events[1]["amount_minor"] == 1666 and events[1]["restock"] is False
