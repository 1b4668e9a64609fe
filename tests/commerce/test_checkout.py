from __future__ import annotations

import json
import time

from tests.catalog.factories import make_clip, one_sku
from tests.commerce.helpers import available, checkout, expire_now, on_hand, webhook


def test_checkout_reserves_and_is_idempotent(client, make_user):
    _, merchant = make_user("merchant")
    buyer_user, buyer = make_user("viewer")
    sku = one_sku(client, merchant, quantity=5, price=1250)
    first = checkout(client, buyer, [(sku["id"], 2)], key="order-1")
    assert first.status_code == 201, first.text
    order = first.json()
    assert order["status"] == "pending_payment" and order["total_minor"] == 2500
    assert order["buyer_id"] == buyer_user["id"] and order["expires_at"]
    assert available(client, sku["id"]) == 3
    assert on_hand(client, merchant, sku["id"]) == (5, 2)
    replay = checkout(client, buyer, [(sku["id"], 2)], key="order-1")
    assert replay.status_code == 200 and replay.json()["id"] == order["id"]
    assert available(client, sku["id"]) == 3  # nothing reserved twice
    reused = checkout(client, buyer, [(sku["id"], 1)], key="order-1")
    assert reused.status_code == 409 and reused.json()["code"] == "idempotency_key_reused"
    missing = client.post(
        "/v1/checkout", json={"lines": [{"sku_id": sku["id"], "quantity": 1}]}, headers=buyer
    )
    assert missing.status_code == 428 and missing.json()["code"] == "idempotency_key_required"
    assert (
        client.post("/v1/checkout", json={"lines": []}, headers={"Idempotency-Key": "x"}).status_code == 401
    )
    assert [o["id"] for o in client.get("/v1/me/orders", headers=buyer).json()["items"]] == [order["id"]]
    assert client.get(f"/v1/orders/{order['id']}", headers=buyer).status_code == 200
    assert client.get(f"/v1/orders/{order['id']}", headers=make_user("viewer")[1]).status_code == 404
    assert client.get(f"/v1/orders/{order['id']}", headers=merchant).status_code == 200
    assert client.get("/v1/merchant/orders", headers=merchant).json()["total"] == 1


def test_insufficient_stock_lists_every_short_line_and_reserves_nothing(client, make_user):
    _, merchant = make_user("merchant")
    _, buyer = make_user("viewer")
    a = one_sku(client, merchant, quantity=2)
    b = one_sku(client, merchant, quantity=1)
    c = one_sku(client, merchant, quantity=9)
    response = checkout(client, buyer, [(a["id"], 3), (c["id"], 1), (b["id"], 2)])
    assert response.status_code == 409
    problem = response.json()
    assert problem["code"] == "insufficient_stock"
    assert {(line["sku_id"], line["requested"], line["available"]) for line in problem["lines"]} == {
        (a["id"], 3, 2),
        (b["id"], 2, 1),
    }
    assert (available(client, a["id"]), available(client, b["id"]), available(client, c["id"])) == (2, 1, 9)
    assert client.get("/v1/me/orders", headers=buyer).json()["total"] == 0


def test_paid_webhook_sells_and_duplicates_are_ignored(client, make_user):
    _, merchant = make_user("merchant")
    _, buyer = make_user("viewer")
    sku = one_sku(client, merchant, quantity=4)
    order = checkout(client, buyer, [(sku["id"], 3)]).json()
    first = webhook(client, "payment.succeeded", order, event_id="evt_1")
    assert first.status_code == 200 and first.json() == {
        "received": True,
        "duplicate": False,
        "outcome": "paid",
    }
    replay = webhook(client, "payment.succeeded", order, event_id="evt_1")
    assert replay.json()["duplicate"] is True
    other_event = webhook(client, "payment.succeeded", order, event_id="evt_2")
    assert other_event.json()["outcome"] == "already_paid"
    assert client.get(f"/v1/orders/{order['id']}", headers=buyer).json()["status"] == "paid"
    assert on_hand(client, merchant, sku["id"]) == (1, 0)
    from sqlalchemy import func, select

    from app.commerce.models import Payment
    from app.db import session_scope

    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Payment)) == 1
    ledger = client.get(f"/v1/merchant/skus/{sku['id']}/stock/ledger", headers=merchant).json()["items"]
    assert [e["reason"] for e in ledger] == ["sale", "reserve", "initial"]
    assert sum(e["delta"] for e in ledger) == 1


