"""Attribution: buy button, last touch within the window, what earns nothing, and the rate
captured at purchase."""

from __future__ import annotations

from datetime import timedelta

from tests.creators.helpers import admit, buy, commissions, make_shop, order_created_at, tagged_clip, touch

WINDOW = timedelta(hours=24)


def _setup(client, make_user):
    shop = make_shop(client, make_user)
    creator_user, creator = make_user("creator")
    clip_id, tag_id = tagged_clip(client, creator, creator_user["id"], shop.sku_id)
    admit(creator_user["id"])
    buyer_user, buyer = make_user("viewer")
    return shop, creator_user, creator, clip_id, tag_id, buyer_user, buyer


def test_buy_button_line_earns_the_default_rate(client, make_user):
    shop, creator_user, creator, clip_id, tag_id, _buyer_user, buyer = _setup(client, make_user)
    order = buy(client, buyer, shop.sku_id, 2, clip_id=clip_id, tag_id=tag_id)
    [line] = commissions(order["id"])
    assert str(line.creator_id) == creator_user["id"] and str(line.clip_id) == clip_id
    assert line.source == "buy_button" and str(line.tag_id) == tag_id
    assert line.rate_bps == 500 and line.rate_source == "platform_default"
    assert line.base_minor == 20_000 and line.commission_minor == 1_000
    summary = client.get("/v1/me/earnings", headers=creator).json()
    assert summary["balances"] == [
        {"currency": "EUR", "pending_minor": 1000, "payable_minor": 0, "in_payout_minor": 0, "paid_minor": 0}
    ]


def test_last_touch_window_edges(client, make_user):
    shop, _creator_user, _creator, clip_id, _tag_id, buyer_user, buyer = _setup(client, make_user)

    def tap_at(offset):
        def before_payment(order):
            touch(buyer_user["id"], clip_id, order_created_at(order["id"]) - offset)

        return before_payment

    # exactly at the window's start: inside
    inside = buy(client, buyer, shop.sku_id, before_payment=tap_at(WINDOW))
    [line] = commissions(inside["id"])
    assert line.source == "product_tap" and str(line.clip_id) == clip_id
    # a millisecond before it: outside (and the earlier tap is now outside too)
    outside = buy(client, buyer, shop.sku_id, before_payment=tap_at(WINDOW + timedelta(milliseconds=1)))
    assert commissions(outside["id"]) == []


def test_two_clips_touched_the_last_one_wins(client, make_user):
    shop, _creator_user, _creator, clip_a, _tag, buyer_user, buyer = _setup(client, make_user)
    other_user, other = make_user("creator")
    clip_b, _ = tagged_clip(client, other, other_user["id"], shop.sku_id)
    admit(other_user["id"])

    def touches(order):
        at = order_created_at(order["id"])
        touch(buyer_user["id"], clip_b, at - timedelta(hours=3))
        touch(buyer_user["id"], clip_a, at - timedelta(hours=2), kind="view_progress", progress=0.9)
        touch(buyer_user["id"], clip_b, at - timedelta(hours=1))
        # a view that stopped early does not count, however recent
        touch(buyer_user["id"], clip_a, at - timedelta(minutes=1), kind="view_progress", progress=0.2)

    order = buy(client, buyer, shop.sku_id, before_payment=touches)
    [line] = commissions(order["id"])
    assert str(line.clip_id) == clip_b and str(line.creator_id) == other_user["id"]
    assert line.source == "product_tap"


def test_a_view_past_the_threshold_counts(client, make_user):
    shop, creator_user, _creator, clip_id, _tag, buyer_user, buyer = _setup(client, make_user)

    def watched(order):
        touch(buyer_user["id"], clip_id, order_created_at(order["id"]) - timedelta(minutes=5), "complete")

    order = buy(client, buyer, shop.sku_id, before_payment=watched)
    [line] = commissions(order["id"])
    assert line.source == "view" and str(line.creator_id) == creator_user["id"]


def test_no_commission_on_own_purchase_merchant_accounts_or_when_not_admitted(client, make_user):
    shop, _creator_user, creator, clip_id, tag_id, _buyer_user, _buyer = _setup(client, make_user)
    own = buy(client, creator, shop.sku_id, clip_id=clip_id, tag_id=tag_id)
    [line] = commissions(own["id"])
    assert line.commission_minor == 0 and line.no_commission_reason == "own_purchase"
    merchant_order = buy(client, shop.merchant, shop.sku_id, clip_id=clip_id, tag_id=tag_id)
    [line] = commissions(merchant_order["id"])
    assert line.commission_minor == 0 and line.no_commission_reason == "merchant_account"
    outsider_user, outsider = make_user("creator")
    clip_2, tag_2 = tagged_clip(client, outsider, outsider_user["id"], shop.sku_id)
    _, buyer = make_user("viewer")
    order = buy(client, buyer, shop.sku_id, clip_id=clip_2, tag_id=tag_2)
    [line] = commissions(order["id"])
    assert line.commission_minor == 0 and line.no_commission_reason == "not_admitted"
    # Nothing reached the ledger.
    assert client.get("/v1/me/earnings", headers=creator).json()["balances"] == []
    assert client.get("/v1/me/earnings", headers=outsider).json()["balances"] == []


