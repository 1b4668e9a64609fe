"""Feed fixtures: ready clips inserted directly (no transcoding), a fresh engine per test."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _fresh_feed_state(request: pytest.FixtureRequest) -> Iterator[None]:
    if "database_url" not in request.fixturenames:
        yield
        return
    from app.config import get_settings
    from app.feed import runtime, sessions

    # Tests drive aggregation and catch-up explicitly (and through new feed sessions).
    get_settings().feed_background_refresh = False
    runtime.reset_runtime()
    sessions.reset_store()
    yield
    runtime.reset_runtime()
    sessions.reset_store()


@pytest.fixture
def make_clip(db: Any) -> Callable[..., uuid.UUID]:
    from sqlalchemy import select

    from app.clips.models import Clip, ClipInterest, ClipStatus, Visibility
    from app.db import session_scope, utcnow
    from app.interests.models import Interest

    def factory(
        creator_id: str | uuid.UUID, interests: list[str], caption: str = "a clip", **fields: Any
    ) -> uuid.UUID:
        clip_id = uuid.uuid4()
        if callable(fields.get("renditions")):  # rows made for the clip's own storage prefix
            fields["renditions"] = fields["renditions"](f"clips/{clip_id}/")
        with session_scope() as session:
            ids = list(session.scalars(select(Interest.id).where(Interest.slug.in_(interests))))
            assert len(ids) == len(interests), interests
            session.add(
                Clip(
                    id=clip_id,
                    creator_id=uuid.UUID(str(creator_id)),
                    status=fields.pop("status", ClipStatus.ready),
                    visibility=fields.pop("visibility", Visibility.public),
                    caption=caption,
                    duration_ms=fields.pop("duration_ms", 15_000),
                    poster_key=f"clips/{clip_id}/poster.jpg",
                    hls_master_key=f"clips/{clip_id}/hls/master.m3u8",
                    mp4_key=f"clips/{clip_id}/clip.mp4",
                    storage_prefix=f"clips/{clip_id}",
                    ready_at=utcnow(),
                    **fields,
                )
            )
            session.flush()
            for interest_id in ids:
                session.add(ClipInterest(clip_id=clip_id, interest_id=interest_id))
        return clip_id

    return factory
