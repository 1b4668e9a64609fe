"""The app served over real HTTP on loopback (uvicorn in a thread of the test process), so that
real players (ffmpeg/ffprobe) can follow the URLs the API hands out."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from app.config import get_settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def live_api(_app_client: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Base URL of the running app; URLs it issues point at it (``public_base_url``)."""
    import uvicorn

    from app.main import app

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the live server did not start"
        time.sleep(0.02)
    base = f"http://127.0.0.1:{port}"
    monkeypatch.setattr(get_settings(), "public_base_url", base)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)