def test_the_rate_at_purchase_applies_not_the_rate_at_tap(client, make_user):
    shop, _creator_user, _creator, clip_id, _tag, buyer_user, buyer = _setup(client, make_user)
    assert (
        client.put(
            "/v1/merchant/commission-rates", json={"default_rate_bps": 300}, headers=shop.merchant
        ).status_code
        == 200
    )

    def tap_then_rates_change(order):
        touch(buyer_user["id"], clip_id, order_created_at(order["id"]) - timedelta(minutes=10))
        response = client.put(
            "/v1/merchant/commission-rates",
            json={"default_rate_bps": 300, "product_rates": {shop.product_id: 1200}},
            headers=shop.merchant,
        )
        assert response.status_code == 200, response.text

    order = buy(client, buyer, shop.sku_id, before_payment=tap_then_rates_change)
    [line] = commissions(order["id"])
    assert (line.rate_bps, line.rate_source, line.commission_minor) == (1200, "product", 1200)
    # A later rate change leaves the captured line alone.
    client.put("/v1/merchant/commission-rates", json={"default_rate_bps": 100}, headers=shop.merchant)
    assert commissions(order["id"])[0].rate_bps == 1200


def test_best_rate_among_standard_open_and_targeted_collaborations(client, make_user):
    shop, _creator_user, creator, clip_id, tag_id, _buyer_user, buyer = _setup(client, make_user)
    handle = client.get("/v1/me", headers=creator).json()["creator"]["handle"]
    client.put(
        "/v1/merchant/commission-rates",
        json={"default_rate_bps": 400, "category_rates": {"clothing > hoodies": 700}},
        headers=shop.merchant,
    )
    open_ = client.post(
        "/v1/merchant/collaborations", json={"kind": "open", "rate_bps": 900}, headers=shop.merchant
    )
    assert open_.status_code == 201, open_.text
    targeted = client.post(
        "/v1/merchant/collaborations",
        json={
            "kind": "targeted",
            "product_id": shop.product_id,
            "rate_bps": 1500,
            "brief": "rainy walk",
            "creator_handles": [handle],
        },
        headers=shop.merchant,
    ).json()
    # Before accepting: the open collaboration is the best.
    order = buy(client, buyer, shop.sku_id, clip_id=clip_id, tag_id=tag_id)
    assert (commissions(order["id"])[0].rate_bps, commissions(order["id"])[0].rate_source) == (
        900,
        "open_collaboration",
    )
    invitations = client.get("/v1/me/collaborations", headers=creator).json()["items"]
    assert [i["status"] for i in invitations] == ["invited"] and invitations[0]["brief"] == "rainy walk"
    accepted = client.post(f"/v1/me/collaborations/{targeted['id']}/accept", headers=creator)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    order = buy(client, buyer, shop.sku_id, clip_id=clip_id, tag_id=tag_id)
    [line] = commissions(order["id"])
    assert (line.rate_bps, line.rate_source, str(line.collaboration_id)) == (
        1500,
        "targeted_collaboration",
        targeted["id"],
    )
    assert client.post(f"/v1/me/collaborations/{targeted['id']}/decline", headers=creator).status_code == 409
    # Ended: back to the open collaboration.
    client.post(f"/v1/merchant/collaborations/{targeted['id']}/end", headers=shop.merchant)
    client.post(f"/v1/merchant/collaborations/{open_.json()['id']}/end", headers=shop.merchant)
    order = buy(client, buyer, shop.sku_id, clip_id=clip_id, tag_id=tag_id)
    assert (commissions(order["id"])[0].rate_bps, commissions(order["id"])[0].rate_source) == (
        700,
        "category",
    )


def test_creators_browse_products_open_to_collaboration(client, make_user):
    shop, _creator_user, creator, *_ = _setup(client, make_user)
    client.post(
        "/v1/merchant/collaborations",
        json={"kind": "open", "product_id": shop.product_id, "rate_bps": 1100},
        headers=shop.merchant,
    )
    page = client.get("/v1/me/creator-programme/products", headers=creator).json()
    assert [(i["product_id"], i["rate_bps"]) for i in page["items"]] == [(shop.product_id, 1100)]
    assert (
        client.get(
            "/v1/me/creator-programme/products", params={"min_rate_bps": 1200}, headers=creator
        ).json()["items"]
        == []
    )
    assert (
        client.get(
            "/v1/me/creator-programme/products", params={"max_price_minor": 5000}, headers=creator
        ).json()["items"]
        == []
    )
    assert (
        len(
            client.get(
                "/v1/me/creator-programme/products", params={"in_stock": True}, headers=creator
            ).json()["items"]
        )
        == 1
    )
    _, viewer = make_user("viewer")
    assert client.get("/v1/me/creator-programme/products", headers=viewer).status_code == 403


def test_cancel_and_refund_reverse_through_commerce(client, make_user):
    shop, _creator_user, creator, clip_id, tag_id, _buyer_user, buyer = _setup(client, make_user)
    order = buy(client, buyer, shop.sku_id, 3, clip_id=clip_id, tag_id=tag_id)
    assert client.get("/v1/me/earnings", headers=creator).json()["balances"][0]["pending_minor"] == 1500
    refund = client.post(
        f"/v1/merchant/orders/{order['id']}/refund", json={"restock": True}, headers=shop.merchant
    )
    assert refund.status_code == 200, refund.text
    assert client.get("/v1/me/earnings", headers=creator).json()["balances"][0]["pending_minor"] == 0
    ledger = client.get("/v1/me/earnings/ledger", headers=creator).json()["items"]
    assert [(e["kind"], e["amount_minor"]) for e in ledger] == [("reversal", -1500), ("commission", 1500)]
    assert ledger[0]["reverses_entry_id"] == ledger[1]["id"]
    # An unpaid order that is cancelled never earned anything.
    unpaid = buy(client, buyer, shop.sku_id, clip_id=clip_id, tag_id=tag_id, pay=False)
    assert client.post(f"/v1/orders/{unpaid['id']}/cancel", headers=buyer).status_code == 200
    assert commissions(unpaid["id"]) == []
