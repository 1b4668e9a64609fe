"""Search fixtures: clips, products and creators written straight to their tables, indexed by
the real indexing rounds (documents, signals, embeddings), a fresh in-memory runtime per test."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _fresh_search_state(request: pytest.FixtureRequest) -> Iterator[None]:
    if "database_url" not in request.fixturenames:
        yield
        return
    from app.config import get_settings
    from app.search import runtime

    # Tests index explicitly (``reindex``); queries then catch up synchronously.
    get_settings().search_background_refresh = False
    runtime.reset_runtime()
    yield
    runtime.reset_runtime()


@pytest.fixture
def reindex(database_url: str) -> Callable[[], dict[str, int]]:
    from app.search import tasks

    def run(full: bool = False) -> dict[str, int]:
        return tasks.index_all(full=full)

    return run


@pytest.fixture
def creator(make_user: Any) -> Callable[..., tuple[dict[str, Any], dict[str, str]]]:
    def factory(handle: str | None = None, name: str | None = None) -> tuple[dict[str, Any], dict[str, str]]:
        fields: dict[str, Any] = {}
        if handle:
            fields["handle"] = handle
        if name:
            fields["display_name"] = name
        return make_user("creator", **fields)

    return factory


@pytest.fixture
def clip(database_url: str) -> Callable[..., uuid.UUID]:
    from app.clips.models import Clip, ClipStatus, Visibility
    from app.db import session_scope, utcnow

    def factory(creator_id: str | uuid.UUID, caption: str, **fields: Any) -> uuid.UUID:
        clip_id = uuid.uuid4()
        with session_scope() as session:
            session.add(
                Clip(
                    id=clip_id,
                    creator_id=uuid.UUID(str(creator_id)),
                    status=ClipStatus(fields.pop("status", "ready")),
                    visibility=Visibility(fields.pop("visibility", "public")),
                    caption=caption,
                    duration_ms=15_000,
                    storage_prefix=f"clips/{clip_id}",
                    ready_at=utcnow(),
                )
            )
        return clip_id

    return factory


@pytest.fixture
def stats(database_url: str) -> Callable[..., None]:
    """Set a clip's aggregated counters (what the feed's aggregator maintains)."""
    from app.db import session_scope, utcnow
    from app.feed.models import ClipStat

    def set_stats(clip_id: uuid.UUID, **counters: int) -> None:
        with session_scope() as session:
            row = session.get(ClipStat, clip_id)
            if row is None:
                row = ClipStat(clip_id=clip_id)
                session.add(row)
            for name, value in counters.items():
                setattr(row, name, value)
            row.updated_at = utcnow()

    return set_stats


def product_body(
    title: str, *, brand: str | None = None, quantity: int = 10, price: int = 2490, **fields: Any
) -> dict[str, Any]:
    return {
        "title": title,
        "brand": brand,
        "description": fields.pop("description", None),
        "category": fields.pop("category", None),
        "skus": [
            {
                "sku": f"S-{uuid.uuid4().hex[:8]}",
                "price_minor": price,
                "currency": "EUR",
                "quantity": quantity,
            }
        ],
        **fields,
    }
