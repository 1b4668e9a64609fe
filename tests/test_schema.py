"""Property-based API testing against the app's own OpenAPI schema (schemathesis).

Every operation is called with generated inputs, anonymously and as a signed-in user of each
role: no response may be a 5xx, and every response must match the status codes, content types
and schemas the OpenAPI document declares.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from app.main import app
from tests.conftest import _empty_tables

# The same generated calls on both engines mostly repeat themselves; scripts/test.sh runs this
# module in its PostgreSQL pass (where input such as NUL bytes meets a stricter engine), and CI's
# scripts/api_fuzz.py covers a live server on SQLite.
pytestmark = pytest.mark.postgres_pass

schema = schemathesis.openapi.from_asgi("/openapi.json", app)
MAX_EXAMPLES = int(os.environ.get("CLIPSHOP_SCHEMATHESIS_EXAMPLES", "12"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def role_headers(database_url, _seed_max_interest_id):
    from fastapi.testclient import TestClient

    headers = {"anonymous": {}}
    with TestClient(app) as client:
        guest = client.post("/v1/auth/guest").json()
        headers["guest"] = {"Authorization": f"Bearer {guest['access_token']}"}
        for role, extra in (
            ("viewer", {}),
            ("creator", {"handle": "schema_creator"}),
            ("merchant", {"organisation_name": "Schema Shop"}),
        ):
            body = client.post(
                "/v1/auth/signup",
                json={
                    "email": f"schema-{role}@example.com",
                    "password": "password-123",
                    "role": role,
                    **extra,
                },
            ).json()
            headers[role] = {"Authorization": f"Bearer {body['access_token']}"}
    yield headers
    _empty_tables(_seed_max_interest_id)


@pytest.fixture(autouse=True)
def _isolated():
    # These tests share one set of accounts across examples: the tables are emptied once, when
    # the module is done (see ``role_headers``), not after each operation.
    yield


@schema.exclude(path="/v1/auth/logout").parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_schema(case, role_headers):
    for role in ("anonymous", "guest", "viewer", "creator", "merchant"):
        case.call_and_validate(headers=role_headers[role], checks=CHECKS)
