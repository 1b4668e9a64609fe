from app.catalog.seed import DEMO_CREATOR, DEMO_MERCHANT, seed_demo_catalog
from tests.catalog.factories import make_clip


def test_demo_catalog_is_created_once_and_tags_ready_clips(client, make_user):
    _, merchant = make_user("merchant", email=DEMO_MERCHANT)
    creator, _ = make_user("creator", email=DEMO_CREATOR)
    clip_id = make_clip(creator["id"], duration_ms=8000)
    first = seed_demo_catalog()
    assert first == {"catalog": "4 demo products created", "tags": "1 demo tags created"}
    assert seed_demo_catalog() == {"catalog": "0 demo products created", "tags": "0 demo tags created"}
    products = client.get("/v1/merchant/products", headers=merchant).json()
    assert products["total"] == 4
    assert all(p["images"] and p["skus"] for p in products["items"])
    hoodie = next(p for p in products["items"] if p["handle"] == "demo-everyday-hoodie")
    assert {s["sku"]: s["availability"] for s in hoodie["skus"]}["DEMO-HOODIE-XL"] == "out_of_stock"
    [tag] = client.get(f"/v1/clips/{clip_id}/tags").json()["items"]
    assert tag["status"] == "active" and tag["end_ms"] == 8000
