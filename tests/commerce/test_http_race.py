"""The whole stack under a race: a real uvicorn server, concurrent buyers over HTTP.

PostgreSQL only: on SQLite every request holds the single write lock for its whole transaction,
so 80 simultaneous requests queue for connections; the SQLite race runs at service level in
``test_concurrency.py``."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.catalog.factories import one_sku
from tests.commerce.helpers import on_hand

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def server(database_url: str) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    env = {**os.environ, "CLIPSHOP_DATABASE_URL": database_url, "CLIPSHOP_AUTO_MIGRATE": "false"}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{base}/healthz", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.postgres
def test_concurrent_buyers_over_http_never_oversell(client, make_user, server):
    _, merchant = make_user("merchant")
    sku = one_sku(client, merchant, quantity=8)
    buyers = 40

    async def race() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server, timeout=120) as http:
            tokens = [(await http.post("/v1/auth/guest")).json()["access_token"] for _ in range(buyers)]

            async def buy(token: str, key: str) -> httpx.Response:
                return await http.post(
                    "/v1/checkout",
                    json={"lines": [{"sku_id": sku["id"], "quantity": 1}]},
                    headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
                )

            # Every buyer sends its request twice at once (a client retry): still one order each.
            keys = [uuid.uuid4().hex for _ in range(buyers)]
            return await asyncio.gather(
                *[buy(tokens[i % buyers], keys[i % buyers]) for i in range(buyers * 2)]
            )

    responses = asyncio.run(race())
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 201, 409}, [
        r.text for r in responses if r.status_code not in (200, 201, 409)
    ]
    orders = {r.json()["id"] for r in responses if r.status_code in (200, 201)}
    assert len(orders) == 8
    assert all(r.json()["code"] == "insufficient_stock" for r in responses if r.status_code == 409)
    assert on_hand(client, merchant, sku["id"]) == (8, 8)
    assert client.get(f"/v1/skus/{sku['id']}").json()["availability"] == "out_of_stock"
