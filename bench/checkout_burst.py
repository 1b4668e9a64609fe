"""A burst of simultaneous checkouts right after a server start: served or refused fast, never 500.

    python -m bench.checkout_burst [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
                                   [--burst 200] [--workers 2]

Creates a throwaway database on that server, starts ``clipshop serve``-like uvicorn with
``--workers`` processes, seeds one merchant SKU and ``--burst`` guest buyers through the API,
restarts the server (cold pools), then sends ``--burst`` checkouts at once. Prints the answers by
status and the latency percentiles; baseline: the same burst of ``GET /healthz`` (no database) in
the same run. The goal: no 500, every answer within a few seconds (503 with Retry-After when the
pool is exhausted).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(env: dict[str, str], port: int, workers: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), "--log-level", "warning"],
        cwd=PROJECT_ROOT, env=env, start_new_session=True, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    stop(server)
    raise SystemExit("the server did not start")


def stop(server: subprocess.Popen[bytes]) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)


async def burst(api: str, requests: list[tuple[str, str, dict[str, str], object]]) -> list[tuple[int, float]]:
    limits = httpx.Limits(max_connections=len(requests), max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=api, timeout=120, limits=limits) as client:

        async def one(method: str, path: str, headers: dict[str, str], body: object) -> tuple[int, float]:
            started = time.perf_counter()
            response = await client.request(method, path, headers=headers, json=body)
            return response.status_code, time.perf_counter() - started

        return await asyncio.gather(*(one(*r) for r in requests))


def report(label: str, results: list[tuple[int, float]]) -> None:
    times = sorted(t for _, t in results)
    p = lambda q: times[min(len(times) - 1, int(q * len(times)))]  # noqa: E731
    counts = dict(sorted(Counter(status for status, _ in results).items()))
    print(f"{label:<22} {counts!s:<34} p50 {p(0.5):6.2f}s  p99 {p(0.99):6.2f}s  max {times[-1]:6.2f}s  "
          f"mean {statistics.mean(times):6.2f}s")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    admin_url = make_url(args.database_url)
    name = f"clipshop_burst_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    root = Path(tempfile.mkdtemp(prefix="clipshop-burst-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIPSHOP_")}
    env.update(
        {
            "CLIPSHOP_DATABASE_URL": admin_url.set(database=name).render_as_string(hide_password=False),
            "CLIPSHOP_AUTO_MIGRATE": "false",
            "CLIPSHOP_MEDIA_ROOT": str(root / "media"),
            "CLIPSHOP_SECRET_KEY": "burst-secret-key-that-is-long-enough-0123456789",
            "CLIPSHOP_LOG_LEVEL": "WARNING",
            # the bench signs its buyers up from one address: the per-address sign-up limit
            # (20 an hour) would refuse all but the first 20
            "CLIPSHOP_RATE_LIMITS": json.dumps({"signup:ip": f"{10 * args.burst}/3600"}),
        }
    )
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    try:
        subprocess.run([sys.executable, "-m", "app", "migrate"], cwd=PROJECT_ROOT, env=env, check=True,
                       capture_output=True)  # fmt: skip
        server = start(env, port, args.workers)
        with httpx.Client(base_url=api, timeout=60) as client:
            merchant = client.post(
                "/v1/auth/signup",
                json={"email": "burst@example.com", "password": "burst-password", "role": "merchant",
                      "organisation_name": "Burst"},
            ).json()["access_token"]  # fmt: skip
            product = client.post(
                "/v1/merchant/products",
                headers={"Authorization": f"Bearer {merchant}"},
                json={"title": "Hot item", "skus": [{"sku": "HOT-1", "price_minor": 1000, "currency": "EUR",
                                                     "quantity": args.burst // 2}]},
            ).json()  # fmt: skip
            sku = product["skus"][0]["id"]
            buyers = []
            for _ in range(args.burst):
                guest = client.post("/v1/auth/guest")
                guest.raise_for_status()
                buyers.append(guest.json()["access_token"])
        stop(server)
        server = start(env, port, args.workers)  # cold pools, as right after a deploy
        try:
            health = asyncio.run(burst(api, [("GET", "/healthz", {}, None)] * args.burst))
            checkouts = asyncio.run(
                burst(
                    api,
                    [
                        ("POST", "/v1/checkout",
                         {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex},
                         {"lines": [{"sku_id": sku, "quantity": 1}]})
                        for token in buyers
                    ],
                )
            )  # fmt: skip
        finally:
            stop(server)
        print(f"{args.burst} simultaneous requests, {args.workers} API processes, PostgreSQL, cold start")
        report("baseline GET /healthz", health)
        report("POST /v1/checkout", checkouts)
        served = sum(1 for status, _ in checkouts if status in (200, 201, 409))
        errors = sum(1 for status, _ in checkouts if status >= 500 and status != 503)
        print(f"served (201, or 409 sold out): {served}; 503: {sum(s == 503 for s, _ in checkouts)}; 5xx other: {errors}")
        return 1 if errors else 0
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
