from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from app.jobs import drain
from tests.conftest import shared_data


def _import(
    client, headers, path: Path | None = None, *, data: bytes | None = None, name: str = "f.csv", **form: str
):
    content = data if data is not None else path.read_bytes()  # type: ignore[union-attr]
    response = client.post(
        "/v1/merchant/catalog/imports", files={"file": (name, content)}, data=form, headers=headers
    )
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["status"] == "queued" and job["total_rows"] > 0
    drain()
    done = client.get(f"/v1/merchant/catalog/imports/{job['id']}", headers=headers)
    assert done.status_code == 200
    return done.json()


def _catalog(client, headers) -> dict[str, dict[str, Any]]:
    items = client.get("/v1/merchant/products?limit=200", headers=headers).json()["items"]
    return {s["sku"]: {**s, "product": p} for p in items for s in p["skus"]}


def test_native_csv_import_progress_errors_and_idempotence(client, make_user):
    _, merchant = make_user("merchant")
    rows = [
        "handle,title,description,brand,category,interests,image_urls,sku,price,currency,compare_at_price,quantity,options",
        "tee,Basic tee,Soft,Acme,Clothing > Tshirts,,https://img.example/tee.jpg,TEE-S,19.90,EUR,,5,size=S",
        "tee,,,,,,,TEE-M,19.90,EUR,24.00,8,size=M",
        "mug,Mug,,,Kitchen,,,MUG-1,9.5,EUR,,3,",
        "bad,Broken product,,,,,,BAD-1,12.00,EUR,,4,",
        "bad,,,,,,,BAD-2,not-a-price,EUR,,4,",
    ]
    data = ("\n".join(rows) + "\n").encode()
    job = _import(client, merchant, data=data)
    assert job["status"] == "completed_with_errors"
    assert (job["done_rows"], job["total_rows"]) == (5, 5)
    assert job["products_written"] == 2 and job["skus_written"] == 3
    assert [(e["row"], e["sku"], e["field"]) for e in job["errors"]] == [(5, "BAD-2", "price")]
    catalog = _catalog(client, merchant)
    # The bad row never half-writes its product: BAD-1 (a good row) is absent too.
    assert set(catalog) == {"TEE-S", "TEE-M", "MUG-1"}
    assert catalog["TEE-M"]["price_minor"] == 1990 and catalog["TEE-M"]["compare_at_minor"] == 2400
    assert catalog["MUG-1"]["price_minor"] == 950 and catalog["MUG-1"]["quantity"] == 3
    assert catalog["TEE-S"]["options"] == {"size": "S"}
    assert catalog["TEE-S"]["product"]["images"][0]["url"] == "https://img.example/tee.jpg"

    ledger_before = client.get(
        f"/v1/merchant/skus/{catalog['TEE-S']['id']}/stock/ledger", headers=merchant
    ).json()
    again = _import(client, merchant, data=data)
    assert again["products_written"] == 2
    after = _catalog(client, merchant)
    assert {k: (v["price_minor"], v["quantity"]) for k, v in after.items()} == {
        k: (v["price_minor"], v["quantity"]) for k, v in catalog.items()
    }
    assert {v["product"]["id"] for v in after.values()} == {v["product"]["id"] for v in catalog.values()}
    ledger_after = client.get(
        f"/v1/merchant/skus/{catalog['TEE-S']['id']}/stock/ledger", headers=merchant
    ).json()
    assert ledger_after["total"] == ledger_before["total"]  # unchanged quantity: nothing written


def test_import_refuses_unreadable_files(client, make_user):
    _, merchant = make_user("merchant")
    _, viewer = make_user("viewer")
    bad = client.post(
        "/v1/merchant/catalog/imports", files={"file": ("x.json", b"[not json")}, headers=merchant
    )
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_import"
    for name, content in (
        ("x.json", b'[{"model": "product.product"}]'),  # a fixture entry without pk/fields
        ("x.csv", b"handle,sku\nA,\x00B\n"),  # NUL bytes
        ("x.csv", b"\xff\xfe not utf-8"),
    ):
        refused = client.post(
            "/v1/merchant/catalog/imports", files={"file": (name, content)}, headers=merchant
        )
        assert refused.status_code == 400 and refused.json()["code"] == "invalid_import", (name, refused.text)
    assert (
        client.post(
            "/v1/merchant/catalog/imports", files={"file": ("x.csv", b"a")}, headers=viewer
        ).status_code
        == 403
    )


def _shopify_expectations(path: Path) -> dict[str, tuple[int, int]]:
    """Independent reading of the file: handle + option values -> (price cents, quantity)."""
    expected = {}
    for row in csv.DictReader(path.open(encoding="utf-8-sig")):
        if not row["Variant Price"]:
            continue
        values = [row[f"Option{i} Value"] for i in (1, 2, 3)]
        code = "-".join(
            [row["Handle"]]
            + [
                "-".join("".join(c if c.isalnum() else " " for c in v.lower()).split())
                for v in values
                if v and v != "Default Title"
            ]
        )
        expected[code] = (
            int(Decimal(row["Variant Price"]) * 100),
            max(0, int(row["Variant Inventory Qty"] or 0)),
        )
    return expected


