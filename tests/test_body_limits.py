"""Limits before reading: routes that take large bodies authenticate the caller and check the
declared size before a byte of the body is read; per-route limits match the documented ones."""

from __future__ import annotations

import asyncio
import io
import os
import uuid
from typing import Any

import pytest
from PIL import Image

from app.main import app

GIB = 1024**3


def _large_body_routes() -> list[tuple[str, str]]:
    some = uuid.uuid4()
    return [
        ("PUT", f"/v1/uploads/{some}/content"),
        ("POST", f"/v1/uploads/{some}/complete"),
        ("PUT", "/v1/me/avatar"),
        ("POST", f"/v1/merchant/catalog/products/{some}/images"),
        ("POST", "/v1/merchant/catalog/imports"),
    ]


def asgi_call(
    method: str, path: str, headers: dict[str, str], chunks: int = 64, chunk_size: int = 1 << 20
) -> tuple[int, dict[str, str], bytes, int]:
    """Drives the real application with a body that is produced only when the app asks for it;
    returns (status, headers, body, chunks the app read)."""
    read = 0
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal read
        if read >= chunks:
            await asyncio.sleep(3600)  # the client would still be sending: the app must not wait
        read += 1
        return {"type": "http.request", "body": b"x" * chunk_size, "more_body": read < chunks}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 5555),
        "server": ("testserver", 80),
        "state": {},
    }

    async def run() -> None:
        await asyncio.wait_for(app(scope, receive, send), timeout=30)

    asyncio.run(run())
    start = next(m for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    response_headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], response_headers, body, read


@pytest.mark.parametrize("method,path", _large_body_routes())
@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token"])
def test_anonymous_large_body_is_refused_before_reading(client, method, path, authorization):
    headers = {"content-length": str(GIB), "content-type": "multipart/form-data; boundary=x"}
    if authorization:
        headers["authorization"] = authorization
    status, response_headers, body, read = asgi_call(method, path, headers)
    assert status == 401, body
    assert read == 0  # not one byte of the gigabyte was read
    assert response_headers["content-type"] == "application/problem+json"
    assert response_headers.get("connection") == "close"


@pytest.mark.parametrize("method,path", _large_body_routes())
def test_chunked_anonymous_body_is_refused_before_reading(client, method, path):
    status, _, _, read = asgi_call(method, path, {"transfer-encoding": "chunked"})
    assert status == 401 and read == 0


def test_declared_size_over_the_route_limit_is_413_before_reading(client, make_user):
    _, headers = make_user("merchant")
    token = headers["Authorization"]
    fifty_mb = 50 * 1000 * 1000
    status, _, body, read = asgi_call(
        "POST",
        "/v1/merchant/catalog/imports",
        {"authorization": token, "content-length": str(fifty_mb), "content-type": "multipart/form-data; boundary=x"},
    )
    assert status == 413 and read == 0, body
    assert b'"payload_too_large"' in body


def test_import_file_over_its_limit_is_413(client, make_user, settings, monkeypatch):
    # within the multipart envelope, but the file itself is one byte over: 413, as documented
    monkeypatch.setattr(settings, "catalog_import_max_bytes", 1000)
    _, headers = make_user("merchant")
    response = client.post(
        "/v1/merchant/catalog/imports",
        files={"file": ("big.csv", b"h" * 1001, "text/csv")},
        headers=headers,
    )
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "import_too_large"


def _noisy_jpeg(min_bytes: int) -> bytes:
    side = 1200
    while True:
        image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=95)
        if out.tell() >= min_bytes:
            return out.getvalue()
        side += 200


def test_avatar_above_the_global_limit_but_within_its_own_is_accepted(client, make_user, settings):
    data = _noisy_jpeg(int(1.2 * 1024 * 1024))
    assert settings.max_body_bytes < len(data) < settings.avatar_max_bytes
    _, headers = make_user("creator")
    response = client.put("/v1/me/avatar", files={"file": ("me.jpg", data, "image/jpeg")}, headers=headers)
    assert response.status_code == 200, response.text


def test_ordinary_routes_keep_the_global_limit(client, make_user):
    _, headers = make_user("merchant")
    status, _, body, read = asgi_call(
        "POST",
        "/v1/merchant/products",
        {"authorization": headers["Authorization"], "content-length": str(2 * 1024 * 1024)},
    )
    assert status == 413 and read == 0, body
