"""Jobs survive a killed worker and a broker outage, on real processes: a Redis server of the
test's own (on a free port, stopped and started by the test), an API process and worker
processes in the production (Redis) mode, sharing the test's database and media folder.

Short leases (set through the environment) keep these tests fast.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app import jobs
from app.catalog.models import CatalogImport
from app.clips.models import Clip, ClipStatus
from app.config import PROJECT_ROOT
from app.db import session_scope
from app.jobs import scratch
from app.jobs.models import Job, JobStatus
from tests.conftest import shared_data
from tests.jobs.test_transcode_jobs import _assert_one_consistent_set

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")

FAST_JOBS = {
    "CLIPSHOP_JOB_LEASE_SECONDS": "3",
    "CLIPSHOP_JOB_HEARTBEAT_SECONDS": "0.5",
    "CLIPSHOP_JOB_REAP_INTERVAL_SECONDS": "0.5",
    "CLIPSHOP_JOB_RELAY_INTERVAL_SECONDS": "0.5",
    "CLIPSHOP_REDIS_SOCKET_TIMEOUT_SECONDS": "1",
    "CLIPSHOP_LOG_LEVEL": "WARNING",
}


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
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class RedisServer:
    """A redis-server of this test's own, without persistence (a restart loses its queues)."""

    def __init__(self, folder: Path) -> None:
        self.port = _free_port()
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        _wait_for(self._ping, 10, "redis-server to accept connections")

    def _ping(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


@dataclass
class Stack:
    redis: RedisServer
    env: dict[str, str]
    api_url: str
    scratch_root: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def spawn(self, *args: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-m", "app", *args],
            cwd=PROJECT_ROOT,
            env=self.env,
            start_new_session=True,  # its own process group: a kill takes its ffmpeg down too
            stdout=subprocess.DEVNULL,
        )
        self.processes.append(process)
        return process

    def worker(self) -> subprocess.Popen[bytes]:
        return self.spawn("worker", "--threads", "2")

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.api_url, timeout=30)

    def signup(self, role: str) -> dict[str, str]:
        suffix = uuid.uuid4().hex[:8]
        body: dict[str, Any] = {
            "email": f"{role}-{suffix}@example.com",
            "password": "password-123",
            "role": role,
        }
        body.update(
            {"creator": {"handle": f"c_{suffix}"}, "merchant": {"organisation_name": f"Shop {suffix}"}}[role]
        )
        with self.http() as client:
            response = client.post("/v1/auth/signup", json=body)
        assert response.status_code == 201, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="module")
def _stack(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # This test process runs embedded: its own job runtime must not take the stack's jobs.
    restart_inprocess = jobs.stop_inprocess_worker()
    jobs.relay.stop()
    tmp_path = tmp_path_factory.mktemp("stack")
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    port = _free_port()
    env = {
        **os.environ,
        **FAST_JOBS,
        "CLIPSHOP_REDIS_URL": redis.url,
        "CLIPSHOP_REDIS_NAMESPACE": f"clipshop-test-{uuid.uuid4().hex[:8]}",
        "CLIPSHOP_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "CLIPSHOP_JOB_SCRATCH_DIR": str(tmp_path / "scratch"),
        "CLIPSHOP_SWEEP_INTERVAL_SECONDS": "3600",
    }
    stack = Stack(redis, env, f"http://127.0.0.1:{port}", tmp_path / "scratch")
    stack.spawn("serve", "--port", str(port))
    try:
        with stack.http() as client:
            _wait_for(lambda: client.get("/healthz").status_code == 200, 60, "the API process to start")
        yield stack
    finally:
        for process in stack.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in stack.processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        redis.stop()
        if restart_inprocess:
            jobs.start_inprocess_worker()


@pytest.fixture
def stack(_stack: Stack) -> Iterator[Stack]:
    """The module's Redis and API process; the workers a test starts are stopped after it."""
    before = len(_stack.processes)
    yield _stack
    if _stack.redis.process is None:
        _stack.redis.start()
    workers = _stack.processes[before:]
    del _stack.processes[before:]
    for process in workers:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in workers:
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def _upload(stack: Stack, headers: dict[str, str], path: Path) -> dict[str, Any]:
    data = path.read_bytes()
    with stack.http() as client:
        response = client.post(
            "/v1/uploads",
            json={"size": len(data), "content_type": "video/mp4", "file_name": path.name},
            headers=headers,
        )
        assert response.status_code == 201, response.text
        upload: dict[str, Any] = response.json()
        put = client.put(upload["upload_url"], content=data, headers={**headers, **upload["upload_headers"]})
        assert put.status_code == 204, put.text
    return upload


def _clip(clip_id: str) -> Clip:
    with session_scope() as session:
        clip = session.get(Clip, uuid.UUID(clip_id))
        assert clip is not None
        return clip


def _jobs_for(arg: str) -> list[Job]:
    with session_scope() as session:
        return [job for job in session.scalars(select(Job)) if arg in job.args]


def _looped(source: Path, target: Path, times: int) -> Path:
    """The real sample, looped without re-encoding: long enough to be killed mid-transcode."""
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-stream_loop",
            str(times - 1),
            "-i",
            str(source),
            "-c",
            "copy",
            str(target),
        ],
        check=True,
    )
    return target


def _owners(stack: Stack) -> set[str]:
    root = stack.scratch_root
    return {p.name for p in root.iterdir() if (p / scratch.MARKER).is_file()} if root.is_dir() else set()


