"""Dashboards as their callers see them, CSV exports, who may read what, the client address."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from tests.analytics.conftest import aggregate, new_account, new_creator, send
from tests.analytics.test_authenticity import organic_viewing, token_for

pytestmark = pytest.mark.usefixtures("database_url")


def tag(clip: Any, sku_id: Any, organisation_id: Any) -> None:
    """An active tag of the SKU on the clip (as the creator's tagging editor writes it)."""
    from app.db import session_scope
    from app.tags.models import ProductTag, TagSource, TagStatus

    with session_scope() as session:
        session.add(
            ProductTag(
                clip_id=clip,
                sku_id=sku_id,
                organisation_id=organisation_id,
                start_ms=0,
                end_ms=5000,
                status=TagStatus.active,
                source=TagSource.creator,
            )
        )


def test_creator_merchant_and_admin_dashboards(
    client: Any, make_clip: Any, shop: dict[str, Any], make_order: Any, make_user: Any
) -> None:
    from app.analytics import rollups
    from app.db import session_scope

    creator = new_creator("dash_maker")
    clip = make_clip(creator, ["fashion"])
    sku_id, _ = shop["skus"][0]
    tag(clip, sku_id, shop["org"])
    viewers = [new_account(interests=["fashion"]) for _ in range(4)]
    organic_viewing(viewers, [clip], tap=True)
    make_order([(0, 2)], creator_id=creator, clip_id=clip)
    aggregate()
    with session_scope() as session:
        rollups.sync_orders(session)

    me = token_for(creator)
    dash = client.get("/v1/me/analytics/dashboard?tz=Europe/Paris", headers=me)
    assert dash.status_code == 200, dash.text
    body = dash.json()
    assert body["totals"]["impressions"] == 4 and body["totals"]["reach"] == 4
    assert (
        body["totals"]["orders"] == 1
        and body["totals"]["units"] == 2
        and body["totals"]["revenue_minor"] == 2000
    )
    # an order written straight into the database earns no commission (the ledger has none for it)
    assert body["totals"]["commission_minor"] == 0 and body["totals"]["roi"] is None
    assert body["totals"]["conversion_rate"] == 0.5  # 1 order / 2 taps
    assert body["clips"][0]["clip_id"] == str(clip)
    assert body["audience"]["viewer_interests"][0]["interest"] == "fashion"
    assert body["audience"]["new_viewers"] == 4
    assert body["authenticity"]["score"] == 100
    assert len(body["daily"]) == 28 and body["period"]["tz"] == "Europe/Paris"

    merchant = token_for(shop["owner"])
    m = client.get("/v1/merchant/analytics/dashboard", headers=merchant)
    assert m.status_code == 200, m.text
    mb = m.json()
    assert mb["totals"]["revenue_minor"] == 2000 and mb["totals"]["impressions"] == 4
    sku_row = next(r for r in mb["skus"] if r["sku_id"] == str(sku_id))
    assert sku_row["units"] == 2 and sku_row["product_taps"] == 2
    assert mb["top_creators"][0]["handle"] == "dash_maker"
    sold = {"orders": 1, "units": 2, "revenue_minor": 2000, "currency": "EUR", "commission_minor": 0}
    assert mb["top_creators"][0]["merchant_sales"] == sold
    assert mb["top_clips"][0]["clip_id"] == str(clip) and mb["top_clips"][0]["merchant_sales"] == sold
    assert client.get(f"/v1/analytics/clips/{clip}", headers=merchant).status_code == 200
    assert (
        client.get(f"/v1/merchant/analytics/skus/{sku_id}", headers=merchant).json()["totals"]["units"] == 2
    )

    _, admin = make_user("admin")
    overview = client.get("/v1/admin/analytics/overview", headers=admin)
    assert overview.status_code == 200 and overview.json()["totals"]["orders"] == 1
    _, viewer = make_user("viewer")
    assert client.get("/v1/admin/analytics/overview", headers=viewer).status_code == 403
    assert client.get("/v1/me/analytics/dashboard", headers=viewer).status_code == 403
    assert client.get(f"/v1/analytics/clips/{clip}", headers=viewer).status_code == 403
    bad = client.get("/v1/me/analytics/dashboard?tz=Nowhere/City", headers=me)
    assert bad.status_code == 422 and bad.json()["code"] == "unknown_time_zone"

    export = client.get("/v1/merchant/analytics/export?table=skus", headers=merchant)
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert {r["code"] for r in rows} == {"fashion-0", "fashion-1", "beauty-0", "beauty-1"}
    assert next(r for r in rows if r["code"] == "fashion-0")["units"] == "2"
    assert client.get("/v1/me/analytics/export?table=clips", headers=me).status_code == 200
    assert client.get("/v1/admin/analytics/export?table=daily", headers=admin).status_code == 200


def test_csv_cells_cannot_start_a_formula() -> None:
    from app.analytics.service import to_csv

    text = to_csv(
        [{"title": '=HYPERLINK("http://x")', "note": "+1", "n": -3, "at": "@SUM(A1)", "ok": "plain"}]
    )
    row = next(csv.DictReader(io.StringIO(text)))
    assert row == {
        "title": '\'=HYPERLINK("http://x")',
        "note": "'+1",
        "n": "-3",
        "at": "'@SUM(A1)",
        "ok": "plain",
    }


def test_the_client_address_honours_forwarded_for_only_from_trusted_proxies(monkeypatch: Any) -> None:
    from starlette.requests import Request

    from app.config import get_settings
    from app.feed.dependencies import client_ip

    def request(peer: str, forwarded: str | None) -> Request:
        headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
        return Request({"type": "http", "headers": headers, "client": (peer, 1234)})

    settings = get_settings()
    monkeypatch.setattr(settings, "analytics_trusted_proxies", [])
    assert client_ip(request("203.0.113.7", "198.51.100.1")) == "203.0.113.7"
    monkeypatch.setattr(settings, "analytics_trusted_proxies", ["10.0.0.0/8"])
    assert client_ip(request("10.1.2.3", "198.51.100.1")) == "198.51.100.1"
    # a client's own X-Forwarded-For entries are ahead of what the proxies added
    assert client_ip(request("10.1.2.3", "1.2.3.4, 198.51.100.1, 10.9.9.9")) == "198.51.100.1"
    assert client_ip(request("203.0.113.7", "198.51.100.1")) == "203.0.113.7"  # not a trusted peer
    assert client_ip(request("10.1.2.3", "not-an-address")) == "10.1.2.3"


def test_a_follow_spike_from_fresh_accounts_is_flagged(client: Any, make_clip: Any) -> None:
    from app.db import utcnow

    creator = new_creator("spiked_maker")
    make_clip(creator, ["tech"])
    for _ in range(10):
        send(new_account(guest=True, created_at=utcnow()), [("follow", None, utcnow())], creator_id=creator)
    aggregate()
    body = client.get("/v1/analytics/creators/spiked_maker/authenticity", headers=token_for(creator)).json()
    assert {f["code"] for f in body["flags"]} == {"follow_spike"}
    assert body["flagged_share"] == 1.0 and body["score"] == 0


def test_comments_and_follows_made_through_the_api_are_counted(client: Any, make_clip: Any) -> None:
    """Comments posted (and removed) and follows made through the API reach the analytics like a
    client's events; a client cannot send comment events itself."""
    import uuid

    from app.db import utcnow

    creator = new_creator("talked_about")
    clip = make_clip(creator, ["fashion"])
    fans = [new_account(interests=["fashion"]) for _ in range(3)]
    organic_viewing(fans, [clip])
    posted = []
    for fan in fans:
        r = client.post(f"/v1/clips/{clip}/comments", json={"body": "love it"}, headers=token_for(fan))
        assert r.status_code == 201, r.text
        posted.append(r.json()["id"])
        assert client.post("/v1/creators/talked_about/follow", headers=token_for(fan)).status_code == 200
    assert client.delete(f"/v1/comments/{posted[0]}", headers=token_for(fans[0])).status_code == 204
    assert client.delete("/v1/creators/talked_about/follow", headers=token_for(fans[1])).status_code == 200
    forged = client.post(
        "/v1/events",
        json={
            "events": [
                {
                    "event_id": str(uuid.uuid4()),
                    "type": "comment",
                    "at": utcnow().isoformat(),
                    "clip_id": str(clip),
                }
            ]
        },
        headers=token_for(fans[2]),
    )
    assert forged.json()["rejected"] == 1 and forged.json()["results"][0]["code"] == "invalid_event"
    aggregate()

    me = token_for(creator)
    clip_figures = client.get(f"/v1/analytics/clips/{clip}", headers=me).json()["totals"]
    assert clip_figures["comments"] == 2  # three posted, one deleted
    assert clip_figures["engagement_rate"] == round(
        (clip_figures["likes"] + clip_figures["shares"] + 2) / 3, 6
    )
    body = client.get("/v1/me/analytics/dashboard", headers=me).json()
    assert body["totals"]["comments"] == 2 and body["totals"]["follows"] == 2  # three follows, one unfollow
    assert sum(day["follows"] for day in body["audience"]["follower_growth"]) == 2


def test_a_merchant_without_sales_sees_the_clips_and_creators_that_carry_its_products(
    client: Any, make_clip: Any, shop: dict[str, Any]
) -> None:

    creators = [new_creator("carrier_one"), new_creator("carrier_two")]
    clips = [
        make_clip(creators[0], ["fashion"]),
        make_clip(creators[1], ["fashion"]),
        make_clip(creators[1], ["tech"]),
    ]
    sku_id, _ = shop["skus"][0]
    for clip in clips[:2]:  # the third carries nothing of this merchant's
        tag(clip, sku_id, shop["org"])
    organic_viewing([new_account(interests=["fashion"])], clips)
    aggregate()  # (maps each viewed clip to the merchants whose products it carries)
    board = client.get("/v1/merchant/analytics/dashboard", headers=token_for(shop["owner"])).json()
    assert [r["clip_id"] for r in board["top_clips"]] == sorted(str(c) for c in clips[:2])
    first_clip = {str(creators[0]): str(clips[0]), str(creators[1]): str(clips[1])}
    assert [r["creator_id"] for r in board["top_creators"]] == sorted(first_clip, key=first_clip.__getitem__)
    assert all(r["merchant_sales"]["orders"] == 0 for r in board["top_clips"] + board["top_creators"])
