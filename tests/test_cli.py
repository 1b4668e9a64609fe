"""The operator commands and the embedded start-up, run as real processes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIPSHOP_")}
    env.update(
        {
            "CLIPSHOP_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
            "CLIPSHOP_MEDIA_ROOT": str(tmp_path / "media"),
            "CLIPSHOP_LOG_LEVEL": "WARNING",
        }
    )
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_migrate_create_admin_and_seed_demo(tmp_path):
    env = _env(tmp_path)
    assert _run(["migrate"], env).returncode == 0
    admin = _run(["create-admin", "ops@example.com", "--password", "s3cret-pass"], env)
    assert admin.returncode == 0 and "ops@example.com" in admin.stdout
    short = _run(["create-admin", "ops2@example.com", "--password", "short"], env)
    assert short.returncode == 2
    first = _run(["seed-demo"], env)
    assert first.returncode == 0, first.stderr
    assert "creator@demo.clipshop" in first.stdout
    again = _run(["seed-demo"], env)  # idempotent
    assert again.returncode == 0, again.stderr
    down = _run(["migrate", "--downgrade", "base"], env)
    assert down.returncode == 0, down.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_embedded_server_starts_with_no_configuration(tmp_path):
    """``uvicorn app.main:app`` on a fresh SQLite file migrates itself and serves /docs."""
    env = _env(tmp_path)
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        ready = None
        while time.monotonic() < deadline:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.3)
        assert ready is not None and ready.status_code == 200, ready
        guest = httpx.post(f"http://127.0.0.1:{port}/v1/auth/guest", timeout=5)
        assert guest.status_code == 201
        assert httpx.get(f"http://127.0.0.1:{port}/docs", timeout=5).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_create_admin_without_a_terminal_asks_for_password_instead_of_a_traceback(tmp_path):
    env = _env(tmp_path)
    assert _run(["migrate"], env).returncode == 0
    result = subprocess.run(
        [sys.executable, "-m", "app", "create-admin", "ops@example.com"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--password" in result.stderr and "Traceback" not in result.stderr


def test_library_warnings_are_json_log_lines(tmp_path):
    env = _env(tmp_path)
    env.pop("CLIPSHOP_SECRET_KEY", None)  # the short development placeholder: PyJWT warns about it
    env["CLIPSHOP_LOG_LEVEL"] = "INFO"
    code = (
        "import uuid, warnings; warnings.simplefilter('always'); from app.main import app; "
        "from app.accounts.security import create_access_token; "
        "create_access_token(uuid.uuid4(), 'viewer', uuid.uuid4())"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert any("InsecureKeyLength" in line or "HMAC key" in line for line in lines), lines
    for line in lines:
        json.loads(line)  # every line is a JSON object