def test_webhook_signature_checks(client, make_user):
    _, merchant = make_user("merchant")
    _, buyer = make_user("viewer")
    sku = one_sku(client, merchant, quantity=4)
    order = checkout(client, buyer, [(sku["id"], 1)]).json()
    from app.commerce.service import sign
    from app.config import get_settings

    body = json.dumps(
        {"id": "evt_x", "type": "payment.succeeded", "data": {"order_id": order["id"]}}
    ).encode()
    secret = get_settings().payment_webhook_secret
    cases = {
        "missing": {},
        "wrong secret": {"ClipShop-Signature": sign(body, "not-the-secret")},
        "tampered": {"ClipShop-Signature": sign(body + b" ", secret)},
        "too old": {"ClipShop-Signature": sign(body, secret, int(time.time()) - 3600)},
    }
    for name, headers in cases.items():
        response = client.post("/v1/payments/webhook", content=body, headers=headers)
        assert response.status_code == 400, name
        assert response.json()["code"] in ("invalid_signature", "signature_expired"), name
    assert client.get(f"/v1/orders/{order['id']}", headers=buyer).json()["status"] == "pending_payment"


def test_failed_payment_and_cancel_release_stock(client, make_user):
    _, merchant = make_user("merchant")
    _, buyer = make_user("viewer")
    sku = one_sku(client, merchant, quantity=3)
    failed = checkout(client, buyer, [(sku["id"], 2)]).json()
    assert webhook(client, "payment.failed", failed).json()["outcome"] == "failed"
    assert available(client, sku["id"]) == 3
    cancelled = checkout(client, buyer, [(sku["id"], 3)]).json()
    assert available(client, sku["id"]) == 0
    assert client.post(f"/v1/orders/{cancelled['id']}/cancel", headers=merchant).status_code == 404
    response = client.post(f"/v1/orders/{cancelled['id']}/cancel", headers=buyer)
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert available(client, sku["id"]) == 3
    assert client.post(f"/v1/orders/{cancelled['id']}/cancel", headers=buyer).status_code == 409
    # Money arriving for a cancelled order goes back.
    assert webhook(client, "payment.succeeded", cancelled).json()["outcome"] == "refund_required"
    assert available(client, sku["id"]) == 3


def test_refund_restocks_when_asked(client, make_user):
    _, merchant = make_user("merchant")
    _, other_merchant = make_user("merchant")
    _, buyer = make_user("viewer")
    sku = one_sku(client, merchant, quantity=5)
    order = checkout(client, buyer, [(sku["id"], 2)]).json()
    assert (
        client.post(f"/v1/merchant/orders/{order['id']}/refund", json={}, headers=merchant).status_code == 409
    )
    webhook(client, "payment.succeeded", order)
    assert on_hand(client, merchant, sku["id"]) == (3, 0)
    assert (
        client.post(f"/v1/merchant/orders/{order['id']}/refund", json={}, headers=other_merchant).status_code
        == 404
    )
    refunded = client.post(
        f"/v1/merchant/orders/{order['id']}/refund", json={"restock": True}, headers=merchant
    )
    assert refunded.status_code == 200 and refunded.json()["status"] == "refunded"
    assert on_hand(client, merchant, sku["id"]) == (5, 0)
    ledger = client.get(f"/v1/merchant/skus/{sku['id']}/stock/ledger", headers=merchant).json()["items"]
    assert ledger[0]["reason"] == "restock" and ledger[0]["order_id"] == order["id"]

    second = checkout(client, buyer, [(sku["id"], 1)]).json()
    webhook(client, "payment.succeeded", second)
    client.post(f"/v1/merchant/orders/{second['id']}/refund", json={"restock": False}, headers=merchant)
    assert on_hand(client, merchant, sku["id"]) == (4, 0)


