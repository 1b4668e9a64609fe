"""Rate limits: per account and per IP, in the process or in Redis, answered 429 + Retry-After."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from app.ratelimit import InProcessCounter, Limiter, RateLimited, RedisCounter


def test_fixed_windows_per_account_and_ip() -> None:
    limiter = Limiter(InProcessCounter(), {"comment:account": "3/60", "comment:ip": "5/60"})
    for _ in range(3):
        limiter.check("comment", account="a", ip="1.1.1.1", now=1000.0)
    with pytest.raises(RateLimited) as caught:
        limiter.check("comment", account="a", ip="1.1.1.1", now=1010.0)
    # windows are aligned on multiples of their length: this one ends at 1020
    assert caught.value.headers == {"Retry-After": "10"} and caught.value.extra["scope"] == "account"
    # other accounts from the same address: the IP limit (5) applies to all of them together
    limiter.check("comment", account="b", ip="1.1.1.1", now=1011.0)
    limiter.check("comment", account="c", ip="1.1.1.1", now=1011.0)
    with pytest.raises(RateLimited) as caught:
        limiter.check("comment", account="d", ip="1.1.1.1", now=1012.0)
    assert caught.value.extra["scope"] == "ip"
    limiter.check("comment", account="a", ip="1.1.1.1", now=1020.0)  # the next window
    limiter.check("like", account="a", cost=10_000, now=1060.0)  # no limit configured
    with pytest.raises(RateLimited):
        Limiter(InProcessCounter(), {"like:account": "5/60"}).check("like", account="a", cost=6, now=0.0)


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("CLIPSHOP_TEST_REDIS_URL")
    if not url:
        pytest.skip("set CLIPSHOP_TEST_REDIS_URL for the Redis limiter")
    return url


def test_redis_counts_are_shared_by_processes_and_a_dead_redis_lets_requests_through(redis_url: str) -> None:
    namespace = f"test-{uuid.uuid4().hex}"
    limits = {"follow:account": "2/60"}
    first = Limiter(RedisCounter(redis_url, namespace), limits)
    second = Limiter(RedisCounter(redis_url, namespace), limits)  # another process
    first.check("follow", account="a", now=600.0)
    second.check("follow", account="a", now=601.0)
    with pytest.raises(RateLimited):
        first.check("follow", account="a", now=602.0)
    dead = Limiter(RedisCounter("redis://127.0.0.1:1/0", namespace), limits)
    for _ in range(5):
        dead.check("follow", account="a", now=600.0)


@pytest.fixture
def strict_limits(settings: Any) -> Iterator[None]:
    from app import ratelimit

    settings.rate_limits_enabled = True
    ratelimit.set_limiter(
        Limiter(
            InProcessCounter(),
            {
                "comment:account": "2/60",
                "follow:account": "2/60",
                "like:account": "3/60",
                "signup:ip": "2/3600",
                "report:account": "1/3600",
            },
        )
    )
    yield
    settings.rate_limits_enabled = None
    ratelimit.set_limiter(None)


def test_routes_answer_429_with_retry_after(client: Any, make_user: Any, strict_limits: None) -> None:
    creator, _ = make_user("creator")
    _, viewer_h = make_user("viewer")
    third = client.post("/v1/auth/signup", json={"email": "third@example.com", "password": "password-123"})
    assert third.status_code == 429 and third.json()["code"] == "rate_limited"
    assert int(third.headers["Retry-After"]) > 0
    assert third.headers["content-type"] == "application/problem+json"

    from app.clips.models import Clip, ClipStatus
    from app.db import session_scope

    clip_id = uuid.uuid4()
    with session_scope() as session:
        session.add(
            Clip(id=clip_id, creator_id=uuid.UUID(creator["id"]), status=ClipStatus.ready, caption="c",
                 duration_ms=1000, mp4_key="k", storage_prefix=f"clips/{clip_id}")
        )  # fmt: skip
    for i in range(2):
        assert client.post(f"/v1/clips/{clip_id}/comments", json={"body": f"c{i}"}, headers=viewer_h).status_code == 201
    limited = client.post(f"/v1/clips/{clip_id}/comments", json={"body": "c3"}, headers=viewer_h)
    assert limited.status_code == 429 and "Retry-After" in limited.headers

    profile_handle = creator["creator"]["handle"]
    assert client.post(f"/v1/creators/{profile_handle}/follow", headers=viewer_h).status_code == 200
    assert client.delete(f"/v1/creators/{profile_handle}/follow", headers=viewer_h).status_code == 200
    assert client.post(f"/v1/creators/{profile_handle}/follow", headers=viewer_h).status_code == 429

    def like_batch(n: int) -> dict[str, Any]:
        at = datetime.now(UTC).isoformat()
        return {"events": [{"event_id": str(uuid.uuid4()), "type": "like", "at": at, "clip_id": str(clip_id)} for _ in range(n)]}

    assert client.post("/v1/events", json=like_batch(2), headers=viewer_h).status_code == 200
    assert client.post("/v1/events", json=like_batch(2), headers=viewer_h).status_code == 429

    report = {"target_type": "clip", "target_id": str(clip_id), "reason": "spam"}
    assert client.post("/v1/reports", json=report, headers=viewer_h).status_code == 201
    assert client.post("/v1/reports", json=report, headers=viewer_h).status_code == 429
