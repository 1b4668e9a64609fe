from __future__ import annotations

import uuid

from tests.catalog.factories import make_clip, one_sku
from tests.commerce.helpers import checkout


def _tag(client, headers, clip_id, sku_id, **fields):
    body = {
        "sku_id": sku_id,
        "start_ms": 1000,
        "end_ms": 4000,
        "x": 0.5,
        "y": 0.25,
        "label": "Hoodie",
        **fields,
    }
    return client.post(f"/v1/clips/{clip_id}/tags", json=body, headers=headers)


def _listed(client, clip_id, headers=None):
    return client.get(f"/v1/clips/{clip_id}/tags", headers=headers or {}).json()["items"]


def test_creator_tags_are_active_with_live_stock(client, make_user):
    creator, creator_h = make_user("creator")
    _, merchant = make_user("merchant")
    _, buyer = make_user("viewer")
    sku = one_sku(client, merchant, quantity=6, price=2599)
    clip_id = make_clip(creator["id"])
    response = _tag(client, creator_h, clip_id, sku["id"])
    assert response.status_code == 201, response.text
    tag = response.json()
    assert (tag["status"], tag["source"], tag["available"], tag["availability"]) == (
        "active",
        "creator",
        6,
        "in_stock",
    )
    assert tag["price_minor"] == 2599 and tag["currency"] == "EUR"
    assert tag["buy"]["href"] == "/v1/checkout"
    assert tag["buy"]["body"] == {
        "lines": [{"sku_id": sku["id"], "quantity": 1}],
        "clip_id": str(clip_id),
        "tag_id": tag["id"],
    }
    # The buy action works as given, and the anonymous tag read shows the new stock at once.
    bought = client.post("/v1/checkout", json=tag["buy"]["body"], headers={**buyer, "Idempotency-Key": "b1"})
    assert bought.status_code == 201
    assert checkout(client, buyer, [(sku["id"], 4)]).status_code == 201
    [live] = _listed(client, clip_id)
    assert (live["available"], live["availability"]) == (1, "low_stock")
    checkout(client, buyer, [(sku["id"], 1)])
    assert _listed(client, clip_id)[0]["availability"] == "out_of_stock"
    # Clip reads embed the same live tags.
    [embedded] = client.get(f"/v1/clips/{clip_id}").json()["tags"]
    assert (embedded["id"], embedded["available"], embedded["availability"]) == (tag["id"], 0, "out_of_stock")
    # Deactivated SKUs disappear from tag reads.
    client.patch(f"/v1/merchant/skus/{sku['id']}", json={"active": False}, headers=merchant)
    assert _listed(client, clip_id) == []
    assert client.get(f"/v1/clips/{clip_id}").json()["tags"] == []


def test_merchant_tags_wait_for_the_creator(client, make_user):
    creator, creator_h = make_user("creator")
    _, merchant = make_user("merchant")
    _, viewer = make_user("viewer")
    sku = one_sku(client, merchant)
    clip_id = make_clip(creator["id"])
    pending = _tag(client, merchant, clip_id, sku["id"]).json()
    assert pending["status"] == "pending" and pending["source"] == "merchant"
    assert _listed(client, clip_id, viewer) == []
    assert [t["id"] for t in _listed(client, clip_id, creator_h)] == [pending["id"]]
    assert (
        client.post(f"/v1/clips/{clip_id}/tags/{pending['id']}/accept", headers=merchant).status_code == 403
    )
    accepted = client.post(f"/v1/clips/{clip_id}/tags/{pending['id']}/accept", headers=creator_h)
    assert accepted.status_code == 200 and accepted.json()["status"] == "active"
    assert [t["id"] for t in _listed(client, clip_id, viewer)] == [pending["id"]]
    assert (
        client.post(f"/v1/clips/{clip_id}/tags/{pending['id']}/reject", headers=creator_h).status_code == 409
    )

    second = _tag(client, merchant, clip_id, sku["id"]).json()
    assert (
        client.post(f"/v1/clips/{clip_id}/tags/{second['id']}/reject", headers=creator_h).status_code == 204
    )
    assert [t["id"] for t in _listed(client, clip_id, creator_h)] == [pending["id"]]


