from __future__ import annotations

import io
import uuid

from PIL import Image

from tests.catalog.factories import create_product, one_sku, product_body


def test_create_product_contract_and_public_reads(client, make_user):
    _, merchant = make_user("merchant")
    body = {
        "title": "Everyday hoodie",
        "description": "Heavy cotton",
        "category": "Clothing > Hoodies",
        "skus": [
            {
                "sku": "HOOD-M",
                "price_minor": 4900,
                "currency": "eur",
                "quantity": 12,
                "options": {"size": "M"},
            },
            {
                "sku": "HOOD-L",
                "price_minor": 5100,
                "currency": "EUR",
                "quantity": 3,
                "options": {"size": "L"},
            },
        ],
    }
    response = client.post("/v1/merchant/products", json=body, headers=merchant)
    assert response.status_code == 201, response.text
    product = response.json()
    assert product["id"] and product["title"] == "Everyday hoodie"
    assert [s["sku"] for s in product["skus"]] == ["HOOD-M", "HOOD-L"]
    assert all(uuid.UUID(s["id"]) for s in product["skus"])
    assert product["skus"][0]["currency"] == "EUR"
    # Category "Clothing > Hoodies" maps to an interest the feed understands.
    assert "fashion.streetwear" in product["interests"]

    by_code = {s["sku"]: s for s in product["skus"]}
    sku = client.get(f"/v1/skus/{by_code['HOOD-M']['id']}").json()
    assert (sku["price_minor"], sku["available"], sku["availability"]) == (4900, 12, "in_stock")
    low = client.get(f"/v1/skus/{by_code['HOOD-L']['id']}").json()
    assert (low["available"], low["availability"]) == (3, "low_stock")  # threshold 5 by default
    public = client.get(f"/v1/products/{product['id']}").json()
    assert "quantity" not in public["skus"][0]  # on-hand and reserved are merchant-only


def test_roles_and_ownership(client, make_user):
    _, merchant = make_user("merchant")
    _, other_merchant = make_user("merchant")
    _, viewer = make_user("viewer")
    _, creator = make_user("creator")
    assert client.post("/v1/merchant/products", json=product_body()).status_code == 401
    assert client.post("/v1/merchant/products", json=product_body(), headers=viewer).status_code == 403
    assert client.post("/v1/merchant/products", json=product_body(), headers=creator).status_code == 403
    product = create_product(client, merchant)
    # Another merchant cannot see or change it.
    assert client.get(f"/v1/merchant/products/{product['id']}", headers=other_merchant).status_code == 404
    assert (
        client.patch(
            f"/v1/merchant/products/{product['id']}", json={"title": "x"}, headers=other_merchant
        ).status_code
        == 404
    )
    sku_id = product["skus"][0]["id"]
    assert client.get(f"/v1/merchant/skus/{sku_id}/stock", headers=other_merchant).status_code == 404


def test_sku_codes_unique_per_merchant(client, make_user):
    _, merchant = make_user("merchant")
    _, other = make_user("merchant")
    skus = [{"sku": "SAME", "price_minor": 100, "currency": "EUR", "quantity": 1}]
    create_product(client, merchant, skus=skus)
    again = client.post("/v1/merchant/products", json=product_body(skus=skus), headers=merchant)
    assert again.status_code == 409 and again.json()["code"] == "sku_code_taken"
    create_product(client, other, skus=skus)  # another merchant may use the same code


def test_deactivate_hides_and_delete_refused_when_ordered(client, make_user):
    _, merchant = make_user("merchant")
    _, buyer = make_user("viewer")
    sku = one_sku(client, merchant)
    order = client.post(
        "/v1/checkout",
        json={"lines": [{"sku_id": sku["id"], "quantity": 1}]},
        headers={**buyer, "Idempotency-Key": "k1"},
    )
    assert order.status_code == 201, order.text
    refused = client.delete(f"/v1/merchant/skus/{sku['id']}", headers=merchant)
    assert refused.status_code == 409 and refused.json()["code"] == "sku_has_orders"
    refused = client.delete(f"/v1/merchant/products/{sku['product_id']}", headers=merchant)
    assert refused.status_code == 409 and refused.json()["code"] == "product_has_orders"
    assert (
        client.patch(f"/v1/merchant/skus/{sku['id']}", json={"active": False}, headers=merchant).status_code
        == 200
    )
    assert client.get(f"/v1/skus/{sku['id']}").status_code == 404
    # A SKU nobody ordered can be deleted.
    free = one_sku(client, merchant)
    assert client.delete(f"/v1/merchant/skus/{free['id']}", headers=merchant).status_code == 204
    assert client.get(f"/v1/skus/{free['id']}").status_code == 404


