"""`clipshop storage init|check` and the storage check of `clipshop migrate`: the bucket is
created or checked, and wrong endpoints or credentials end with a sentence, not a traceback."""

from __future__ import annotations

import socket
import uuid
from typing import Any

import pytest
from botocore.stub import Stubber

from app.cli import main
from app.config import get_settings
from app.storage.s3 import S3Settings, S3Storage, StorageSetupError


@pytest.fixture
def s3_env(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    settings = get_settings()
    for name, value in {
        "storage_backend": "s3",
        "s3_endpoint_url": s3_endpoint,
        "s3_bucket": f"init-{uuid.uuid4().hex[:10]}",
        "s3_access_key_id": "testing",
        "s3_secret_access_key": "testing",
        "s3_addressing_style": "path",
    }.items():
        monkeypatch.setattr(settings, name, value)
    return settings


def test_storage_init_creates_then_check_passes(s3_env: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["storage", "check"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["storage", "init"]) == 0
    assert "created" in capsys.readouterr().out
    assert main(["storage", "check"]) == 0
    assert "exists" in capsys.readouterr().out
    assert main(["migrate"]) == 0  # migrations, then the bucket is checked
    assert "exists" in capsys.readouterr().out


def test_storage_init_with_a_wrong_endpoint_says_so(
    s3_env: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setattr(s3_env, "s3_endpoint_url", f"http://127.0.0.1:{port}")
    assert main(["storage", "init"]) == 2
    err = capsys.readouterr().err
    assert "CLIPSHOP_S3_ENDPOINT_URL" in err and "Traceback" not in err
    assert main(["migrate"]) == 2
    assert "storage init" in capsys.readouterr().err


def test_wrong_credentials_are_named(s3_endpoint: str) -> None:
    storage = S3Storage(
        S3Settings(bucket="b", endpoint_url=s3_endpoint, access_key_id="x", secret_access_key="y")
    )
    with Stubber(storage.client) as stub:
        stub.add_client_error("head_bucket", service_error_code="403", http_status_code=403)
        with pytest.raises(StorageSetupError, match="CLIPSHOP_S3_ACCESS_KEY_ID"):
            storage.init_bucket()
