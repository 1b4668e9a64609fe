"""Production mode end to end, as an operator runs it: a private S3 bucket (moto server), its own
Redis, PostgreSQL, `clipshop serve --workers 2` and a separate `clipshop worker`.

Checks what only the whole setup shows: every HLS variant and segment plays (ffmpeg) from the
URLs the API hands out; feed URLs are still valid after the presigned lifetime has passed; a
cursor answered by a freshly started API process continues the session; multipart parts listed
out of order are assembled in order; and the bucket holds nothing that no clip, upload or import
accounts for. Skipped on SQLite-only runs (production mode is PostgreSQL)."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest

from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.postgres

PRESIGN_EXPIRY = 6  # seconds: short, so that the test can outlive it
PART = 5 * 1024 * 1024
HTTP = httpx.Client(timeout=60.0)  # generous: CI machines are shared


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except (httpx.HTTPError, OSError):
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    port = _free_port()
    process = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        import redis

        _wait_for(lambda: redis.Redis(port=port).ping(), 10, "redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(process)


class Stack:
    """The API (``serve --workers 2``) and a job worker, configured for production mode."""

    def __init__(self, env: dict[str, str], port: int, logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.api: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None

    def _spawn(self, *args: str) -> subprocess.Popen[bytes]:
        with (self.logs / f"{args[0]}.log").open("ab") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "app", *args],
                cwd=PROJECT_ROOT, env=self.env, start_new_session=True, stdout=log, stderr=log,
            )  # fmt: skip

    def log_tail(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in self.logs.glob("*.log")
        )

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app", *args], cwd=PROJECT_ROOT, env=self.env, capture_output=True,
            text=True, timeout=120,
        )  # fmt: skip

    def start_api(self) -> None:
        self.api = self._spawn("serve", "--workers", "2", "--port", str(self.port))

    def accepting(self) -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def ready(self) -> bool:
        # both processes share the socket: several answers in a row, most likely from both
        return all(HTTP.get(f"{self.base}/readyz", timeout=5).status_code == 200 for _ in range(6))

    def restart_api(self) -> None:
        assert self.api is not None
        _stop(self.api)
        _wait_for(lambda: not self.accepting(), 20, "the API to stop")
        self.start_api()

    def stop(self) -> None:
        for process in (self.api, self.worker):
            if process is not None:
                _stop(process)


@pytest.fixture
def stack(database_url: str, s3_endpoint: str, redis_url: str, tmp_path: Path) -> Iterator[Stack]:
    port = _free_port()
    env = {
        **os.environ,
        "CLIPSHOP_ENVIRONMENT": "production",
        "CLIPSHOP_DATABASE_URL": database_url,
        "CLIPSHOP_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "CLIPSHOP_REDIS_URL": redis_url,
        "CLIPSHOP_REDIS_NAMESPACE": f"prod-{uuid.uuid4().hex[:8]}",
        "CLIPSHOP_STORAGE_BACKEND": "s3",
        "CLIPSHOP_S3_ENDPOINT_URL": s3_endpoint,
        "CLIPSHOP_S3_BUCKET": f"prod-{uuid.uuid4().hex[:10]}",
        "CLIPSHOP_S3_ACCESS_KEY_ID": "testing",
        "CLIPSHOP_S3_SECRET_ACCESS_KEY": "testing",
        "CLIPSHOP_S3_ADDRESSING_STYLE": "path",
        "CLIPSHOP_PRESIGN_EXPIRY_SECONDS": str(PRESIGN_EXPIRY),
        "CLIPSHOP_MULTIPART_THRESHOLD_BYTES": str(PART),
        "CLIPSHOP_MULTIPART_PART_SIZE": str(PART),
        "CLIPSHOP_FEED_WARM_AT_STARTUP": "true",
        "CLIPSHOP_LOG_LEVEL": "WARNING",
    }
    stack = Stack(env, port, tmp_path)
    init = stack.run("storage", "init")
    assert init.returncode == 0 and "created" in init.stdout, init.stderr  # the documented first step
    stack.start_api()
    stack.worker = stack._spawn("worker", "--threads", "2")
    try:
        try:
            _wait_for(stack.ready, 300, "the API to report ready")
        except AssertionError:
            raise AssertionError(stack.log_tail()) from None
        yield stack
    finally:
        stack.stop()


def _filler_clips(creator_id: str, n: int) -> None:
    """Ready public clips without files, so that a feed session spans several pages."""
    from app.clips.models import Clip, ClipInterest, ClipStatus, Visibility
    from app.db import session_scope, utcnow
    from app.interests.models import Interest

    with session_scope() as session:
        interest = session.query(Interest).filter(Interest.slug == "tech.audio").one()
        for _ in range(n):
            clip_id = uuid.uuid4()
            prefix = f"clips/{clip_id}/"
            session.add(
                Clip(
                    id=clip_id, creator_id=uuid.UUID(creator_id), status=ClipStatus.ready,
                    visibility=Visibility.public, caption="filler", duration_ms=1000, storage_prefix=prefix,
                    ready_at=utcnow(), processing_progress=100, processing_attempts=1,
                )
            )  # fmt: skip
            session.flush()
            session.add(ClipInterest(clip_id=clip_id, interest_id=interest.id))


def _synth(path: Path) -> Path:
    """540x960 (two HLS rungs), lossless noise: big enough for a 5-part multipart upload."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=540x960:r=24:d=1,noise=alls=60:allf=t",
         "-f", "lavfi", "-i", "sine=f=440:d=1", "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0",
         "-c:a", "aac", "-shortest", str(path)],
        check=True,
    )  # fmt: skip
    return path


