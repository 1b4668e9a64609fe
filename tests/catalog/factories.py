"""Factories shared by the catalog, commerce and tags tests."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient


def product_body(*, skus: list[dict[str, Any]] | None = None, **fields: Any) -> dict[str, Any]:
    suffix = uuid.uuid4().hex[:6]
    body: dict[str, Any] = {
        "title": f"Hoodie {suffix}",
        "description": "Heavy cotton",
        "category": "Clothing > Hoodies",
        "skus": skus
        if skus is not None
        else [
            {
                "sku": f"H-{suffix}-M",
                "price_minor": 4900,
                "currency": "EUR",
                "quantity": 10,
                "options": {"size": "M"},
            }
        ],
    }
    body.update(fields)
    return body


def create_product(client: TestClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    response = client.post("/v1/merchant/products", json=product_body(**fields), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def one_sku(
    client: TestClient, headers: dict[str, str], quantity: int = 10, price: int = 4900
) -> dict[str, Any]:
    code = f"S-{uuid.uuid4().hex[:8]}"
    product = create_product(
        client, headers, skus=[{"sku": code, "price_minor": price, "currency": "EUR", "quantity": quantity}]
    )
    return product["skus"][0]


def make_clip(
    creator_id: str, *, duration_ms: int = 15_000, visibility: str = "public", status: str = "ready"
) -> uuid.UUID:
    """A clip row as ingest leaves it once processed (no media files needed for tagging)."""
    from app.clips.models import Clip, ClipStatus, Visibility
    from app.db import session_scope

    clip_id = uuid.uuid4()
    with session_scope() as session:
        session.add(
            Clip(
                id=clip_id,
                creator_id=uuid.UUID(creator_id),
                status=ClipStatus(status),
                visibility=Visibility(visibility),
                caption="demo",
                duration_ms=duration_ms,
                storage_prefix=f"clips/{clip_id}/",
            )
        )
    return clip_id
