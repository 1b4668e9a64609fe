from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError

from app.config import PLACEHOLDER_SECRET, Settings


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_ok(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "storage": "ok"}


def test_readyz_reports_a_down_database(client, monkeypatch):
    import app.main as main_module
    from app.db import make_engine

    # An engine pointing at a server that is not there.
    dead = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")
    monkeypatch.setattr(main_module, "get_engine", lambda: dead)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "unreachable"
    assert response.json()["status"] == "unavailable"
    # The process itself is still alive.
    assert client.get("/healthz").status_code == 200


def test_metrics_count_requests_per_route(client):
    client.get("/v1/creators/nobody-here")
    text = client.get("/metrics").text
    assert 'clipshop_http_requests_total{method="GET",route="/v1/creators/{handle}",status="404"}' in text
    assert "clipshop_http_request_duration_seconds_bucket" in text


def test_production_refuses_placeholder_secret():
    with pytest.raises(ValidationError, match="CLIPSHOP_SECRET_KEY"):
        Settings(environment="production", secret_key=PLACEHOLDER_SECRET)
    with pytest.raises(ValidationError):
        Settings(environment="production", secret_key="short")
    ok = Settings(environment="production", secret_key="x" * 40, database_url="postgresql+psycopg://db/x")
    assert ok.should_auto_migrate is False


def test_embedded_default_needs_no_configuration(monkeypatch):
    import os

    for name in [n for n in os.environ if n.startswith("CLIPSHOP_")]:
        monkeypatch.delenv(name)
    settings = Settings(_env_file=None)
    assert settings.is_sqlite and settings.should_auto_migrate
    assert settings.redis_url is None


def test_cors_origins_from_comma_separated_env(monkeypatch):
    monkeypatch.setenv("CLIPSHOP_CORS_ORIGINS", "https://a.example, https://b.example")
    assert Settings().cors_origins == ["https://a.example", "https://b.example"]


def test_cli_help_lists_commands():
    out = subprocess.run(
        [sys.executable, "-m", "app", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for command in ("serve", "migrate", "create-admin", "seed-demo", "worker"):
        assert command in out


def test_openapi_documents_problem_errors(client):
    schema = client.get("/openapi.json").json()
    assert "Problem" in schema["components"]["schemas"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    signup = schema["paths"]["/v1/auth/signup"]["post"]
    assert "application/problem+json" in signup["responses"]["422"]["content"]
    assert "application/problem+json" in signup["responses"]["409"]["content"]
    assert client.get("/docs").status_code == 200


def test_json_logs_carry_the_request_id(client, caplog):
    import json
    import logging

    from app.observability import JsonFormatter

    with caplog.at_level(logging.INFO, logger="clipshop.access"):
        client.get("/healthz", headers={"X-Request-ID": "trace-me-42"})
    record = next(r for r in caplog.records if r.name == "clipshop.access")
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "trace-me-42"
    assert line["route"] == "/healthz" and line["status"] == 200 and line["level"] == "INFO"


def test_failing_after_commit_callback_does_not_undo_or_fail_the_request(client, monkeypatch, db):
    """The write is durable before callbacks run; a broken callback is logged, not a 500."""
    from sqlalchemy import select

    from app.accounts import service
    from app.accounts.models import User
    from app.db import on_commit

    real_create_guest = service.create_guest

    def create_guest_with_broken_callback(session):
        user = real_create_guest(session)

        def broken() -> None:
            raise ConnectionError("broker unreachable")

        on_commit(session, broken)
        return user

    monkeypatch.setattr(service, "create_guest", create_guest_with_broken_callback)
    response = client.post("/v1/auth/guest")
    assert response.status_code == 201
    user_id = response.json()["user"]["id"]
    assert db.scalar(select(User.id).where(User.is_guest.is_(True))) is not None
    assert str(db.scalar(select(User.id))) == user_id
