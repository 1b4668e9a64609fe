"""Bad input gets a 4xx problem (never a 500, never a silent wrong answer)."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import func, select

from tests.catalog.factories import create_product, one_sku
from tests.commerce.helpers import checkout


def _signed_post(client, body: bytes):
    from app.commerce.service import sign
    from app.config import get_settings

    return client.post(
        "/v1/payments/webhook",
        content=body,
        headers={"ClipShop-Signature": sign(body, get_settings().payment_webhook_secret), "Content-Type": "application/json"},
    )


@pytest.mark.parametrize("amount", ['"abc"', "NaN", "Infinity", "1e400", "[1]", "{}", "true", "12.5"])
def test_webhook_with_a_malformed_amount_is_400_and_records_nothing(client, make_user, db, amount):
    from app.commerce.models import Order, WebhookEvent

    _, merchant = make_user("merchant")
    _, buyer = make_user("viewer")
    sku = one_sku(client, merchant, quantity=3)
    order = checkout(client, buyer, [(sku["id"], 1)]).json()
    data = f'{{"order_id": "{order["id"]}", "amount_minor": {amount}, "payment_id": "pay_1"}}'
    body = f'{{"id": "evt_bad_amount", "type": "payment.succeeded", "data": {data}}}'.encode()
    response = _signed_post(client, body)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_webhook"
    assert db.scalar(select(func.count()).select_from(WebhookEvent)) == 0
    assert db.get(Order, uuid.UUID(order["id"])).status.value == "pending_payment"


@pytest.mark.parametrize("body", [b"[]", b'"x"', b'{"id": "e", "type": "payment.failed", "data": [1]}', b"{" * 5000])
def test_webhook_with_a_malformed_event_is_400(client, body):
    response = _signed_post(client, body)
    assert response.status_code == 400, response.text


@pytest.mark.parametrize(
    "patch", [{"active": None}, {"active": 0}, {"active": "yes"}, {"title": None}, {"interests": None}]
)
def test_product_patch_refuses_null_and_non_boolean_with_422(client, make_user, patch):
    _, merchant = make_user("merchant")
    product = create_product(client, merchant)
    response = client.patch(f"/v1/merchant/products/{product['id']}", json=patch, headers=merchant)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"
    assert client.get(f"/v1/merchant/products/{product['id']}", headers=merchant).json()["active"] is True


def test_strict_booleans_in_sku_and_admin_updates(client, make_user):
    _, merchant = make_user("merchant")
    sku = one_sku(client, merchant)
    for patch in ({"active": 1}, {"active": None}, {"price_minor": None}):
        response = client.patch(f"/v1/merchant/skus/{sku['id']}", json=patch, headers=merchant)
        assert response.status_code == 422, (patch, response.text)
    assert client.patch(f"/v1/merchant/skus/{sku['id']}", json={"active": False}, headers=merchant).status_code == 200
    viewer, _ = make_user("viewer")
    _, admin = make_user("admin")
    refused = client.patch(f"/v1/admin/users/{viewer['id']}", json={"is_active": 0}, headers=admin)
    assert refused.status_code == 422


def test_csv_with_an_unbalanced_quote_is_refused_with_its_row(client, make_user):
    _, merchant = make_user("merchant")
    csv_text = (
        "handle,title,sku,price,currency,quantity\n"
        "tee,Tee,TEE-S,10.00,EUR,5\n"
        'mug,"Mug,MUG-1,8.00,EUR,3\n'
        "cap,Cap,CAP-1,12.00,EUR,4\n"
    )
    response = client.post(
        "/v1/merchant/catalog/imports",
        files={"file": ("catalog.csv", csv_text.encode(), "text/csv")},
        data={"format": "native_csv", "currency": "EUR"},
        headers=merchant,
    )
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["code"] == "malformed_csv"
    assert "Row 2" in problem["detail"] and problem["rows"][0]["row"] == 2
    assert client.get("/v1/merchant/products", headers=merchant).json()["total"] == 0


@pytest.mark.parametrize(
    "path,expected",
    [
        ("/v1/merchant/products/00000000-0000-0000-0000-000000000001", {"GET", "PATCH", "DELETE"}),
        ("/v1/clips/00000000-0000-0000-0000-000000000001", {"GET", "PATCH", "DELETE"}),
        ("/v1/creators/someone/follow", {"POST", "DELETE"}),
        ("/v1/feed", {"GET"}),
    ],
)
def test_options_lists_every_method_of_the_path(client, path, expected):
    response = client.options(path)
    assert response.status_code in (200, 204)
    allow = {m.strip() for m in response.headers["allow"].split(",")}
    assert expected | {"OPTIONS"} <= allow
    # and a wrong method's 405 names them all too
    wrong = client.put(path) if "PUT" not in allow else client.post(path)
    assert wrong.status_code == 405
    assert expected <= {m.strip() for m in wrong.headers["allow"].split(",")}


def test_options_on_an_unknown_path_is_404(client):
    assert client.options("/v1/nothing-here").status_code == 404


def test_openapi_documents_required_headers_and_rules(client):
    schema = client.get("/openapi.json").json()
    checkout_params = {p["name"].lower(): p for p in schema["paths"]["/v1/checkout"]["post"]["parameters"]}
    assert checkout_params["idempotency-key"]["required"] is True
    webhook_params = {p["name"].lower(): p for p in schema["paths"]["/v1/payments/webhook"]["post"]["parameters"]}
    assert webhook_params["clipshop-signature"]["required"] is True
    signup = schema["components"]["schemas"]["SignupRequest"]
    merchant_rule = next(rule for rule in signup["allOf"] if rule["if"]["properties"]["role"]["const"] == "merchant")
    assert "organisation_name" in json.dumps(merchant_rule["then"])
    assert "greater than start_ms" in schema["components"]["schemas"]["TagCreate"]["description"]
