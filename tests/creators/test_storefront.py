"""Public profiles, clip grids, storefronts (sorted by what sells, pin, hide) and idea lists."""

from __future__ import annotations

import uuid

from tests.catalog.factories import make_clip
from tests.creators.helpers import add_product, admit, buy, commissions, make_shop, tagged_clip


def test_profile_with_followers_clip_grid_pages_and_storefront_link(client, make_user):
    creator_user, _creator = make_user("creator")
    handle = creator_user["creator"]["handle"]
    for _ in range(3):
        make_clip(creator_user["id"])
    make_clip(creator_user["id"], visibility="private")
    make_clip(creator_user["id"], status="processing")
    _, fan = make_user("viewer")
    client.post(f"/v1/creators/{handle}/follow", headers=fan)
    profile = client.get(f"/v1/creators/{handle}", params={"limit": 2})
    assert profile.status_code == 200, profile.text
    body = profile.json()
    assert (body["follower_count"], body["clip_count"], body["programme_member"]) == (1, 3, False)
    assert body["storefront_url"] == f"http://testserver/v1/creators/{handle}/storefront"
    assert len(body["clips"]["items"]) == 2 and body["clips"]["next_cursor"]
    more = client.get(
        f"/v1/creators/{handle}/clips", params={"cursor": body["clips"]["next_cursor"], "limit": 2}
    ).json()
    assert len(more["items"]) == 1 and more["next_cursor"] is None
    seen = [c["id"] for c in body["clips"]["items"]] + [c["id"] for c in more["items"]]
    assert len(set(seen)) == 3
    # Whether the caller follows: true for the fan, false for someone else, null without a token.
    assert body["following"] is None
    assert client.get(f"/v1/creators/{handle}", headers=fan).json()["following"] is True
    _, other = make_user("viewer")
    assert client.get(f"/v1/creators/{handle}", headers=other).json()["following"] is False
    client.delete(f"/v1/creators/{handle}/follow", headers=fan)
    assert client.get(f"/v1/creators/{handle}", headers=fan).json()["following"] is False
    missing = client.get("/v1/creators/nobody-here")
    assert missing.status_code == 404 and missing.json()["code"] == "creator_not_found"


def test_storefront_sorted_by_sales_pin_hide_and_attributed_like_a_tag(client, make_user):
    shop = make_shop(client, make_user, price=1_000)
    second_product, second_sku = add_product(client, shop, price=2_000)
    third_product, third_sku = add_product(client, shop, price=3_000)
    creator_user, creator = make_user("creator")
    handle = creator_user["creator"]["handle"]
    admit(creator_user["id"])
    tagged_clip(client, creator, creator_user["id"], shop.sku_id)
    tagged_clip(client, creator, creator_user["id"], second_sku)
    clip_3, _ = tagged_clip(client, creator, creator_user["id"], third_sku)
    # A private clip's product is not on the storefront.
    hidden_product, hidden_sku = add_product(client, shop)
    private = str(make_clip(creator_user["id"], visibility="private"))
    client.post(
        f"/v1/clips/{private}/tags",
        json={"sku_id": hidden_sku, "start_ms": 0, "end_ms": 100},
        headers=creator,
    )

    front = client.get(f"/v1/creators/{handle}/storefront").json()
    assert [i["product_id"] for i in front["items"]] == [third_product, second_product, shop.product_id]
    item = front["items"][0]
    assert (item["price_minor"], item["currency"], item["in_stock"], item["units_sold"]) == (
        3000,
        "EUR",
        True,
        0,
    )
    assert item["clips"][0]["clip_id"] == clip_3 and item["buy"]["clip_id"] == clip_3

    # Buying from the storefront (its buy action) is attributed to the creator like a tag's.
    _, buyer = make_user("viewer")
    first = next(i for i in front["items"] if i["product_id"] == shop.product_id)
    order = buy(
        client,
        buyer,
        first["buy"]["sku_id"],
        3,
        clip_id=first["buy"]["clip_id"],
        tag_id=first["buy"]["tag_id"],
    )
    [line] = commissions(order["id"])
    assert str(line.creator_id) == creator_user["id"] and line.commission_minor == 150
    front = client.get(f"/v1/creators/{handle}/storefront").json()
    assert next(i["product_id"] for i in front["items"]) == shop.product_id  # sells best now
    assert front["items"][0]["units_sold"] == 3

    # Pin the least selling one, hide another.
    assert client.put(
        f"/v1/me/storefront/products/{second_product}", json={"pinned": True}, headers=creator
    ).json()["pinned"]
    client.put(f"/v1/me/storefront/products/{third_product}", json={"hidden": True}, headers=creator)
    public = [i["product_id"] for i in client.get(f"/v1/creators/{handle}/storefront").json()["items"]]
    assert public == [second_product, shop.product_id]
    mine = client.get("/v1/me/storefront", headers=creator).json()["items"]
    assert [(i["product_id"], i["hidden"]) for i in mine][-1] == (third_product, True)
    not_mine = client.put(
        f"/v1/me/storefront/products/{hidden_product}", json={"pinned": True}, headers=creator
    )
    assert not_mine.status_code == 422 and not_mine.json()["code"] == "product_not_featured"
    page = client.get(f"/v1/creators/{handle}/storefront", params={"limit": 1}).json()
    assert len(page["items"]) == 1 and page["next_cursor"]


