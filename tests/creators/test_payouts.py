"""Payout runs: threshold, idempotency, CSV, settlement by operator and provider callback,
reversals after payout (negative balance netted later), earnings endpoints."""

from __future__ import annotations

import csv
import io
import json

from tests.creators.helpers import admit, buy, earnings, make_shop, release_all, tagged_clip


def _earning_creator(client, make_user, orders=2, quantity=1):
    shop = make_shop(client, make_user, price=20_000)
    creator_user, creator = make_user("creator")
    clip_id, tag_id = tagged_clip(client, creator, creator_user["id"], shop.sku_id)
    admit(creator_user["id"])
    _, buyer = make_user("viewer")
    placed = [
        buy(client, buyer, shop.sku_id, quantity, clip_id=clip_id, tag_id=tag_id) for _ in range(orders)
    ]
    return shop, creator_user, creator, clip_id, placed


def test_payout_run_pays_once_exports_csv_and_settles(client, make_user):
    shop, creator_user, creator, _clip, orders = _earning_creator(client, make_user)
    _, admin = make_user("admin")
    # Still inside the return window: nothing is payable, nobody is paid.
    run = client.post("/v1/admin/payout-runs", json={"key": "early", "threshold_minor": 1}, headers=admin)
    assert run.status_code == 201 and run.json()["payouts"] == []
    assert release_all() == 2
    assert earnings(client, creator)["EUR"]["payable_minor"] == 2_000
    run = client.post(
        "/v1/admin/payout-runs", json={"key": "2026-11-29", "threshold_minor": 1000}, headers=admin
    )
    assert run.status_code == 201, run.text
    [payout] = run.json()["payouts"]
    assert (payout["creator_id"], payout["amount_minor"], payout["entry_count"]) == (
        creator_user["id"],
        2000,
        2,
    )
    # The same key again: the same run, nobody paid twice; a new key finds nothing left to pay.
    again = client.post(
        "/v1/admin/payout-runs", json={"key": "2026-11-29", "threshold_minor": 1000}, headers=admin
    )
    assert again.status_code == 200 and again.json()["id"] == run.json()["id"]
    assert (
        client.post(
            "/v1/admin/payout-runs", json={"key": "other", "threshold_minor": 1}, headers=admin
        ).json()["payouts"]
        == []
    )
    balance = earnings(client, creator)["EUR"]
    assert (balance["payable_minor"], balance["in_payout_minor"], balance["paid_minor"]) == (0, 2000, 0)
    exported = client.get(f"/v1/admin/payout-runs/{run.json()['id']}/payouts.csv", headers=admin)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["creator_id"], r["amount_minor"], r["status"]) for r in rows] == [
        (creator_user["id"], "2000", "created")
    ]
    settled = client.post(f"/v1/admin/payouts/{payout['id']}/settle", json={"status": "paid"}, headers=admin)
    assert settled.status_code == 200 and settled.json()["status"] == "paid"
    assert (
        client.post(
            f"/v1/admin/payouts/{payout['id']}/settle", json={"status": "failed"}, headers=admin
        ).status_code
        == 409
    )
    balance = earnings(client, creator)["EUR"]
    assert (balance["payable_minor"], balance["in_payout_minor"], balance["paid_minor"]) == (0, 0, 2000)
    assert [p["status"] for p in client.get("/v1/me/payouts", headers=creator).json()["items"]] == ["paid"]
    # Each step of the money's way is in the creator's inbox.
    inbox = client.get("/v1/me/notifications", params={"limit": 100}, headers=creator).json()["items"]
    assert {n["kind"] for n in inbox} >= {
        "commission_pending",
        "commission_payable",
        "payout_created",
        "payout_paid",
    }

    # A refund after payout reverses from payable: the balance goes negative ...
    refund = client.post(
        f"/v1/merchant/orders/{orders[0]['id']}/refund", json={"restock": False}, headers=shop.merchant
    )
    assert refund.status_code == 200, refund.text
    assert earnings(client, creator)["EUR"]["payable_minor"] == -1000
    assert (
        client.post("/v1/admin/payout-runs", json={"key": "neg", "threshold_minor": 1}, headers=admin).json()[
            "payouts"
        ]
        == []
    )
    # ... and is netted against later earnings.
    _, buyer = make_user("viewer")
    clip_tag = client.get(f"/v1/creators/{_handle(client, creator)}/storefront").json()["items"][0]["buy"]
    buy(client, buyer, shop.sku_id, 3, clip_id=clip_tag["clip_id"], tag_id=clip_tag["tag_id"])
    release_all()
    run = client.post(
        "/v1/admin/payout-runs", json={"key": "net", "threshold_minor": 1}, headers=admin
    ).json()
    assert [p["amount_minor"] for p in run["payouts"]] == [2000]  # 3000 earned - 1000 owed


def _handle(client, headers):
    return client.get("/v1/me", headers=headers).json()["creator"]["handle"]