def _upload_multipart_out_of_order(api: str, headers: dict[str, str], data: bytes) -> dict[str, Any]:
    body = {"size": len(data), "content_type": "video/mp4", "checksum_sha256": hashlib.sha256(data).hexdigest(),
            "interests": ["tech.audio"]}  # fmt: skip
    upload = HTTP.post(f"{api}/v1/uploads", json=body, headers=headers).json()
    assert upload["mode"] == "multipart" and len(upload["parts"]) >= 3, upload
    parts = []
    for part in upload["parts"]:
        start = (part["part_number"] - 1) * upload["part_size"]
        response = HTTP.put(part["url"], content=data[start : start + part["size"]])
        assert response.status_code == 200
        parts.append({"part_number": part["part_number"], "etag": response.headers["ETag"]})
    parts = parts[1:][::-1] + parts[:1]  # out of order (and never in order by chance)
    done = HTTP.post(f"{api}/v1/uploads/{upload['id']}/complete", json={"parts": parts}, headers=headers)
    assert done.status_code == 200, done.text  # the checksum matched: parts assembled in order
    return upload


def _upload_streamed(api: str, headers: dict[str, str], data: bytes) -> dict[str, Any]:
    body = {"size": len(data), "content_type": "video/mp4", "visibility": "private"}
    upload = HTTP.post(f"{api}/v1/uploads", json=body, headers=headers).json()
    assert upload["mode"] == "multipart"  # declared big: a presigned multipart upload was opened
    response = HTTP.put(upload["content_url"], content=data, headers={**headers, "Content-Type": "video/mp4"})  # fmt: skip
    assert response.status_code == 204, response.text
    done = HTTP.post(f"{api}/v1/uploads/{upload['id']}/complete", headers=headers)
    assert done.status_code == 200, done.text
    return upload


