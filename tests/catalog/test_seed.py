from app.seed import seed_demo


def test_seed_demo_creates_a_demo_catalog_once(client):
    first = seed_demo()
    assert first["catalog"] == "4 demo products created"
    assert seed_demo()["catalog"] == "0 demo products created"
    response = client.post(
        "/v1/auth/token", data={"username": "merchant@demo.clipshop", "password": "clipshop-demo"}
    )
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    products = client.get("/v1/merchant/products", headers=headers).json()
    assert products["total"] == 4
    assert all(p["images"] and p["skus"] for p in products["items"])
    hoodie = next(p for p in products["items"] if p["handle"] == "demo-everyday-hoodie")
    assert {s["sku"]: s["availability"] for s in hoodie["skus"]}["DEMO-HOODIE-XL"] == "out_of_stock"


def test_seed_tags_the_demo_creators_ready_clips(client):
    from app.accounts import service as accounts_service
    from app.db import session_scope
    from tests.catalog.factories import make_clip

    seed_demo()
    with session_scope() as session:
        creator = accounts_service.get_user_by_email(session, "creator@demo.clipshop")
        assert creator is not None
        creator_id = str(creator.id)
    clip_id = make_clip(creator_id, duration_ms=8000)
    assert seed_demo()["tags"] == "1 demo tags created"
    [tag] = client.get(f"/v1/clips/{clip_id}/tags").json()["items"]
    assert tag["status"] == "active" and tag["end_ms"] == 8000
    assert seed_demo()["tags"] == "0 demo tags created"
