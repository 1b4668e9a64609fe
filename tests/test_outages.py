"""Outages answer 503 problem+json with Retry-After, fast, and everything recovers by itself.

The dependencies that go down are the tests' own (a redis-server they start and kill, a TCP proxy
in front of the test database that they cut), never the machine's shared servers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from app import db as db_module
from tests.faults import RedisServer, TcpProxy


def _assert_unavailable(response: Any, elapsed: float) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "service_unavailable"
    assert int(response.headers["retry-after"]) >= 1
    # about a second when the machine is quiet; the bound leaves room for a busy CI box while
    # still failing a wait on the pool (30 s before) or on a connect timeout
    assert elapsed < 3.0, f"took {elapsed:.2f}s"


def _timed(call: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    start = time.monotonic()
    response = call(*args, **kwargs)
    return response, time.monotonic() - start


def _use_engine(monkeypatch: pytest.MonkeyPatch, engine: Any) -> None:
    monkeypatch.setattr(db_module, "_engine", engine)
    monkeypatch.setattr(db_module, "_session_factory", sessionmaker(engine, expire_on_commit=False))


@pytest.fixture
def redis_server(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisServer]:
    from app.feed import sessions

    server = RedisServer()
    server.start()
    monkeypatch.setattr(settings, "redis_url", server.url)
    sessions.reset_store()
    try:
        yield server
    finally:
        server.close()
        sessions.reset_store()


def test_redis_down_feed_and_readiness_answer_503_then_recover(client, redis_server):
    assert client.get("/v1/feed").status_code == 200
    assert client.get("/readyz").json()["checks"]["redis"] == "ok"

    redis_server.stop()
    response, elapsed = _timed(client.get, "/v1/feed")
    _assert_unavailable(response, elapsed)
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["redis"] == "unreachable"

    redis_server.start()
    assert client.get("/v1/feed").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "storage": "ok", "redis": "ok"}


def test_unopenable_database_answers_503_not_500(client, make_user, monkeypatch, tmp_path):
    _, headers = make_user("viewer")
    broken = db_module.make_engine(f"sqlite:///{tmp_path / 'missing' / 'folder' / 'db.sqlite'}")
    _use_engine(monkeypatch, broken)
    for method, path in (("GET", "/v1/interests"), ("GET", "/v1/me"), ("POST", "/v1/auth/guest")):
        response, elapsed = _timed(client.request, method, path, headers=headers)
        _assert_unavailable(response, elapsed)
    assert client.get("/readyz").json()["checks"]["database"] == "unreachable"


def test_exhausted_pool_is_refused_fast_with_503(client, make_user, monkeypatch, database_url):
    _, headers = make_user("viewer")
    kwargs: dict[str, Any] = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 0.3}
    if database_url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False}
    small = create_engine(database_url, **kwargs)
    _use_engine(monkeypatch, small)
    held = small.connect()  # the only connection, taken
    try:
        response, elapsed = _timed(client.get, "/v1/me", headers=headers)
        _assert_unavailable(response, elapsed)
    finally:
        held.close()
    assert client.get("/v1/me", headers=headers).status_code == 200
    small.dispose()


@pytest.mark.postgres
def test_database_cut_answers_503_within_a_second_and_recovers(client, make_user, monkeypatch, database_url):
    _, headers = make_user("viewer")
    url = make_url(database_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    proxy.start()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    engine = db_module.make_engine(proxied)
    _use_engine(monkeypatch, engine)
    try:
        assert client.get("/v1/me", headers=headers).status_code == 200
        proxy.stop()
        for method, path in (("GET", "/v1/me"), ("GET", "/v1/interests"), ("POST", "/v1/auth/guest")):
            response, elapsed = _timed(client.request, method, path, headers=headers)
            _assert_unavailable(response, elapsed)
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["database"] == "unreachable"

        proxy.start()
        assert client.get("/v1/me", headers=headers).status_code == 200
        assert client.get("/readyz").status_code == 200
    finally:
        proxy.stop()
        engine.dispose()
