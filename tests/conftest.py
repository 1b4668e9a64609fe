"""Shared fixtures.

The suite runs on SQLite by default. With ``CLIPSHOP_TEST_DATABASE_URL`` pointing at a PostgreSQL
server, a throwaway database is created for the session (so parallel runs never share state),
built with ``alembic upgrade head`` and dropped at the end. Tables are emptied after every test;
the seeded interest taxonomy stays.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
_TMP = Path(tempfile.mkdtemp(prefix="clipshop-tests-"))
_PG_ADMIN_URL = os.environ.get("CLIPSHOP_TEST_DATABASE_URL")
_PG_DB_NAME = f"clipshop_test_{uuid.uuid4().hex[:10]}"


def _database_url() -> str:
    if _PG_ADMIN_URL:
        return make_url(_PG_ADMIN_URL).set(database=_PG_DB_NAME).render_as_string(hide_password=False)
    return f"sqlite:///{_TMP / 'test.db'}"


# Settings are read once, at import of the app: configure the environment before that.
os.environ.update(
    {
        "CLIPSHOP_ENVIRONMENT": "test",
        "CLIPSHOP_DATABASE_URL": _database_url(),
        "CLIPSHOP_MEDIA_ROOT": str(_TMP / "media"),
        "CLIPSHOP_SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "CLIPSHOP_AUTO_MIGRATE": "false",
        "CLIPSHOP_LOG_LEVEL": "WARNING",
        "CLIPSHOP_PUBLIC_BASE_URL": "http://testserver",
    }
)
os.environ.pop("CLIPSHOP_REDIS_URL", None)


# scripts/test.sh sets this on its SQLite pass when a PostgreSQL pass follows
_POSTGRES_PASS_FOLLOWS = os.environ.get("CLIPSHOP_TEST_POSTGRES_PASS_FOLLOWS") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _PG_ADMIN_URL:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set CLIPSHOP_TEST_DATABASE_URL)")
    once = pytest.mark.skip(reason="runs once, in the PostgreSQL pass that follows")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)
        elif _POSTGRES_PASS_FOLLOWS and "postgres_pass" in item.keywords:
            item.add_marker(once)


def is_postgres_run() -> bool:
    return bool(_PG_ADMIN_URL)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    url = _database_url()
    admin_engine = None
    if _PG_ADMIN_URL:
        admin_engine = create_engine(_PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin_engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{_PG_DB_NAME}"'))
    from app.cli import run_migrations

    run_migrations("head", url=url)
    yield url
    from app import jobs
    from app.db import reset_engine

    jobs.stop_inprocess_worker()  # its threads poll the database that is about to go
    jobs.relay.stop()

    reset_engine()
    if admin_engine is not None:
        with admin_engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{_PG_DB_NAME}" WITH (FORCE)'))
        admin_engine.dispose()
    shutil.rmtree(_TMP, ignore_errors=True)


@pytest.fixture(scope="session")
def _seed_max_interest_id(database_url: str) -> int:
    from app.db import get_engine

    with get_engine().connect() as conn:
        return int(conn.execute(text("SELECT max(id) FROM interest")).scalar() or 0)


def _empty_tables(seed_max_interest_id: int) -> None:
    from app.db import Base, get_engine
    from app.registry import import_all_models

    import_all_models()
    engine = get_engine()
    keep = {"interest"}
    tables = [t for t in Base.metadata.sorted_tables if t.name not in keep]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            if names:
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(tables):
                conn.execute(table.delete())
        conn.execute(text("DELETE FROM interest WHERE id > :seed"), {"seed": seed_max_interest_id})
        conn.execute(text("UPDATE interest SET is_active = :yes"), {"yes": True})


@pytest.fixture(autouse=True)
def _isolated(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "database_url" in request.fixturenames:
        _empty_tables(request.getfixturevalue("_seed_max_interest_id"))
        media = Path(os.environ["CLIPSHOP_MEDIA_ROOT"])
        if media.exists():
            shutil.rmtree(media, ignore_errors=True)


@pytest.fixture(scope="session")
def settings(database_url: str) -> Any:
    from app.config import get_settings

    return get_settings()


@pytest.fixture(scope="session")
def _app_client(database_url: str) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from app.main import app

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def client(_app_client: Any, _seed_max_interest_id: int) -> Any:
    _app_client.cookies.clear()
    _app_client.headers.pop("Authorization", None)
    return _app_client


@pytest.fixture
def db(database_url: str) -> Iterator[Any]:
    from app.db import new_session

    session = new_session()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


def auth_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def make_user(client: Any) -> Callable[..., tuple[dict[str, Any], dict[str, str]]]:
    """Sign a user up through the API: ``make_user("creator")`` -> (user json, auth headers)."""
    counter = {"n": 0}

    def factory(role: str = "viewer", **fields: Any) -> tuple[dict[str, Any], dict[str, str]]:
        counter["n"] += 1
        suffix = uuid.uuid4().hex[:8]
        if role == "admin":
            from app.accounts import service
            from app.db import session_scope

            email = fields.get("email", f"admin-{suffix}@example.com")
            with session_scope() as session:
                service.create_admin(session, email, "admin-password-1")
            response = client.post("/v1/auth/token", data={"username": email, "password": "admin-password-1"})
            assert response.status_code == 200, response.text
            body = response.json()
            return body["user"], auth_headers(body["access_token"])
        payload: dict[str, Any] = {
            "email": f"{role}-{suffix}@example.com",
            "password": "password-123",
            "role": role,
        }
        if role == "creator":
            payload["handle"] = f"creator_{suffix}"
        if role == "merchant":
            payload["organisation_name"] = f"Shop {suffix}"
        if role == "guest":
            response = client.post("/v1/auth/guest")
        else:
            payload.update(fields)
            response = client.post("/v1/auth/signup", json=payload)
        assert response.status_code == 201, response.text
        body = response.json()
        return body["user"], auth_headers(body["access_token"])

    return factory


def shared_data(*parts: str) -> Path:
    """A file from the third-party test material beside the project; skips when absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"test material not available: shared/data/{'/'.join(parts)}")
    return path