def test_provider_callback_is_signed(client, make_user):
    from app.creators.service import sign_payout_callback

    _shop, _creator_user, creator, _clip, _orders = _earning_creator(client, make_user, orders=1)
    _, admin = make_user("admin")
    release_all()
    [payout] = client.post("/v1/admin/payout-runs", json={"threshold_minor": 1}, headers=admin).json()[
        "payouts"
    ]
    body = json.dumps(
        {"type": "payout.failed", "data": {"payout_id": payout["id"], "reference": "tr_9"}}
    ).encode()
    import time

    unsigned = client.post(
        "/v1/payouts/webhook", content=body, headers={"ClipShop-Signature": f"t={int(time.time())},v1=00"}
    )
    assert unsigned.status_code == 400 and unsigned.json()["code"] == "invalid_signature"
    signed = client.post(
        "/v1/payouts/webhook", content=body, headers={"ClipShop-Signature": sign_payout_callback(body)}
    )
    assert signed.status_code == 200 and signed.json()["status"] == "failed"
    # The money is back in payable and the next run pays it.
    assert earnings(client, creator)["EUR"]["payable_minor"] == 1000
    [again] = client.post("/v1/admin/payout-runs", json={"threshold_minor": 1}, headers=admin).json()[
        "payouts"
    ]
    assert again["amount_minor"] == 1000
    body = json.dumps({"type": "payout.paid", "data": {"payout_id": again["id"]}}).encode()
    paid = client.post(
        "/v1/payouts/webhook", content=body, headers={"ClipShop-Signature": sign_payout_callback(body)}
    )
    assert paid.status_code == 200 and paid.json()["status"] == "paid"
    assert earnings(client, creator)["EUR"]["paid_minor"] == 1000


def test_periodic_job_releases_reevaluates_and_runs_once_a_day(client, make_user, monkeypatch):
    from app.creators import tasks
    from app.db import session_scope

    _shop, _creator_user, creator, _clip, _orders = _earning_creator(client, make_user, orders=3)
    from app.config import get_settings

    monkeypatch.setattr(get_settings(), "creator_return_window_days", 0)
    monkeypatch.setattr(get_settings(), "creator_payout_threshold_minor", 1000)
    # Lines paid before the change keep their captured payable date: move it.
    from sqlalchemy import update

    from app.creators.models import OrderLineCommission
    from app.db import utcnow

    with session_scope() as session:
        session.execute(update(OrderLineCommission).values(payable_at=utcnow()))
    first = tasks.run_maintenance()
    assert first["released"] == 3 and first["payouts"] == 1
    assert tasks.run_maintenance()["payouts"] == 0
    balance = earnings(client, creator)["EUR"]
    assert (balance["pending_minor"], balance["payable_minor"], balance["in_payout_minor"]) == (0, 0, 3000)


def test_ledger_filters_csv_escaping_and_merchant_view(client, make_user):
    shop, creator_user, creator, clip_id, _orders = _earning_creator(client, make_user, orders=2)
    other_shop = make_shop(client, make_user, price=10_000, title='=HYPERLINK("http://evil")')
    other_clip, other_tag = tagged_clip(client, creator, creator_user["id"], other_shop.sku_id)
    _, buyer = make_user("viewer")
    buy(client, buyer, other_shop.sku_id, clip_id=other_clip, tag_id=other_tag)
    ledger = client.get("/v1/me/earnings/ledger", params={"limit": 2}, headers=creator).json()
    assert len(ledger["items"]) == 2 and ledger["next_cursor"]
    rest = client.get(
        "/v1/me/earnings/ledger", params={"cursor": ledger["next_cursor"]}, headers=creator
    ).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    by_clip = client.get("/v1/me/earnings/ledger", params={"clip_id": other_clip}, headers=creator).json()[
        "items"
    ]
    assert [e["amount_minor"] for e in by_clip] == [500]
    by_merchant = client.get(
        "/v1/me/earnings/ledger", params={"organisation_id": shop.organisation_id}, headers=creator
    ).json()["items"]
    assert len(by_merchant) == 2
    assert (
        client.get("/v1/me/earnings/ledger", params={"status": "payable"}, headers=creator).json()["items"]
        == []
    )
    assert (
        client.get("/v1/me/earnings/ledger", params={"to": "2000-01-01T00:00:00Z"}, headers=creator).json()[
            "items"
        ]
        == []
    )
    assert (
        client.get("/v1/me/earnings/ledger", params={"cursor": "nonsense"}, headers=creator).status_code
        == 400
    )
    exported = client.get("/v1/me/earnings/ledger.csv", headers=creator)
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 3
    memo = next(r["memo"] for r in rows if r["clip_id"] == other_clip)
    assert memo.startswith("'") or not memo.startswith(("=", "+", "-", "@"))
    assert "HYPERLINK" in memo and memo.startswith("1 x ")
    from app.creators.service import csv_cell

    assert csv_cell('=HYPERLINK("x")') == '\'=HYPERLINK("x")' and csv_cell("@SUM(A1)") == "'@SUM(A1)"
    assert csv_cell(-500) == -500 and csv_cell("plain") == "plain"

    view = client.get("/v1/merchant/commissions", headers=shop.merchant).json()["items"]
    assert [
        (r["creator_id"], r["clip_id"], r["orders"], r["earned_minor"], r["pending_minor"]) for r in view
    ] == [(creator_user["id"], clip_id, 2, 2000, 2000)]
    assert client.get("/v1/me/earnings", headers=shop.merchant).status_code == 403
    assert client.get("/v1/merchant/commissions", headers=creator).status_code == 403