def test_who_may_touch_tags(client, make_user):
    creator, creator_h = make_user("creator")
    _, other_creator = make_user("creator")
    _, merchant = make_user("merchant")
    _, other_merchant = make_user("merchant")
    _, viewer = make_user("viewer")
    sku = one_sku(client, merchant)
    clip_id = make_clip(creator["id"])
    private_clip = make_clip(creator["id"], visibility="private")
    assert _tag(client, viewer, clip_id, sku["id"]).status_code == 403
    assert _tag(client, other_creator, clip_id, sku["id"]).status_code == 403
    assert _tag(client, other_merchant, clip_id, sku["id"]).status_code == 403  # not its SKU
    # A private clip is not revealed to a merchant trying to tag it (404, not 409).
    refused = _tag(client, merchant, private_clip, sku["id"])
    assert refused.status_code == 404 and refused.json()["code"] == "clip_not_found"
    unlisted = make_clip(creator["id"], visibility="unlisted")
    assert _tag(client, merchant, unlisted, sku["id"]).status_code == 409  # visible, not taggable
    assert _tag(client, {}, clip_id, sku["id"]).status_code == 401

    by_creator = _tag(client, creator_h, clip_id, sku["id"]).json()
    by_merchant = _tag(client, merchant, clip_id, sku["id"]).json()
    client.post(f"/v1/clips/{clip_id}/tags/{by_merchant['id']}/accept", headers=creator_h)
    for outsider in (viewer, other_creator, other_merchant):
        assert (
            client.delete(f"/v1/clips/{clip_id}/tags/{by_creator['id']}", headers=outsider).status_code == 403
        )
    # The merchant may remove tags of its SKUs, even one the creator placed.
    assert client.delete(f"/v1/clips/{clip_id}/tags/{by_creator['id']}", headers=merchant).status_code == 204
    assert (
        client.delete(f"/v1/clips/{clip_id}/tags/{by_merchant['id']}", headers=creator_h).status_code == 204
    )
    assert _listed(client, clip_id, creator_h) == []


def test_validation_against_duration_and_limit(client, make_user, settings, monkeypatch):
    creator, creator_h = make_user("creator")
    _, merchant = make_user("merchant")
    sku = one_sku(client, merchant)
    clip_id = make_clip(creator["id"], duration_ms=5000)
    too_long = _tag(client, creator_h, clip_id, sku["id"], start_ms=4000, end_ms=6000)
    assert too_long.status_code == 422 and too_long.json()["code"] == "tag_outside_clip"
    backwards = _tag(client, creator_h, clip_id, sku["id"], start_ms=3000, end_ms=2000)
    assert backwards.status_code == 422
    off_screen = _tag(client, creator_h, clip_id, sku["id"], x=1.5)
    assert off_screen.status_code == 422
    assert _tag(client, creator_h, uuid.uuid4(), sku["id"]).status_code == 404

    monkeypatch.setattr(settings, "max_tags_per_clip", 2)
    assert _tag(client, creator_h, clip_id, sku["id"]).status_code == 201
    assert (
        _tag(client, creator_h, clip_id, sku["id"], start_ms=0, end_ms=5000).status_code == 201
    )  # overlap is fine
    full = _tag(client, creator_h, clip_id, sku["id"])
    assert full.status_code == 409 and full.json()["code"] == "tag_limit_reached"


def test_feed_helpers_are_live(client, make_user, db):
    from app.catalog import service as catalog_service
    from app.tags import service as tags_service

    creator, creator_h = make_user("creator")
    _, merchant = make_user("merchant")
    _, buyer = make_user("viewer")
    sku = one_sku(client, merchant, quantity=1)
    clip_id = make_clip(creator["id"])
    _tag(client, creator_h, clip_id, sku["id"])
    version = catalog_service.stock_version(db)
    tags = tags_service.active_tags_for_clips(db, [clip_id])
    assert [t["available"] for t in tags[clip_id]] == [1]
    db.rollback()
    checkout(client, buyer, [(sku["id"], 1)])
    assert catalog_service.stock_version(db) != version
    assert catalog_service.live_sku_states(db, [uuid.UUID(sku["id"])])[uuid.UUID(sku["id"])][2:] == (
        0,
        "out_of_stock",
    )
    interests = tags_service.clip_product_interest_ids(db, [clip_id])[clip_id]
    assert interests  # the hoodie's category maps to a fashion interest


def test_tag_lists_of_clips_not_public_and_ready_are_hidden_from_others(client, make_user):
    creator, creator_h = make_user("creator")
    _, merchant = make_user("merchant")
    _, viewer = make_user("viewer")
    _, admin = make_user("admin")
    sku = one_sku(client, merchant)
    hidden = [
        make_clip(creator["id"], visibility="private"),
        make_clip(creator["id"], visibility="unlisted"),
        make_clip(creator["id"], status="processing"),
        make_clip(creator["id"], status="failed"),
        make_clip(creator["id"], status="uploading"),
    ]
    for clip_id in hidden:
        for outsider in ({}, viewer, merchant):
            response = client.get(f"/v1/clips/{clip_id}/tags", headers=outsider)
            assert response.status_code == 404, (clip_id, response.text)
            assert response.json()["code"] == "clip_not_found"
        assert client.get(f"/v1/clips/{clip_id}/tags", headers=creator_h).status_code == 200
        assert client.get(f"/v1/clips/{clip_id}/tags", headers=admin).status_code == 200
    public = make_clip(creator["id"])
    assert _tag(client, creator_h, public, sku["id"]).status_code == 201
    assert len(client.get(f"/v1/clips/{public}/tags").json()["items"]) == 1