def test_worker_killed_mid_transcode_is_retried_and_the_clip_gets_ready(stack: Stack, tmp_path: Path) -> None:
    video = _looped(shared_data("video", "mp4", "sample_portrait.mp4"), tmp_path / "looped.mp4", 3)
    workers = {p.pid: p for p in (stack.worker(), stack.worker())}
    headers = stack.signup("creator")
    upload = _upload(stack, headers, video)
    clip_id = upload["clip_id"]
    # both workers are up (each has claimed its scratch folder) before the job exists
    _wait_for(lambda: len(_owners(stack)) >= 2, 90, "two workers to start")
    with stack.http() as client:
        response = client.post(f"/v1/uploads/{upload['id']}/complete", headers=headers)
    assert response.status_code == 200 and response.json()["status"] == "processing", response.text

    def transcoding() -> Job | None:
        [job] = _jobs_for(clip_id)
        running = job.status is JobStatus.running and _clip(clip_id).processing_progress > 0
        return job if running else None

    job = _wait_for(transcoding, 60, "a worker to be transcoding")
    assert job.lease_owner is not None
    victim = workers[int(job.lease_owner.split(":")[1])]
    victim_scratch = stack.scratch_root / scratch._folder_name(job.lease_owner)
    assert victim_scratch.is_dir()
    os.killpg(victim.pid, signal.SIGKILL)  # kill -9, ffmpeg included
    victim.wait(10)
    killed_at = time.monotonic()
    # killed in the first pass (still processing) or after it (playable, ladder incomplete)
    killed = _clip(clip_id)
    assert not killed.playback_complete or killed.status is ClipStatus.processing, "finished before the kill"

    # the other worker's reaper sees the lease expire, and it runs the job again
    def finished() -> bool:
        clip = _clip(clip_id)
        return clip.status is ClipStatus.failed or (clip.status is ClipStatus.ready and clip.playback_complete)

    _wait_for(finished, 90, "the clip to be complete")
    assert time.monotonic() - killed_at < 90
    clip = _clip(clip_id)
    assert clip.status is ClipStatus.ready, (clip.failure_code, clip.failure_message)
    done = _wait_for(
        lambda: next((j for j in _jobs_for(clip_id) if j.status is JobStatus.done), None), 10, "done"
    )
    assert done.attempts == 2 and len(_jobs_for(clip_id)) == 1
    assert f":{victim.pid}:" not in (done.lease_owner or "")
    # the dead worker's scratch folder is removed; the live one's is kept
    _wait_for(lambda: not victim_scratch.exists(), 15, "the dead worker's scratch folder to be removed")
    assert len(_owners(stack)) == 1
    # one set of renditions: no duplicate, no orphaned segment, nothing left from the first run
    _assert_one_consistent_set(clip_id, [r["rung"] for r in clip.renditions or []])


def test_a_worker_starting_removes_only_dead_workers_scratch_folders(stack: Stack) -> None:
    first = stack.worker()
    _wait_for(lambda: len(_owners(stack)) == 1, 90, "the first worker to start")
    [dead] = _owners(stack)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(10)
    time.sleep(float(FAST_JOBS["CLIPSHOP_JOB_LEASE_SECONDS"]) * 2 + 0.5)  # its heartbeat is silent
    live = stack.worker()
    _wait_for(lambda: dead not in _owners(stack) and len(_owners(stack)) == 1, 90, "the start-up clean-up")
    assert live.poll() is None


def test_jobs_posted_while_redis_is_down_run_when_it_is_back(stack: Stack, tmp_path: Path) -> None:
    video = shared_data("video", "mp4", "sample_portrait.mp4")
    stack.worker()
    creator = stack.signup("creator")
    merchant = stack.signup("merchant")
    upload = _upload(stack, creator, video)

    stack.redis.stop()
    csv = b"handle,title,sku,price,currency,quantity\nhoodie,Hoodie,HOOD-M,49.00,USD,12\n"
    with stack.http() as client:
        started = time.monotonic()
        completed = client.post(f"/v1/uploads/{upload['id']}/complete", headers=creator)
        posted = client.post(
            "/v1/merchant/catalog/imports", files={"file": ("catalog.csv", csv, "text/csv")}, headers=merchant
        )
        answered_in = time.monotonic() - started
    assert completed.status_code == 200 and completed.json()["status"] == "processing", completed.text
    assert posted.status_code == 202, posted.text
    assert answered_in < 5  # the API does not wait for the broker
    import_id = posted.json()["id"]
    time.sleep(1.5)  # several relay rounds fail meanwhile
    assert [j.status for j in _jobs_for(upload["clip_id"]) + _jobs_for(import_id)] == [JobStatus.pending] * 2

    stack.redis.start()  # an empty Redis: nothing was ever queued in it

    def import_status() -> str:
        with session_scope() as session:
            row = session.get(CatalogImport, uuid.UUID(import_id))
            assert row is not None
            return row.status.value

    _wait_for(
        lambda: _clip(upload["clip_id"]).status is not ClipStatus.processing, 60, "the clip to be processed"
    )
    _wait_for(lambda: import_status() not in ("queued", "running"), 30, "the import to run")
    assert _clip(upload["clip_id"]).status is ClipStatus.ready
    assert import_status() == "succeeded"
    with stack.http() as client:
        sku = client.get("/v1/merchant/products", headers=merchant).json()
    assert "HOOD-M" in str(sku)
