"""Social fixtures: ready clips inserted directly (no transcoding), a fresh feed engine per test,
users created straight in the database when a test needs many."""

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

    def factory(creator_id: str | uuid.UUID, caption: str = "a clip", interests: tuple[str, ...] = ("tech",), **fields: Any) -> uuid.UUID:
        clip_id = uuid.uuid4()
        with session_scope() as session:
            ids = list(session.scalars(select(Interest.id).where(Interest.slug.in_(interests))))
            session.add(
                Clip(
                    id=clip_id,
                    creator_id=uuid.UUID(str(creator_id)),
                    status=fields.pop("status", ClipStatus.ready),
                    visibility=fields.pop("visibility", Visibility.public),
                    caption=caption,
                    duration_ms=15_000,
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


@pytest.fixture
def bulk_users(database_url: str, _seed_max_interest_id: int) -> Callable[[int], list[uuid.UUID]]:
    """``n`` registered viewers written straight to the database (no password hashing)."""
    from app.accounts.models import Role, User
    from app.db import session_scope

    def factory(n: int) -> list[uuid.UUID]:
        ids = [uuid.uuid4() for _ in range(n)]
        with session_scope() as session:
            for user_id in ids:
                session.add(User(id=user_id, email=f"bulk-{user_id.hex}@example.com", role=Role.viewer))
        return ids

    return factory


def user_obj(user_id: uuid.UUID | str) -> Any:
    from app.db import session_scope

    with session_scope() as session:
        from app.accounts.service import get_user

        user = get_user(session, uuid.UUID(str(user_id)))
        session.expunge(user)
        return user
