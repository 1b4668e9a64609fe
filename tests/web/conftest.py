"""Fixtures of the web client's tests: the client built once per run (into a temporary folder),
and for the end-to-end tests a real uvicorn server on loopback with the demo data, driven by
Debian's headless Chromium through Playwright.

A failed browser test saves a screenshot and the browser console in the folder its failure
prints (``CLIPSHOP_WEB_ARTIFACTS``, default a temporary folder)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PROJECT_ROOT, is_postgres_run

CHROMIUM = os.environ.get("CLIPSHOP_CHROMIUM", "/usr/bin/chromium")
WEB = PROJECT_ROOT / "web"


@pytest.fixture(scope="session")
def web_dist() -> Path:
    """The client built by the project's own build (npm ci when node_modules is missing)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("Node.js and npm are needed to build the web client (scripts/bootstrap.sh installs them)")
    out = Path(tempfile.mkdtemp(prefix="clipshop-web-")) / "dist"
    if not (WEB / "node_modules" / ".bin" / "esbuild").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=WEB, check=True, timeout=600)
    subprocess.run(
        ["node", "build.mjs"], cwd=WEB, check=True, timeout=300, env={**os.environ, "CLIPSHOP_WEB_OUT": str(out)},
        capture_output=True,
    )
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    def __init__(self, base_url: str, root: Path, env: dict[str, str]) -> None:
        self.base_url = base_url
        self.root = root
        self.env = env

    def token(self, email: str, password: str = "clipshop-demo") -> str:
        answer = httpx.post(f"{self.base_url}/v1/auth/token", data={"username": email, "password": password})
        answer.raise_for_status()
        return str(answer.json()["access_token"])


@pytest.fixture(scope="session")
def live_server(request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    """uvicorn on a free loopback port: development mode (demo payments on), its own SQLite file
    and media folder, in-process jobs, seeded with ``clipshop seed-demo``."""
    if is_postgres_run():
        pytest.skip("browser tests run in the SQLite pass only")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (scripts/bootstrap.sh --dev installs Debian's chromium)")
    web_dist: Path = request.getfixturevalue("web_dist")
    root = Path(tempfile.mkdtemp(prefix="clipshop-e2e-"))
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        key: value for key, value in os.environ.items() if not key.startswith("CLIPSHOP_")
    } | {
        "CLIPSHOP_ENVIRONMENT": "development",
        "CLIPSHOP_DATABASE_URL": f"sqlite:///{root / 'e2e.db'}",
        "CLIPSHOP_MEDIA_ROOT": str(root / "media"),
        "CLIPSHOP_PUBLIC_BASE_URL": base_url,
        "CLIPSHOP_WEB_DIST_DIR": str(web_dist),
        "CLIPSHOP_LOG_LEVEL": "WARNING",
        "CLIPSHOP_FEED_REFRESH_SECONDS": "0.2",
    }
    subprocess.run([sys.executable, "-m", "app", "migrate"], cwd=PROJECT_ROOT, env=env, check=True, capture_output=True, timeout=300)
    # the demo data is transcoded while the server starts (two processes, two cores)
    seed = subprocess.Popen(
        [sys.executable, "-m", "app", "seed-demo"], cwd=PROJECT_ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    log = open(root / "server.log", "wb")  # noqa: SIM115 - closed at teardown
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        seed_output, _ = seed.communicate(timeout=600)
        if seed.returncode != 0:
            raise RuntimeError(f"seed-demo failed: {seed_output.decode(errors='replace')[-2000:]}")
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start; see {root / 'server.log'}")
            time.sleep(0.3)
        yield LiveServer(base_url, root, env)
    finally:
        if seed.poll() is None:
            seed.kill()
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
def browser(live_server: LiveServer) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--autoplay-policy=no-user-gesture-required", "--disable-gpu", "--mute-audio"],
        )
        yield instance
        instance.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


def _artifacts_dir() -> Path:
    folder = Path(os.environ.get("CLIPSHOP_WEB_ARTIFACTS") or tempfile.gettempdir()) / "clipshop-web-artifacts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def page(browser: Any, live_server: LiveServer, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context (phone-sized; ``@pytest.mark.parametrize`` can't change it) whose
    console is recorded; on failure the screenshot and console are saved."""
    viewport = getattr(request, "param", None) or {"width": 390, "height": 844}
    context = browser.new_context(viewport=viewport, base_url=live_server.base_url, locale="en-GB")
    context.set_default_timeout(20_000)
    tab = context.new_page()
    console: list[str] = []
    tab.on("console", lambda message: console.append(f"[{message.type}] {message.text}"))
    tab.on("pageerror", lambda error: console.append(f"[pageerror] {error}"))
    tab.on("requestfailed", lambda req: console.append(f"[requestfailed] {req.method} {req.url} {req.failure}"))
    yield tab
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed:
        folder = _artifacts_dir()
        name = request.node.name.replace("/", "_").replace("[", "_").replace("]", "")
        shot = folder / f"{name}.png"
        try:
            tab.screenshot(path=str(shot), full_page=True)
        except Exception as exc:  # the page may be gone
            console.append(f"[screenshot failed] {exc}")
        (folder / f"{name}.console.txt").write_text("\n".join(console) + "\n")
        print(f"\nweb test artifacts: {shot} and {folder / (name + '.console.txt')}; server log: {live_server.root / 'server.log'}")
    context.close()


AXE = WEB / "node_modules" / "axe-core" / "axe.min.js"


def assert_accessible(tab: Any, what: str) -> None:
    """axe-core on the page as it is now: no serious or critical violation."""
    if not AXE.exists():
        pytest.fail("axe-core is missing: run `npm ci` in web/")
    if not tab.evaluate("() => typeof window.axe !== 'undefined'"):
        tab.add_script_tag(path=str(AXE))
    result = tab.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"
    )
    assert result == [], f"accessibility violations on {what}: {result}"
