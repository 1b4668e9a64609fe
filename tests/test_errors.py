"""Every failure is application/problem+json with a stable code."""

from __future__ import annotations

PROBLEM = "application/problem+json"


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"/problems/{code}"
    assert body["title"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def test_validation_error_lists_each_bad_field(client):
    response = client.post(
        "/v1/auth/signup", json={"email": "not-an-email", "password": "short", "role": "pirate"}
    )
    body = assert_problem(response, 422, "validation_error")
    fields = {error["field"] for error in body["errors"]}
    assert {"body.email", "body.password", "body.role"} <= fields
    assert all(error["message"] and error["type"] for error in body["errors"])


def test_unknown_route_is_404_problem(client):
    body = assert_problem(client.get("/v1/nothing-here"), 404, "not_found")
    assert body["instance"] == "/v1/nothing-here"


def test_wrong_method_is_405_problem(client):
    response = client.delete("/v1/auth/signup")
    assert_problem(response, 405, "method_not_allowed")
    assert "POST" in response.headers["allow"]


def test_malformed_json_is_400_problem(client):
    response = client.post(
        "/v1/auth/signup", content=b'{"email": "a@b.c", ', headers={"content-type": "application/json"}
    )
    assert_problem(response, 400, "malformed_json")


def test_oversized_body_is_413_problem(client, settings):
    big = b'{"email": "' + b"a" * (settings.max_body_bytes + 10) + b'"}'
    response = client.post("/v1/auth/signup", content=big, headers={"content-type": "application/json"})
    assert_problem(response, 413, "payload_too_large")


def test_oversized_chunked_body_is_413_problem(client, settings):
    def chunks():
        for _ in range(settings.max_body_bytes // 65536 + 2):
            yield b"x" * 65536

    response = client.post("/v1/auth/signup", content=chunks(), headers={"content-type": "application/json"})
    assert_problem(response, 413, "payload_too_large")


def test_unexpected_error_hides_internals(client, monkeypatch):
    from app.accounts import service

    def explode(*args, **kwargs):
        raise RuntimeError("SELECT secret FROM internals")

    monkeypatch.setattr(service, "create_guest", explode)
    response = client.post("/v1/auth/guest")
    body = assert_problem(response, 500, "internal_error")
    assert "SELECT" not in response.text and "Traceback" not in response.text
    assert body["detail"] == "An unexpected error occurred"


def test_request_id_is_echoed_or_generated(client):
    response = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    generated = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces\x01"})
    assert generated.headers["x-request-id"] != "bad id with spaces\x01"
    assert len(generated.headers["x-request-id"]) == 16


def test_text_the_database_cannot_store_is_a_4xx(client, make_user):
    # PostgreSQL refuses NUL characters in text; SQLite stores them. Either way: never a 500.
    _, headers = make_user("viewer")
    response = client.patch("/v1/me", json={"display_name": "bad\u0000name"}, headers=headers)
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert response.json()["code"] == "invalid_value"


def test_constraint_race_is_a_409_not_a_500(client, monkeypatch):
    from app.accounts import service

    # Simulate losing a race: the pre-check sees no account, the insert hits the unique index.
    client.post("/v1/auth/signup", json={"email": "race@example.com", "password": "password-123"})
    monkeypatch.setattr(service, "get_user_by_email", lambda session, email: None)
    response = client.post("/v1/auth/signup", json={"email": "race@example.com", "password": "password-123"})
    assert response.status_code == 409 and response.json()["code"] == "conflict"
    assert "INSERT" not in response.text and "UNIQUE" not in response.text.upper()
