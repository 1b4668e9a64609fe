"""Who may call each route, checked from the application's route table.

Every route has an access rule (``app/access.py``: declared with ``openapi_extra={"x-access":
...}`` or inferred from its auth dependency). Each route is called as anonymous, guest, viewer,
creator, merchant and admin, none of whom owns the resources named in the path (they belong to
another creator, merchant and buyer). Whoever the rule refuses must get 401/403/404, and the
database must not change. A route without a rule fails here.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import select, text

from app.access import BASES, OWNER, is_valid, route_access
from app.main import app
from tests.catalog.factories import create_product, make_clip
from tests.commerce.helpers import checkout

CALLERS = ("anonymous", "guest", "viewer", "creator", "merchant", "admin")
# framework routes (OpenAPI document and its viewers)
FRAMEWORK_PATHS = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def api_routes() -> list[APIRoute]:
    return [c.route for c in iter_route_contexts(app.routes) if isinstance(c.route, APIRoute)]


def refused_callers(rule: str) -> set[str]:
    """The callers (none of them owning the path's resources) the rule must refuse."""
    base, _, qualifier = rule.partition("+")
    everyone = set(CALLERS)
    allowed = {
        "public": everyone,
        "authenticated": everyone - {"anonymous"},
        "registered": everyone - {"anonymous", "guest"},
        "creator": {"creator", "admin"},
        "merchant": {"merchant", "admin"},
        "merchant_member": {"merchant"},
        "admin": {"admin"},
        "webhook_signature": set(),
    }[base]
    refused = everyone - allowed
    if qualifier == OWNER:
        # nobody here owns the resource; admins may act on others' things (moderation)
        refused |= allowed - {"admin"}
    return refused


def test_every_route_declares_who_may_call_it():
    missing, invalid = [], []
    for route in api_routes():
        rule = route_access(route)
        label = f"{','.join(sorted(route.methods))} {route.path}"
        if rule is None:
            missing.append(label)
        elif not is_valid(rule):
            invalid.append(f"{label}: {rule}")
    assert not missing, f"routes without an access rule (add openapi_extra={{'x-access': ...}}): {missing}"
    assert not invalid, f"unknown access rules (bases: {BASES}): {invalid}"


def test_access_rules_are_published_in_openapi(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert paths["/v1/payments/webhook"]["post"]["x-access"] == "webhook_signature"
    assert paths["/v1/merchant/products/{product_id}"]["patch"]["x-access"] == "merchant_member+owner"
    assert paths["/v1/admin/users"]["get"]["x-access"] == "admin"


# Tables the service's own background threads write while the matrix runs (the job outbox and its
# leases, the search index catching up, analytics rollups and the feed's aggregates): not state a
# request can change, so they are left out of the comparison.
BACKGROUND_TABLES = {
    "job", "search_document", "search_state", "clip_stat", "feed_aggregate_state",
}


def _snapshot(db_url: str) -> dict[str, str]:
    """A digest of each table's rows (but those written in the background)."""
    from app.db import Base, get_engine
    from app.registry import import_all_models

    import_all_models()
    digests: dict[str, str] = {}
    with get_engine().connect() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name in BACKGROUND_TABLES or (
                table.name.startswith(("analytics_", "search_")) and table.name != "analytics_shortlist"
            ):
                continue
            rows = connection.execute(select(table)).all()
            digest = hashlib.sha256()
            for row in sorted(repr(tuple(row)) for row in rows):
                digest.update(row.encode())
            digests[table.name] = digest.hexdigest()
    return digests


@pytest.fixture
def world(client, make_user) -> dict[str, Any]:
    """Resources owned by one creator, one merchant and one buyer, and callers who own none."""
    owner_creator, creator_headers = make_user("creator")
    _, merchant_headers = make_user("merchant")
    buyer, buyer_headers = make_user("viewer")
    clip_id = make_clip(owner_creator["id"])
    product = create_product(client, merchant_headers)
    sku = product["skus"][0]
    tag = client.post(
        f"/v1/clips/{clip_id}/tags",
        json={"sku_id": sku["id"], "start_ms": 0, "end_ms": 1000},
        headers=creator_headers,
    )
    assert tag.status_code == 201, tag.text
    order = checkout(client, buyer_headers, [(sku["id"], 1)])
    assert order.status_code == 201, order.text
    upload = client.post(
        "/v1/uploads", json={"size": 1000, "content_type": "video/mp4"}, headers=creator_headers
    )
    assert upload.status_code == 201, upload.text
    imported = client.post(
        "/v1/merchant/catalog/imports",
        files={"file": ("c.csv", b"handle,title,sku,price,currency,quantity\nmug,Mug,MUG-1,8.00,EUR,3\n", "text/csv")},
        headers=merchant_headers,
    )
    assert imported.status_code == 202, imported.text
    params = {
        "clip_id": str(clip_id),
        "tag_id": tag.json()["id"],
        "product_id": product["id"],
        "sku_id": sku["id"],
        "order_id": order.json()["id"],
        "upload_id": upload.json()["id"],
        "import_id": imported.json()["id"],
        "image_id": str(uuid.uuid4()),
        "user_id": buyer["id"],
        "handle": owner_creator["creator"]["handle"],
        "slug": "beauty",
        "key": f"clips/{clip_id}/poster.jpg",
        # resources of the newer domains nobody here owns: unknown ids answer 404 to everyone
        # (refusals are still checked: 401 for anonymous, 401/403/404 for the others)
        "category": "beauty",
        "code": "nosuchcode",
        "tag": "nosuchtag",
        "name": "app.js",
        "path": "feed",
        **{
            name: str(uuid.uuid4())
            for name in (
                "collaboration_id", "comment_id", "creator_id", "delivery_id", "endpoint_id",
                "idea_list_id", "notification_id", "payout_id", "poll_id", "report_id", "run_id", "word_id",
            )
        },
    }
    callers: dict[str, dict[str, str]] = {"anonymous": {}}
    for role in CALLERS[1:]:
        callers[role] = make_user(role)[1]
    return {"params": params, "callers": callers}


def _url(route: APIRoute, params: dict[str, str]) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        assert name in params, f"the role matrix needs a value for {{{name}}} ({route.path})"
        return params[name]

    return re.sub(r"{([^}]+)}", fill, route.path)


def _body(path: str, params: dict[str, str]) -> Any:
    # routes that check their body before the caller (documented): a well-formed one
    if path == "/v1/events":
        from datetime import UTC, datetime

        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        return {"events": [{"event_id": str(uuid.uuid4()), "type": "impression", "at": now, "clip_id": params["clip_id"]}]}
    if path == "/v1/merchant/orders/{order_id}/refunds":
        return {"lines": [{"line_id": str(uuid.uuid4()), "quantity": 1}]}
    return {}


def test_role_matrix(client, world, database_url):
    checked = 0
    problems: list[str] = []
    for route in api_routes():
        rule = route_access(route)
        assert rule is not None, route.path
        refused = refused_callers(rule)
        url = _url(route, world["params"])
        before = _snapshot(database_url) if refused else None
        for method in sorted(route.methods):
            for caller in CALLERS:
                headers = world["callers"][caller]
                label = f"{method} {route.path} as {caller} ({rule})"
                if caller in refused:
                    body = _body(route.path, world["params"])
                    response = client.request(method, url, headers=headers, json=body)
                    expected = {401} if caller == "anonymous" else {401, 403, 404}
                    if rule == "webhook_signature":  # no token, a signature: 400 invalid_signature
                        expected = {400}
                    if response.status_code not in expected:
                        problems.append(f"{label}: {response.status_code} {response.text[:200]}")
                    elif response.headers["content-type"] != "application/problem+json":
                        problems.append(f"{label}: not a problem document")
                    checked += 1
                elif method == "GET":
                    response = client.request(method, url, headers=headers)
                    if response.status_code in (401, 403):
                        problems.append(f"{label}: {response.status_code} {response.text[:200]}")
        if before is not None:
            after = _snapshot(database_url)
            changed = sorted(name for name in after if after[name] != before.get(name))
            if changed:
                problems.append(f"a refused call to {route.path} changed {', '.join(changed)}")
    assert not problems, "\n".join(problems)  # every offender at once
    assert checked > 100


def test_a_route_without_a_rule_is_reported():
    from fastapi import APIRouter

    router = APIRouter()

    @router.get("/v1/undeclared")
    def undeclared() -> dict[str, str]:
        return {}

    (route,) = [r for r in router.routes if isinstance(r, APIRoute)]
    assert route_access(route) is None


def test_rules_are_inferred_from_auth_dependencies():
    rules = {(m, r.path): route_access(r) for r in api_routes() for m in r.methods}
    assert rules[("GET", "/v1/me")] == "authenticated"
    assert rules[("PUT", "/v1/me/avatar")] == "registered"
    assert rules[("POST", "/v1/uploads")] == "creator"
    assert rules[("GET", "/v1/admin/users")] == "admin"
    assert rules[("PATCH", "/v1/merchant/products/{product_id}")] == "merchant_member+owner"
    assert rules[("GET", "/v1/clips/{clip_id}")] == "public"


def test_snapshot_sees_changes(database_url, make_user):
    before = _snapshot(database_url)
    make_user("viewer")
    assert _snapshot(database_url) != before
    assert text  # (sqlalchemy text kept for ad-hoc debugging queries)