def test_idea_lists_named_ordered_shareable(client, make_user):
    shop = make_shop(client, make_user)
    second_product, second_sku = add_product(client, shop)
    creator_user, creator = make_user("creator")
    handle = creator_user["creator"]["handle"]
    tagged_clip(client, creator, creator_user["id"], shop.sku_id)
    tagged_clip(client, creator, creator_user["id"], second_sku)
    created = client.post(
        "/v1/me/idea-lists",
        json={"name": "Rainy day", "product_ids": [second_product, shop.product_id]},
        headers=creator,
    )
    assert created.status_code == 201, created.text
    idea = created.json()
    assert [i["product_id"] for i in idea["items"]] == [second_product, shop.product_id]
    shared = client.get(f"/v1/idea-lists/{idea['id']}")
    assert (
        shared.status_code == 200
        and shared.json()["name"] == "Rainy day"
        and shared.json()["handle"] == handle
    )
    assert idea["share_url"].endswith(f"/v1/idea-lists/{idea['id']}")
    client.post("/v1/me/idea-lists", json={"name": "Second", "product_ids": []}, headers=creator)
    updated = client.put(
        f"/v1/me/idea-lists/{idea['id']}",
        json={"name": "Rainy days", "product_ids": [shop.product_id], "position": 5},
        headers=creator,
    ).json()
    assert updated["name"] == "Rainy days" and [i["product_id"] for i in updated["items"]] == [
        shop.product_id
    ]
    assert [i["name"] for i in client.get(f"/v1/creators/{handle}/idea-lists").json()["items"]] == [
        "Second",
        "Rainy days",
    ]
    foreign, _ = add_product(client, shop)
    bad = client.post("/v1/me/idea-lists", json={"name": "x", "product_ids": [foreign]}, headers=creator)
    assert bad.status_code == 422
    _, other = make_user("creator")
    assert client.delete(f"/v1/me/idea-lists/{idea['id']}", headers=other).status_code == 404
    assert client.delete(f"/v1/me/idea-lists/{idea['id']}", headers=creator).status_code == 204
    assert client.get(f"/v1/idea-lists/{idea['id']}").status_code == 404
    assert client.get(f"/v1/idea-lists/{uuid.uuid4()}").status_code == 404


def test_a_clip_hidden_by_moderation_leaves_the_storefront_at_once(client, make_user):
    shop = make_shop(client, make_user, price=1_000)
    second_product, second_sku = add_product(client, shop, price=2_000)
    creator_user, creator = make_user("creator")
    handle = creator_user["creator"]["handle"]
    tagged_clip(client, creator, creator_user["id"], shop.sku_id)
    bad_clip, _ = tagged_clip(client, creator, creator_user["id"], second_sku)
    before = client.get(f"/v1/creators/{handle}/storefront").json()["items"]
    assert {i["product_id"] for i in before} == {shop.product_id, second_product}

    _, admin = make_user("admin")
    hide = client.post(
        "/v1/admin/moderation/actions",
        json={"target_type": "clip", "target_id": str(bad_clip), "action": "hide", "reason": "counterfeit"},
        headers=admin,
    )
    assert hide.status_code == 201, hide.text
    after = client.get(f"/v1/creators/{handle}/storefront").json()["items"]
    assert [i["product_id"] for i in after] == [shop.product_id]