def test_expiry_is_enforced_by_reads_without_a_sweep(client, make_user):
    _, merchant = make_user("merchant")
    _, buyer = make_user("viewer")
    sku = one_sku(client, merchant, quantity=2)
    order = checkout(client, buyer, [(sku["id"], 2)]).json()
    assert available(client, sku["id"]) == 0
    expire_now(order["id"])
    # No sweeper has run: the reservation still counts in `reserved`, but not in availability.
    assert available(client, sku["id"]) == 2
    assert client.get(f"/v1/orders/{order['id']}", headers=buyer).json()["status"] == "expired"
    # And a new checkout may take the stock.
    assert checkout(client, buyer, [(sku["id"], 2)]).status_code == 201
    from app.jobs import drain
    from app.jobs.periodic import send_maintenance

    # The periodic maintenance that every worker schedules includes the order-expiry sweep.
    send_maintenance()
    drain()
    assert on_hand(client, merchant, sku["id"]) == (2, 2)


def test_late_payment_re_reserves_when_stock_allows(client, make_user):
    _, merchant = make_user("merchant")
    _, buyer = make_user("viewer")
    sku = one_sku(client, merchant, quantity=3)
    order = checkout(client, buyer, [(sku["id"], 2)]).json()
    expire_now(order["id"])
    outcome = webhook(client, "payment.succeeded", order).json()["outcome"]
    assert outcome == "paid_after_expiry"
    assert client.get(f"/v1/orders/{order['id']}", headers=buyer).json()["status"] == "paid"
    assert on_hand(client, merchant, sku["id"]) == (1, 0)


def test_late_payment_goes_to_refund_when_stock_is_gone(client, make_user):
    _, merchant = make_user("merchant")
    _, buyer = make_user("viewer")
    _, rival = make_user("viewer")
    sku = one_sku(client, merchant, quantity=2)
    order = checkout(client, buyer, [(sku["id"], 2)]).json()
    expire_now(order["id"])
    assert checkout(client, rival, [(sku["id"], 2)]).status_code == 201
    assert webhook(client, "payment.succeeded", order).json()["outcome"] == "refund_required"
    assert client.get(f"/v1/orders/{order['id']}", headers=buyer).json()["status"] == "refund_required"
    assert on_hand(client, merchant, sku["id"]) == (2, 2)  # the rival's hold is untouched
    refunded = client.post(
        f"/v1/merchant/orders/{order['id']}/refund", json={"restock": True}, headers=merchant
    )
    assert refunded.json()["status"] == "refunded"
    assert on_hand(client, merchant, sku["id"]) == (2, 2)  # nothing was sold, nothing to restock


def test_attribution_and_validation(client, make_user):
    creator, creator_headers = make_user("creator")
    _, merchant = make_user("merchant")
    _, buyer = make_user("viewer")
    sku = one_sku(client, merchant, quantity=5)
    other = one_sku(client, merchant, quantity=5)
    clip_id = str(make_clip(creator["id"]))
    tag = client.post(
        f"/v1/clips/{clip_id}/tags",
        json={"sku_id": sku["id"], "start_ms": 0, "end_ms": 3000},
        headers=creator_headers,
    ).json()
    order = checkout(client, buyer, [(sku["id"], 1)], clip_id=clip_id, tag_id=tag["id"])
    assert order.status_code == 201, order.text
    assert (order.json()["clip_id"], order.json()["tag_id"], order.json()["creator_id"]) == (
        clip_id,
        tag["id"],
        creator["id"],
    )
    wrong = checkout(client, buyer, [(other["id"], 1)], clip_id=clip_id, tag_id=tag["id"])
    assert wrong.status_code == 422 and wrong.json()["code"] == "invalid_attribution"
    client.patch(f"/v1/merchant/skus/{other['id']}", json={"active": False}, headers=merchant)
    gone = checkout(client, buyer, [(other["id"], 1)])
    assert gone.status_code == 422 and gone.json()["code"] == "sku_unavailable"
