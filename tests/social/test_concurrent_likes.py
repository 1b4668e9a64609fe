"""100 viewers like one clip at the same moment: the count is exact."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest


@pytest.mark.postgres
def test_100_concurrent_likes_are_counted_exactly(
    client: Any, make_user: Any, make_clip: Any, settings: Any, monkeypatch: Any
) -> None:
    from app.db import session_scope
    from app.feed import service
    from app.main import app

    # 100 guest accounts a second old liking one clip from one address is exactly what the
    # engagement-authenticity checks discount (tests/analytics cover that); here only the
    # concurrency is under test, so those checks are given room.
    monkeypatch.setattr(settings, "analytics_burst_min_accounts", 1000)
    monkeypatch.setattr(settings, "analytics_ip_max_fresh_accounts", 1000)

    creator, _ = make_user("creator")
    clip = make_clip(creator["id"])
    viewers = [
        {"Authorization": f"Bearer {client.post('/v1/auth/guest').json()['access_token']}"} for _ in range(100)
    ]

    def like() -> dict[str, Any]:
        at = datetime.now(UTC).isoformat()
        return {"events": [{"event_id": str(uuid.uuid4()), "type": "like", "at": at, "clip_id": str(clip)}]}

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            # every viewer likes twice at once (a double tap): still one like each
            return await asyncio.gather(*(http.post("/v1/events", json=like(), headers=h) for h in viewers * 2))

    responses = asyncio.run(run())
    assert [r.status_code for r in responses] == [200] * 200
    with session_scope() as session:
        while service.aggregate_pending(session, 1000):
            pass
    with session_scope() as session:
        assert service.get_clip_stats(session, [clip])[clip].likes == 100
