"""A real S3-protocol server on loopback (moto's threaded server), one per test session."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from app.storage.s3 import S3Settings, S3Storage


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def make_s3_storage(endpoint: str, **overrides: Any) -> S3Storage:
    options: dict[str, Any] = {
        "bucket": f"test-{uuid.uuid4().hex[:12]}",
        "endpoint_url": endpoint,
        "region": "us-east-1",
        "access_key_id": "testing",
        "secret_access_key": "testing",
        "addressing_style": "path",
        "connect_timeout": 2,
        "read_timeout": 10,
        "max_attempts": 2,
    }
    options.update(overrides)
    storage = S3Storage(S3Settings(**options))
    storage.ensure_bucket()
    return storage


@pytest.fixture
def s3_storage(s3_endpoint: str) -> S3Storage:
    """A fresh bucket on the loopback S3 server."""
    return make_s3_storage(s3_endpoint)
