"""The web client's server side: the HTML shell and assets (built or not), the demo payment
route, and the public catalogue browse the tagging editor searches."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest

from app.config import Environment
from tests.catalog.factories import create_product, one_sku
from tests.commerce.helpers import checkout


@pytest.fixture
def dist(tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "dist"
    monkeypatch.setattr(settings, "web_dist_dir", folder)
    return folder


def _build(folder: Path) -> None:
    (folder / "assets").mkdir(parents=True)
    shell = b'<!doctype html><script type="module" src="/app/assets/main-AB12.js"></script>'
    (folder / "index.html").write_bytes(shell)
    (folder / "index.html.gz").write_bytes(gzip.compress(shell))
    script = b"console.log('clipshop');" * 50
    (folder / "assets" / "main-AB12.js").write_bytes(script)
    (folder / "assets" / "main-AB12.js.gz").write_bytes(gzip.compress(script))
    (folder / "secret.txt").write_text("not an asset")


def test_unbuilt_client_answers_a_clear_page_not_a_500(client: Any, dist: Path) -> None:
    for path in ("/", "/app/studio", "/app/merchant/import"):
        response = client.get(path)
        assert response.status_code == 503
        assert "web client is not built" in response.text and "scripts/bootstrap.sh" in response.text
    assert client.get("/app/assets/main-AB12.js").status_code == 404
    assert client.get("/healthz").status_code == 200


def test_shell_for_every_client_path_and_gzip_assets(client: Any, dist: Path) -> None:
    _build(dist)
    zipped_shell = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert zipped_shell.headers["content-encoding"] == "gzip" and "main-AB12.js" in zipped_shell.text
    for path in ("/", "/app", "/app/feed", "/app/studio/clips/6f1c3e8e-0000-4000-8000-000000000000", "/app/admin"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["cache-control"] == "no-cache"
        assert "/app/assets/main-AB12.js" in response.text

    zipped = client.get("/app/assets/main-AB12.js", headers={"Accept-Encoding": "gzip"})
    assert zipped.status_code == 200
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["content-type"].startswith("text/javascript")
    assert "immutable" in zipped.headers["cache-control"]
    assert zipped.content == b"console.log('clipshop');" * 50  # decoded by the client
    plain = client.get("/app/assets/main-AB12.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content.startswith(b"console.log")

    # revalidation: the shell on every load, an asset when the browser kept it
    for path in ("/", "/app/assets/main-AB12.js"):
        first = client.get(path, headers={"Accept-Encoding": "gzip"})
        again = client.get(path, headers={"Accept-Encoding": "gzip", "If-None-Match": first.headers["etag"]})
        assert again.status_code == 304 and again.headers["etag"] == first.headers["etag"] and not again.content
    # a rebuild is served at once (the server keeps files in memory only while they are unchanged)
    (dist / "index.html").write_text('<!doctype html><script type="module" src="/app/assets/main-CD34.js"></script>')
    assert "main-CD34.js" in client.get("/app/feed", headers={"Accept-Encoding": "identity"}).text

    for bad in ("/app/assets/..%2Fsecret.txt", "/app/assets/../secret.txt", "/app/assets/.hidden", "/app/assets/nope.js"):
        response = client.get(bad)
        assert response.status_code == 404 or "not an asset" not in response.text, bad
        assert "not an asset" not in response.text
    # the API keeps its own 404s
    assert client.get("/v1/nothing-here").headers["content-type"].startswith("application/problem+json")


def test_demo_payment_is_off_outside_development(client: Any, make_user: Any) -> None:
    _, buyer = make_user("viewer")
    response = client.post("/v1/demo/orders/6f1c3e8e-0000-4000-8000-000000000000/pay", headers=buyer)
    assert response.status_code == 404 and response.json()["code"] == "demo_disabled"


def test_demo_payment_pays_through_the_signed_webhook(
    client: Any, make_user: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "web_demo_payments", True)
    _, merchant = make_user("merchant")
    _, buyer = make_user("viewer")
    _, stranger = make_user("viewer")
    sku = one_sku(client, merchant, quantity=3)
    order = checkout(client, buyer, [(sku["id"], 2)]).json()
    assert client.get(f"/v1/skus/{sku['id']}").json()["available"] == 1

    assert client.post(f"/v1/demo/orders/{order['id']}/pay").status_code == 401
    assert client.post(f"/v1/demo/orders/{order['id']}/pay", headers=stranger).json()["code"] == "order_not_found"
    paid = client.post(f"/v1/demo/orders/{order['id']}/pay", headers=buyer)
    assert paid.status_code == 200 and paid.json()["outcome"] == "paid"
    assert client.get(f"/v1/orders/{order['id']}", headers=buyer).json()["status"] == "paid"
    stock = client.get(f"/v1/merchant/skus/{sku['id']}/stock", headers=merchant).json()
    assert (stock["quantity"], stock["reserved"], stock["available"]) == (1, 0, 1)

    monkeypatch.setattr(settings, "environment", Environment.production)
    assert settings.web_demo_payments_enabled is False


def test_browse_products_filters_by_words_and_pages_by_cursor(client: Any, make_user: Any) -> None:
    _, merchant = make_user("merchant")
    titles = ["Vitamin C serum", "Night serum", "Court sneaker", "Everyday hoodie", "Serum travel kit"]
    ids = {title: create_product(client, merchant, title=title)["id"] for title in titles}
    hidden = create_product(client, merchant, title="Retired serum")
    assert client.patch(f"/v1/merchant/products/{hidden['id']}", json={"active": False}, headers=merchant).status_code == 200

    everything = client.get("/v1/products").json()
    assert [p["title"] for p in everything["items"]] == sorted(titles)
    assert everything["next_cursor"] is None

    seen: list[str] = []
    cursor = None
    while True:
        page = client.get("/v1/products", params={"q": "SERUM", "limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        seen += [p["title"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["Night serum", "Serum travel kit", "Vitamin C serum"]
    assert [p["id"] for p in client.get("/v1/products", params={"q": "vitamin serum"}).json()["items"]] == [ids["Vitamin C serum"]]
    assert client.get("/v1/products", params={"q": "100%_"}).json()["items"] == []
    assert all("quantity" not in s for p in everything["items"] for s in p["skus"])  # public view
    bad = client.get("/v1/products", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_cursor"
