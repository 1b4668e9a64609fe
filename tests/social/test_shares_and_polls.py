"""Share links (JSON and Open Graph page, views and purchases counted to the sharer) and polls."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.catalog.factories import create_product
from tests.commerce.helpers import checkout, webhook


def _event(kind: str, clip: Any, **fields: Any) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "type": kind, "at": datetime.now(UTC).isoformat(), "clip_id": str(clip), **fields}


def test_share_link_opens_the_clip_as_json_and_as_an_escaped_preview_page(client: Any, make_user: Any, make_clip: Any) -> None:
    creator, _ = make_user("creator", display_name='Maya "<b>"')
    _, viewer_h = make_user("viewer")
    clip = make_clip(creator["id"], caption='My <script>alert("x")</script> & routine')
    r = client.post(f"/v1/clips/{clip}/shares", json={"channel": "whatsapp"}, headers=viewer_h)
    assert r.status_code == 201, r.text
    share = r.json()
    assert share["url"] == f"http://testserver/s/{share['code']}"

    app_view = client.get(f"/s/{share['code']}", headers={"Accept": "application/json"})
    assert app_view.status_code == 200 and app_view.headers["content-type"] == "application/json"
    body = app_view.json()
    assert body["share_code"] == share["code"] and body["clip"]["id"] == str(clip)
    assert body["clip"]["mp4_url"] and body["counts"] == {"comments": 0, "shares": 1}

    page = client.get(f"/s/{share['code']}", headers={"Accept": "text/html,application/xhtml+xml,*/*"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    text = page.text
    assert '<meta property="og:description" content="My &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; routine">' in text
    assert "<script>" not in text and "<b>" not in text
    assert 'property="og:image"' in text and 'property="og:video"' in text
    # "Open in ClipShop" opens the web client's page of the clip (which counts views to the share)
    assert f'<a href="http://testserver/app/clips/{clip}?share_code={share["code"]}">Open in ClipShop</a>' in text
    assert "/v1/clips/" not in text
    assert client.get("/s/nope").status_code == 404

    mine = client.get("/v1/me/shares", headers=viewer_h).json()
    assert mine["items"][0]["opens"] == 2 and mine["totals"]["shares"] == 1


def test_views_and_purchases_through_a_share_are_counted_to_it(client: Any, make_user: Any, make_clip: Any) -> None:
    creator, _ = make_user("creator")
    _, sharer_h = make_user("viewer")
    _, merchant_h = make_user("merchant")
    clip = make_clip(creator["id"])
    product = create_product(client, merchant_h)
    sku = product["skus"][0]["id"]
    code = client.post(f"/v1/clips/{clip}/shares", headers=sharer_h).json()["code"]

    friends = [make_user("viewer")[1] for _ in range(2)]
    for headers in friends:
        events = [_event("impression", clip, share_code=code), _event("complete", clip, share_code=code, progress=1.0)]
        r = client.post("/v1/events", json={"events": events}, headers=headers)
        assert r.status_code == 200 and r.json()["accepted"] == 2, r.text
    # again from the first friend, and from the sharer: neither counts
    client.post("/v1/events", json={"events": [_event("impression", clip, share_code=code)]}, headers=friends[0])
    client.post("/v1/events", json={"events": [_event("impression", clip, share_code=code)]}, headers=sharer_h)

    order = checkout(client, friends[0], [(sku, 1)], clip_id=str(clip), share_code=code).json()
    assert webhook(client, "payment.succeeded", order).status_code == 200
    assert webhook(client, "payment.succeeded", order).status_code == 200  # a resend counts once
    unpaid = checkout(client, friends[1], [(sku, 1)], share_code=code)
    assert unpaid.status_code == 201
    assert checkout(client, friends[1], [(sku, 1)], share_code="unknown-code").status_code == 201

    mine = client.get("/v1/me/shares", headers=sharer_h).json()
    item = mine["items"][0]
    assert (item["views"], item["purchases"], item["revenue_minor"]) == (2, 1, order["total_minor"])
    assert mine["totals"]["purchases"] == 1 and mine["totals"]["views"] == 2


def test_polls_vote_once_changeable_results_after_voting(client: Any, make_user: Any, make_clip: Any) -> None:
    creator, creator_h = make_user("creator")
    _, merchant_h = make_user("merchant")
    _, other_merchant_h = make_user("merchant")
    _, a_h = make_user("guest")
    _, b_h = make_user("viewer")
    clip = make_clip(creator["id"])
    product = create_product(client, merchant_h)

    assert client.post(f"/v1/clips/{clip}/polls", json={"question": "?", "options": [{"label": "one"}]}, headers=creator_h).status_code == 422
    assert client.post(
        f"/v1/clips/{clip}/polls", json={"question": "Which?", "options": [{"label": "a"}, {"label": "b"}]}, headers=b_h
    ).status_code == 403
    poll = client.post(
        f"/v1/clips/{clip}/polls",
        json={"question": "Which one?", "options": [{"label": "Hoodie", "product_id": product["id"]}, {"label": "Cap"}]},
        headers=merchant_h,
    ).json()
    hoodie, cap = (o["id"] for o in poll["options"])

    before = client.get(f"/v1/polls/{poll['id']}", headers=a_h).json()
    assert before["results_visible"] is False and before["options"][0]["votes"] is None
    after = client.put(f"/v1/polls/{poll['id']}/vote", json={"option_id": hoodie}, headers=a_h).json()
    assert after["results_visible"] is True and after["my_vote"] == hoodie and after["total_votes"] == 1
    for _ in range(3):  # voting again never adds a vote
        client.put(f"/v1/polls/{poll['id']}/vote", json={"option_id": hoodie}, headers=a_h)
    changed = client.put(f"/v1/polls/{poll['id']}/vote", json={"option_id": cap}, headers=a_h).json()
    assert [o["votes"] for o in changed["options"]] == [0, 1]
    client.put(f"/v1/polls/{poll['id']}/vote", json={"option_id": cap}, headers=b_h)
    bad = client.put(f"/v1/polls/{poll['id']}/vote", json={"option_id": str(uuid.uuid4())}, headers=b_h)
    assert bad.json()["code"] == "poll_option_not_found"

    results = client.get("/v1/merchant/polls", headers=merchant_h).json()["items"]
    assert [o["votes"] for o in results[0]["options"]] == [0, 2] and results[0]["results_visible"]
    assert client.get("/v1/merchant/polls", headers=other_merchant_h).json()["items"] == []
    assert client.post(f"/v1/polls/{poll['id']}/close", headers=creator_h).status_code == 403
    assert client.post(f"/v1/polls/{poll['id']}/close", headers=merchant_h).json()["open"] is False
    assert client.put(f"/v1/polls/{poll['id']}/vote", json={"option_id": hoodie}, headers=b_h).status_code == 409
    closed = client.get(f"/v1/clips/{clip}/polls").json()[0]
    assert closed["results_visible"] and closed["total_votes"] == 2

    expired = client.post(
        f"/v1/clips/{clip}/polls",
        json={
            "question": "Past?",
            "options": [{"label": "x"}, {"label": "y"}],
            "closes_at": (datetime.now(UTC) - timedelta(seconds=1)).isoformat(),
        },
        headers=creator_h,
    ).json()
    assert client.put(f"/v1/polls/{expired['id']}/vote", json={"option_id": expired["options"][0]["id"]}, headers=b_h).status_code == 409


@pytest.mark.postgres
def test_concurrent_votes_of_one_viewer_leave_one_vote(make_user: Any, make_clip: Any, bulk_users: Any) -> None:
    import threading

    from app.db import session_scope
    from app.social import service
    from tests.social.conftest import user_obj

    creator, _ = make_user("creator")
    clip = make_clip(creator["id"])
    owner = user_obj(creator["id"])
    with session_scope() as session:
        poll = service.create_poll(session, owner, clip, question="Which?", options=[("a", None), ("b", None)], closes_at=None)
        options = [o.id for o in service.poll_options(session, poll.id)]
    voter = user_obj(bulk_users(1)[0])
    barrier = threading.Barrier(20)

    def vote(i: int) -> None:
        barrier.wait()
        with session_scope() as session:
            service.vote(session, voter, poll.id, options[i % 2])

    threads = [threading.Thread(target=vote, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    with session_scope() as session:
        assert sum(service.poll_results(session, poll.id).values()) == 1