def test_stock_set_needs_if_match_and_adjust_is_ledgered(client, make_user):
    _, merchant = make_user("merchant")
    sku = one_sku(client, merchant, quantity=10)
    url = f"/v1/merchant/skus/{sku['id']}/stock"
    read = client.get(url, headers=merchant)
    etag = read.headers["ETag"]
    missing = client.put(url, json={"quantity": 7}, headers=merchant)
    assert missing.status_code == 428 and missing.json()["code"] == "precondition_required"
    ok = client.put(url, json={"quantity": 7, "note": "stock count"}, headers={**merchant, "If-Match": etag})
    assert ok.status_code == 200 and ok.json()["quantity"] == 7
    stale = client.put(url, json={"quantity": 1}, headers={**merchant, "If-Match": etag})
    assert stale.status_code == 412 and stale.json()["code"] == "version_mismatch"
    adjusted = client.post(f"{url}/adjustments", json={"delta": -2, "reason": "damaged"}, headers=merchant)
    assert adjusted.status_code == 200 and adjusted.json()["available"] == 5
    too_much = client.post(f"{url}/adjustments", json={"delta": -6, "reason": "lost"}, headers=merchant)
    assert too_much.status_code == 409
    ledger = client.get(f"{url}/ledger", headers=merchant).json()["items"]
    assert [(e["reason"], e["quantity_before"], e["quantity_after"]) for e in ledger] == [
        ("adjust", 7, 5),
        ("set", 10, 7),
        ("initial", 0, 10),
    ]
    assert ledger[0]["note"] == "damaged" and ledger[0]["actor_id"]
    assert sum(e["delta"] for e in ledger) == 5


def test_product_image_upload(client, make_user):
    _, merchant = make_user("merchant")
    product = create_product(client, merchant)
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 800), (200, 30, 30)).save(buffer, "JPEG")
    url = f"/v1/merchant/catalog/products/{product['id']}/images"
    response = client.post(url, files={"file": ("x.jpg", buffer.getvalue(), "image/jpeg")}, headers=merchant)
    assert response.status_code == 201, response.text
    image = response.json()
    assert {v["width"] for v in image["variants"]} == {320, 640, 1080}
    assert {v["format"] for v in image["variants"]} == {"jpeg", "webp"}
    from app.storage import get_storage

    key = image["url"].split("/v1/media/", 1)[1]
    with get_storage().open(key) as stored:
        rendered = Image.open(io.BytesIO(stored.read()))
    assert rendered.format == "JPEG" and rendered.size == (1080, 720)
    sku = client.get(f"/v1/skus/{product['skus'][0]['id']}").json()
    assert sku["image"] == image["url"]

    not_image = client.post(
        url, files={"file": ("x.jpg", b"hello, not an image", "image/jpeg")}, headers=merchant
    )
    assert not_image.status_code == 422 and not_image.json()["code"] == "not_an_image"
    # A decompression bomb: a tiny PNG that claims a huge canvas.
    bomb = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(bomb, "PNG")
    refused = client.post(url, files={"file": ("b.png", bomb.getvalue(), "image/png")}, headers=merchant)
    assert refused.status_code == 413 and refused.json()["code"] == "image_too_large"


def test_bounds_and_nul_text_are_refused_cleanly(client, make_user):
    _, merchant = make_user("merchant")
    nul = client.post("/v1/merchant/products", json=product_body(title="bad\u0000title"), headers=merchant)
    assert nul.status_code == 422
    huge = product_body(skus=[{"sku": "BIG", "price_minor": 2**40, "currency": "EUR", "quantity": 1}])
    assert client.post("/v1/merchant/products", json=huge, headers=merchant).status_code == 422
