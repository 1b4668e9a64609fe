"""Schemathesis over the whole API, as anonymous and as each role, with every check.

Starts a live server (uvicorn, loopback, a throwaway SQLite database and media folder), signs up a
guest, a viewer, a creator, a merchant and an admin, and runs ``schemathesis run`` once per caller.
Exits non-zero on any server error or failed check. ``--max-examples`` keeps the run short.

    .venv/bin/python scripts/api_fuzz.py [--max-examples 8] [--roles anonymous,viewer]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ROLES = ("anonymous", "guest", "viewer", "creator", "merchant", "admin")
PASSWORD = "fuzz-password-123"
CONFIG = PROJECT_ROOT / "scripts" / "schemathesis.toml"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIPSHOP_")}
    env.update(
        {
            "CLIPSHOP_ENVIRONMENT": "test",
            "CLIPSHOP_DATABASE_URL": f"sqlite:///{root / 'fuzz.db'}",
            "CLIPSHOP_MEDIA_ROOT": str(root / "media"),
            "CLIPSHOP_SECRET_KEY": "fuzz-secret-key-that-is-long-enough-0123456789",
            "CLIPSHOP_AUTO_MIGRATE": "true",
            "CLIPSHOP_LOG_LEVEL": "ERROR",
        }
    )
    return env


def tokens(api: str, env: dict[str, str]) -> dict[str, str]:
    found: dict[str, str] = {}
    with httpx.Client(base_url=api, timeout=30) as client:
        found["guest"] = client.post("/v1/auth/guest").json()["access_token"]
        suffix = uuid.uuid4().hex[:8]
        bodies = {
            "viewer": {"role": "viewer"},
            "creator": {"role": "creator", "handle": f"fuzz_{suffix}"},
            "merchant": {"role": "merchant", "organisation_name": f"Fuzz {suffix}"},
        }
        for role, extra in bodies.items():
            response = client.post(
                "/v1/auth/signup", json={"email": f"{role}-{suffix}@example.com", "password": PASSWORD, **extra}
            )
            response.raise_for_status()
            found[role] = response.json()["access_token"]
        admin_email = f"admin-{suffix}@example.com"
        subprocess.run(
            [sys.executable, "-m", "app", "create-admin", admin_email, "--password", PASSWORD],
            cwd=PROJECT_ROOT, env=env, check=True, capture_output=True,
        )  # fmt: skip
        response = client.post("/v1/auth/token", data={"username": admin_email, "password": PASSWORD})
        response.raise_for_status()
        found["admin"] = response.json()["access_token"]
    return found


def opaque_value_rules(schema: dict[str, object]) -> str:
    """Per-operation rules for values a fuzzer cannot make up, derived from the schema so that new
    routes are covered: a made-up `cursor` of any cursor-paged list is refused (400
    invalid_cursor, 410 cursor_expired), and so is an unsigned request to a route whose access
    rule is a signature (400 invalid_signature, 503 while no secret is configured)."""
    configured = set(re.findall(r'^include-name = "([^"]+)"', CONFIG.read_text(), re.MULTILINE))
    rules = []
    for path, item in (schema.get("paths") or {}).items():  # type: ignore[union-attr]
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            name = f"{method.upper()} {path}"
            if name in configured:
                continue
            cursor = any(p.get("name") == "cursor" and p.get("in") == "query" for p in operation.get("parameters", []))
            signed = str(operation.get("x-access", "")).startswith("webhook_signature")
            if cursor or signed:
                extra = '"400", "410"' if cursor else '"400", "503"'
                rules.append(
                    f'\n[[operations]]\ninclude-name = "{name}"\n'
                    f'checks.positive_data_acceptance.expected-statuses = '
                    f'["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx", {extra}]\n'
                )
    return "".join(rules)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-examples", type=int, default=2, help="test cases per operation and phase")
    parser.add_argument("--roles", default=",".join(ROLES))
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--phases",
        default="examples,fuzzing",
        help="schemathesis phases (coverage: boundary and invalid values of every parameter)",
    )
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="clipshop-fuzz-"))
    env = environment(root)
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning"],
        cwd=PROJECT_ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    failed: list[str] = []
    try:
        deadline = time.monotonic() + 600
        while True:
            try:
                if httpx.get(f"{api}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                print("the server did not start", file=sys.stderr)
                return 1
            time.sleep(0.3)
        schema = httpx.get(f"{api}/openapi.json", timeout=300)  # built once, then cached
        schema.raise_for_status()
        config = root / "schemathesis.toml"
        config.write_text(CONFIG.read_text() + opaque_value_rules(schema.json()))
        found = tokens(api, env)
        for role in args.roles.split(","):
            command = [
                # this interpreter's schemathesis (the console script's shebang may point elsewhere)
                sys.executable, "-c", "from schemathesis.cli import schemathesis; schemathesis()",
                "--config-file", str(config),
                "run", f"{api}/openapi.json", "--checks", "all", "--max-examples", str(args.max_examples),
                "--phases", args.phases, "--workers", "1", "--no-shrink",
                "--request-timeout", "30", "--generation-database", "none", "--wait-for-schema", "120",
            ]  # fmt: skip
            if args.seed is not None:
                command += ["--seed", str(args.seed)]
            if role != "anonymous":
                command += ["-H", f"Authorization: Bearer {found[role]}"]
                # signing this caller out (or upgrading the guest, which signs the guest token
                # out) would leave the rest of its run anonymous; the anonymous run covers them
                command += ["--exclude-path", "/v1/auth/logout", "--exclude-path", "/v1/auth/signup"]
            print(f"==> schemathesis as {role}", flush=True)
            started = time.monotonic()
            result = subprocess.run(command, cwd=root, env={**env, "NO_COLOR": "1"})
            print(f"==> {role}: exit {result.returncode} in {time.monotonic() - started:.0f}s", flush=True)
            if result.returncode != 0:
                failed.append(role)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        shutil.rmtree(root, ignore_errors=True)
    if failed:
        print(f"schemathesis failed as: {', '.join(failed)}", file=sys.stderr)
        return 1
    print("schemathesis: no server errors and no failed checks for any caller")
    return 0


if __name__ == "__main__":
    sys.exit(main())