def test_shopify_csv_imports(client, make_user):
    _, merchant = make_user("merchant")
    total_skus = 0
    for name in ("apparel.csv", "home-and-garden.csv", "jewelery.csv"):
        path = shared_data("catalog", "shopify", name)
        job = _import(client, merchant, path, name=name)
        assert job["status"] == "succeeded", job["errors"]
        assert (
            job["done_rows"]
            == job["total_rows"]
            == sum(1 for _ in csv.DictReader(path.open(encoding="utf-8-sig")))
        )
        handles = {r["Handle"] for r in csv.DictReader(path.open(encoding="utf-8-sig"))}
        assert job["products_written"] == len(handles) == 20
        expected = _shopify_expectations(path)
        catalog = _catalog(client, merchant)
        for code, (price, quantity) in expected.items():
            assert (catalog[code]["price_minor"], catalog[code]["quantity"]) == (price, quantity), code
            assert catalog[code]["currency"] == "USD"
        total_skus += len(expected)
    assert len(_catalog(client, merchant)) == total_skus
    # Derived codes are stable: re-importing writes the same SKUs, not new ones.
    _import(client, merchant, shared_data("catalog", "shopify", "jewelery.csv"), name="jewelery.csv")
    assert len(_catalog(client, merchant)) == total_skus


def test_woocommerce_csv_imports_variable_products(client, make_user):
    _, merchant = make_user("merchant")
    path = shared_data("catalog", "woocommerce", "sample_products.csv")
    rows = list(csv.DictReader(path.open(encoding="utf-8-sig")))
    job = _import(client, merchant, path, name="sample_products.csv", currency="EUR")
    sellable = [r for r in rows if "simple" in r["Type"] or r["Type"] == "variation"]
    products = [r for r in rows if "simple" in r["Type"] or r["Type"] == "variable"]
    skipped = [r for r in rows if r["Type"] in ("grouped", "external")]
    assert job["skus_written"] == len(sellable) and job["products_written"] == len(products)
    assert sorted(e["sku"] for e in job["errors"]) == sorted(r["SKU"] for r in skipped)
    catalog = _catalog(client, merchant)
    assert len(catalog) == len(sellable)
    for row in sellable:
        sku = catalog[row["SKU"]]
        price = row["Sale price"] or row["Regular price"]
        assert sku["price_minor"] == int(Decimal(price) * 100), row["SKU"]
        assert sku["currency"] == "EUR"
        if row["Type"] == "variation":
            parent = next(r for r in rows if r["SKU"] == row["Parent"])
            assert sku["product"]["title"] == parent["Name"]
    hoodie = catalog["woo-hoodie-blue-logo"]
    assert hoodie["options"] == {"Color": "Blue", "Logo": "Yes"}
    assert len(hoodie["product"]["skus"]) == sum(1 for r in rows if r["Parent"] == "woo-hoodie")


def test_saleor_fixture_imports(client, make_user):
    _, merchant = make_user("merchant")
    path = shared_data("catalog", "saleor", "populatedb_data.json")
    fixture = json.loads(path.read_text())
    variants = [o for o in fixture if o["model"] == "product.productvariant"]
    products = [o for o in fixture if o["model"] == "product.product"]
    usd = {
        o["fields"]["variant"]: o["fields"]["price_amount"]
        for o in fixture
        if o["model"] == "product.productvariantchannellisting" and o["fields"]["currency"] == "USD"
    }
    stock: dict[int, int] = {}
    for o in fixture:
        if o["model"] == "warehouse.stock":
            stock[o["fields"]["product_variant"]] = (
                stock.get(o["fields"]["product_variant"], 0) + o["fields"]["quantity"]
            )
    job = _import(client, merchant, path, name="populatedb_data.json", currency="USD")
    assert job["status"] == "succeeded", job["errors"][:3]
    assert (job["total_rows"], job["skus_written"], job["products_written"]) == (
        len(variants),
        len(variants),
        len(products),
    )
    catalog = _catalog(client, merchant)
    assert len(catalog) == len(variants)
    slugs = {p["pk"]: p["fields"]["slug"] for p in products}
    for v in variants:
        code = v["fields"]["sku"] or f"{slugs[v['fields']['product']]}-v{v['pk']}"
        assert catalog[code]["price_minor"] == int(Decimal(usd[v["pk"]]) * 100), code
        assert catalog[code]["quantity"] == stock.get(v["pk"], 0), code


def test_import_source_files_are_deleted_when_done_or_after_retention(client, make_user, settings):
    import uuid
    from datetime import timedelta

    from app.catalog.imports import purge_import_files
    from app.storage import get_storage

    _, merchant = make_user("merchant")
    rows = "handle,title,sku,price,currency,quantity\ncap,Cap,CAP-1,5.00,EUR,2\n"
    job = _import(client, merchant, data=rows.encode())
    assert job["status"] == "succeeded"
    storage = get_storage()
    assert [k for k in storage.list_keys("imports/") if job["id"] in k] == []  # gone once done
    # A file left behind (crash between the import and the delete; an import never committed).
    stray = f"imports/{uuid.uuid4()}/{job['id']}/source"
    unknown = f"imports/{uuid.uuid4()}/{uuid.uuid4()}/source"
    storage.put_bytes(stray, b"x", "text/csv")
    storage.put_bytes(unknown, b"y", "text/csv")
    assert purge_import_files() == 1  # the finished import's file; the unknown one is recent
    assert not storage.exists(stray) and storage.exists(unknown)
    assert purge_import_files(retention=timedelta(seconds=-1)) == 1
    assert not storage.exists(unknown)