def _ready(api: str, headers: dict[str, str], clip_id: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        clip = HTTP.get(f"{api}/v1/clips/{clip_id}", headers=headers).json()
        assert clip["status"] not in ("failed", "deleted"), clip
        # ``ready`` comes with the first rung; the whole ladder is there once playback is complete
        return clip if clip["status"] == "ready" and clip["playback_complete"] else None

    result: dict[str, Any] = _wait_for(check, 300, f"clip {clip_id} to be ready")
    return result


def _fresh(url: str, for_seconds: float = 1.0) -> None:
    """A presigned URL must still have ``for_seconds`` of life (moto does not enforce expiry)."""
    query = parse_qs(urlsplit(url).query)
    if "X-Amz-Date" not in query:
        return
    signed = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    expires = signed.timestamp() + int(query["X-Amz-Expires"][0])
    assert expires >= time.time() + for_seconds, f"expired presigned URL {url}"


def _get(url: str) -> httpx.Response:
    """GET as a player: redirects followed, every presigned hop checked to be alive."""
    response = HTTP.get(url)
    while response.status_code in (301, 302, 303, 307, 308):
        location = response.headers["location"]
        _fresh(location)
        response = HTTP.get(location)
    assert response.status_code == 200, (url, response.status_code, response.text[:200])
    return response


def _follow_hls(master_url: str, rungs: int) -> int:
    """Every variant playlist and every segment the master leads to; returns the segment count."""
    master = _get(master_url).text
    variants = [
        urljoin(master_url, line) for line in master.splitlines() if line and not line.startswith("#")
    ]
    assert len(variants) == rungs, master
    segments = 0
    for variant in variants:
        text = _get(variant).text
        for line in text.splitlines():
            if line and not line.startswith("#"):
                url = urljoin(variant, line)
                _fresh(url)
                _get(url)
                assert HTTP.get(url.split("?", 1)[0]).status_code == 403  # the bucket is private
                segments += 1
    return segments


def _plays(url: str) -> None:
    result = subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-i", url, "-map", "0", "-f", "null", "-"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def _bucket_is_accounted_for(env: dict[str, str]) -> None:
    from app.catalog.models import CatalogImport
    from app.clips.models import Clip, ClipStatus, UploadSession, UploadStatus
    from app.db import session_scope
    from app.storage.s3 import S3Settings, S3Storage

    storage = S3Storage(
        S3Settings(bucket=env["CLIPSHOP_S3_BUCKET"], endpoint_url=env["CLIPSHOP_S3_ENDPOINT_URL"],
                   access_key_id="testing", secret_access_key="testing", addressing_style="path")
    )  # fmt: skip
    with session_scope() as session:
        live_clips = {str(c.id) for c in session.query(Clip).filter(Clip.status != ClipStatus.deleted)}
        open_uploads = {
            u.multipart_upload_id
            for u in session.query(UploadSession).filter(UploadSession.status == UploadStatus.pending)
        }
        running_imports = {str(i.id) for i in session.query(CatalogImport) if i.finished_at is None}
    for key in storage.list_keys(""):
        folder, _, rest = key.partition("/")
        if folder == "clips":
            assert rest.split("/", 1)[0] in live_clips, f"orphaned object {key}"
        elif folder == "imports":
            assert rest.split("/")[1] in running_imports, f"import file left behind: {key}"
        else:
            raise AssertionError(f"object outside any known folder: {key}")
    for pending in storage.list_multipart_uploads(""):
        assert pending.upload_id in open_uploads, f"open multipart upload nobody accounts for: {pending.key}"


def test_production_mode_end_to_end(stack: Stack, make_user: Any, tmp_path: Path) -> None:
    import redis

    api = stack.base
    creator, creator_h = make_user("creator")
    viewer, viewer_h = make_user("viewer")
    _, merchant_h = make_user("merchant")
    _filler_clips(creator["id"], 24)
    data = _synth(tmp_path / "clip.mp4").read_bytes()
    assert len(data) > 3 * PART

    # Multipart upload completed with its parts listed out of order; a second one streamed
    # through the API (its presigned multipart upload must not stay open).
    public = _upload_multipart_out_of_order(api, creator_h, data)
    private = _upload_streamed(api, creator_h, data)
    csv = b"handle,title,sku,price,currency,quantity\ncap,Cap,CAP-1,5.00,EUR,2\n"
    job = HTTP.post(f"{api}/v1/merchant/catalog/imports", files={"file": ("c.csv", csv)}, headers=merchant_h)
    assert job.status_code == 202, job.text
    public_clip = _ready(api, creator_h, public["clip_id"])
    private_clip = _ready(api, creator_h, private["clip_id"])

    # Every variant and segment plays from the URLs the API hands out (public: stable URLs;
    # private: signed ones, issued to the creator only).
    assert _follow_hls(public_clip["playback"]["hls"], 2) >= 2
    _plays(public_clip["playback"]["hls"])
    _plays(public_clip["playback"]["mp4"])
    assert "token=" in private_clip["playback"]["hls"]
    assert _follow_hls(private_clip["playback"]["hls"], 2) >= 2
    _plays(private_clip["playback"]["hls"])
    assert HTTP.get(f"{api}/v1/clips/{private['clip_id']}", headers=viewer_h).status_code == 404
    assert HTTP.get(private_clip["playback"]["hls"].split("?", 1)[0]).status_code == 404

    # Feed URLs outlive the presigned lifetime (the per-clip cards are cached by each process,
    # which catches up with changed clips about once a second: the card of the completed clip).
    def complete_card() -> tuple[dict[str, Any], dict[str, Any]] | None:
        first = HTTP.get(f"{api}/v1/feed?limit=5", headers=viewer_h).json()
        cards = {item["clip"]["id"]: item["clip"] for item in first["items"]}
        page = first
        while public["clip_id"] not in cards and page["next_cursor"]:
            page = HTTP.get(f"{api}/v1/feed?limit=10&cursor={page['next_cursor']}", headers=viewer_h).json()
            cards.update({item["clip"]["id"]: item["clip"] for item in page["items"]})
        found = cards.get(public["clip_id"])
        return (found, first) if found and found["playback"]["mp4_url"] else None

    card, first = _wait_for(complete_card, 10, "the feed to serve the completed clip")
    time.sleep(PRESIGN_EXPIRY + 1)
    again = HTTP.get(f"{api}/v1/feed?limit=50", headers=viewer_h).json()  # a new session, cached cards
    cached = next(item["clip"] for item in again["items"] if item["clip"]["id"] == public["clip_id"])
    for clip in (card, cached):
        assert _get(clip["poster_url"]).content[:2] == b"\xff\xd8"
        _get(clip["playback"]["mp4_url"])
        assert _follow_hls(clip["playback"]["hls_url"], 2) >= 2
    _plays(cached["playback"]["hls_url"])

    # A cursor answered by freshly started API processes continues the session.
    from app.feed.sessions import decode_cursor

    session_id, offset = decode_cursor(first["next_cursor"], viewer["id"])
    store = redis.Redis.from_url(stack.env["CLIPSHOP_REDIS_URL"])
    from app.feed.sessions import FeedSession

    stored = FeedSession.loads(store.get(f"feed:session:{session_id}")).items
    assert len(stored) >= offset + 5
    stack.restart_api()
    _wait_for(stack.accepting, 300, "the restarted API to accept connections")
    next_page = HTTP.get(
        f"{api}/v1/feed?limit=5&cursor={first['next_cursor']}", headers=viewer_h, timeout=120
    )
    assert next_page.status_code == 200, next_page.text
    assert [item["clip"]["id"] for item in next_page.json()["items"]] == [
        str(c) for c in stored[offset : offset + 5]
    ]
    assert FeedSession.loads(store.get(f"feed:session:{session_id}")).items[: len(stored)] == stored

    # Nothing in the bucket that no clip, upload or import accounts for.
    _wait_for(
        lambda: HTTP.get(f"{api}/v1/merchant/catalog/imports/{job.json()['id']}", headers=merchant_h).json()[
            "status"] not in ("queued", "running"),
        120, "the import",
    )  # fmt: skip
    assert HTTP.delete(f"{api}/v1/clips/{public['clip_id']}", headers=creator_h).status_code == 204
    _bucket_is_accounted_for(stack.env)
