"""The transactional outbox and leases, in-process: a job exists exactly when its state change
committed, a duplicate never runs while the job holds a lease, a dead worker's job is retried
after its lease expires, a failing job is retried with backoff and then marked failed."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from app import jobs
from app.catalog.models import CatalogImport
from app.clips.models import Clip, ClipStatus
from app.db import session_scope, utcnow
from app.jobs import outbox, scratch
from app.jobs.models import Job, JobStatus

RUNS: list[tuple[str, str]] = []
FLAKY: dict[str, int] = {}
GATE = threading.Event()


@jobs.actor(queue="default", max_retries=2)
def record_run(tag: str) -> None:
    RUNS.append(("run", tag))


@jobs.actor(queue="default", max_retries=1, min_backoff=50, max_backoff=50)
def always_fails(tag: str) -> None:
    RUNS.append(("fail", tag))
    raise RuntimeError(f"boom {tag}")


@jobs.actor(queue="default", max_retries=3, min_backoff=50, max_backoff=50)
def fails_once(tag: str) -> None:
    FLAKY[tag] = FLAKY.get(tag, 0) + 1
    if FLAKY[tag] == 1:
        raise RuntimeError("first try fails")
    RUNS.append(("run", tag))


@jobs.actor(queue="default", max_retries=0)
def waits_for_gate(tag: str) -> None:
    RUNS.append(("start", tag))
    GATE.wait(10)
    RUNS.append(("end", tag))


@pytest.fixture(autouse=True)
def _reset() -> None:
    RUNS.clear()
    FLAKY.clear()
    GATE.clear()


def _jobs() -> list[Job]:
    with session_scope() as session:
        return list(session.scalars(select(Job).order_by(Job.created_at)))


def _job(job_id: uuid.UUID) -> Job:
    with session_scope() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def test_a_rolled_back_transaction_leaves_no_job(database_url: str) -> None:
    with pytest.raises(RuntimeError), session_scope() as session:
        jobs.enqueue(session, record_run, "rolled-back")
        raise RuntimeError("the state change failed")
    assert _jobs() == []
    with session_scope() as session:
        job_id = jobs.enqueue(session, record_run, "committed")
    job = _job(job_id)
    assert (job.actor_name, job.args, job.max_attempts) == ("record_run", ["committed"], 3)
    jobs.drain()
    assert RUNS == [("run", "committed")]
    done = _job(job_id)
    assert done.status is JobStatus.done and done.attempts == 1 and done.lease_owner is None


def test_state_change_and_job_commit_together(client: Any, make_user: Any, tmp_path: Path) -> None:
    """A completed upload whose transaction fails after the clip moved to processing leaves
    neither the state change nor a job; an import refused late leaves neither row."""
    from app.accounts.models import MerchantMember, User
    from app.catalog import imports as catalog_imports
    from app.clips import service as clip_service

    creator, headers = make_user("creator")
    body = b"not really a video, but complete() only checks the size"
    upload = client.post(
        "/v1/uploads", json={"size": len(body), "content_type": "video/mp4"}, headers=headers
    ).json()
    assert client.put(upload["upload_url"], content=body, headers=headers).status_code == 204
    with pytest.raises(RuntimeError), session_scope() as session:
        user = session.get(User, uuid.UUID(creator["id"]))
        clip = clip_service.complete_upload(session, user, uuid.UUID(upload["id"]))  # type: ignore[arg-type]
        assert clip.status is ClipStatus.processing
        raise RuntimeError("the request failed after the service returned")
    assert _jobs() == []
    with session_scope() as session:
        assert session.get(Clip, uuid.UUID(upload["clip_id"])).status is ClipStatus.uploading  # type: ignore[union-attr]

    merchant, _ = make_user("merchant")
    csv = b"handle,title,sku,price,currency,quantity\nhoodie,Hoodie,HOOD-M,10.00,USD,3\n"
    with pytest.raises(RuntimeError), session_scope() as session:
        member = session.get(MerchantMember, uuid.UUID(merchant["id"]))
        assert member is not None
        catalog_imports.start_import(session, member.organisation_id, member.user_id, csv, None, "a.csv")
        raise RuntimeError("rolled back")
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(CatalogImport)) == 0
    assert _jobs() == []

    # committed: exactly one job per state change, and it runs
    response = client.post(f"/v1/uploads/{upload['id']}/complete", headers=headers)
    assert response.status_code == 200
    [job] = _jobs()
    assert job.actor_name == "transcode_clip" and job.args == [upload["clip_id"]]
    jobs.drain()
    assert _job(job.id).status is JobStatus.done
    assert client.get(f"/v1/clips/{upload['clip_id']}", headers=headers).json()["status"] == "failed"


def _job_row(actor_fn: Any, tag: str, **state: Any) -> uuid.UUID:
    """A job row in a given state, written without waking the relay (as another process would)."""
    with session_scope() as session:
        job_id = outbox.add_job(session, actor_fn, [tag], {})
        session.flush()
        if state:
            session.execute(update(Job).where(Job.id == job_id).values(**state))
    return job_id


def test_a_dead_workers_job_is_retried_once_its_lease_expires(database_url: str) -> None:
    # a worker on another machine took it, then died: its lease is no longer renewed
    job_id = _job_row(
        record_run,
        "orphan",
        status=JobStatus.running,
        attempts=1,
        lease_owner="elsewhere:4242:dead",
        lease_expires_at=utcnow() + timedelta(seconds=30),
    )
    assert outbox.reap_once()["expired"] == 0  # still leased: nobody else may run it
    assert not outbox.acquire(job_id)
    with session_scope() as session:
        session.execute(
            update(Job).where(Job.id == job_id).values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
    assert outbox.reap_once()["expired"] == 1
    jobs.drain()
    job = _job(job_id)
    assert RUNS == [("run", "orphan")]
    assert job.status is JobStatus.done and job.attempts == 2


def test_a_job_out_of_attempts_is_failed_not_retried_forever(database_url: str) -> None:
    job_id = _job_row(
        record_run,
        "poison",
        status=JobStatus.running,
        attempts=3,
        lease_owner="x:1:y",
        lease_expires_at=utcnow() - timedelta(seconds=1),
    )
    assert outbox.reap_once()["gave_up"] == 1
    job = _job(job_id)
    assert job.status is JobStatus.failed and "lease expired" in (job.last_error or "")
    jobs.drain()
    assert RUNS == []


def test_a_raising_job_is_retried_with_backoff_then_failed(database_url: str) -> None:
    with session_scope() as session:
        flaky = jobs.enqueue(session, fails_once, "flaky")
        doomed = jobs.enqueue(session, always_fails, "doomed")
    deadline = time.monotonic() + 20
    while outbox.unfinished_count(due_only=False) and time.monotonic() < deadline:
        jobs.drain()
        time.sleep(0.06)
    assert _job(flaky).status is JobStatus.done and _job(flaky).attempts == 2
    failed = _job(doomed)
    assert failed.status is JobStatus.failed and failed.attempts == 2
    assert "boom doomed" in (failed.last_error or "")
    assert RUNS.count(("fail", "doomed")) == 2 and RUNS.count(("run", "flaky")) == 1


def test_duplicates_and_twins_never_run_concurrently(database_url: str) -> None:
    """A second message for a leased job is dropped; a twin job (same actor and arguments)
    waits until the first is finished."""
    with session_scope() as session:
        first = jobs.enqueue(session, waits_for_gate, "same")
    jobs.start_inprocess_worker()
    jobs.relay.wake()
    deadline = time.monotonic() + 10
    while ("start", "same") not in RUNS and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _job(first).status is JobStatus.running
    # the broker delivers the same message again, and a twin is enqueued meanwhile
    jobs.broker.enqueue(
        waits_for_gate.message_with_options(args=("same",), **{outbox.JOB_OPTION: str(first)})
    )
    with session_scope() as session:
        twin = jobs.enqueue(session, waits_for_gate, "same")
    deadline = time.monotonic() + 10
    while _job(twin).status is not JobStatus.pending or _job(twin).available_at <= utcnow():
        assert time.monotonic() < deadline, _job(twin).status
        time.sleep(0.02)
    assert RUNS == [("start", "same")]
    GATE.set()
    deadline = time.monotonic() + 10
    while _job(first).status is not JobStatus.done:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert RUNS == [("start", "same"), ("end", "same")]
    # the twin runs once the first one is over (its deferral is the lease time)
    with session_scope() as session:
        session.execute(update(Job).where(Job.id == twin).values(available_at=utcnow()))
    jobs.drain()
    assert RUNS == [("start", "same"), ("end", "same"), ("start", "same"), ("end", "same")]


def test_the_relay_keeps_jobs_while_the_broker_refuses_them(database_url: str) -> None:
    class DownBroker:
        def enqueue(self, message: Any) -> Any:
            raise ConnectionError("broker unreachable")

    jobs.relay.stop()  # this process's own relay would send it meanwhile
    job_id = _job_row(record_run, "later")
    relay = outbox.Relay(DownBroker())  # type: ignore[arg-type]
    assert relay.run_once() == 0 and relay.broker_down
    assert _job(job_id).status is JobStatus.pending
    jobs.relay.start()
    jobs.drain()  # the broker is back
    assert _job(job_id).status is JobStatus.done and RUNS == [("run", "later")]


def test_messages_the_broker_lost_are_sent_again(database_url: str) -> None:
    class Pipe:
        def __init__(self) -> None:
            self.keys: list[tuple[str, str]] = []

        def hexists(self, key: str, field: str) -> None:
            self.keys.append((key, field))

        def execute(self) -> list[bool]:
            return [field == "kept" for _, field in self.keys]

    class FakeRedis:
        namespace = "ns"

        def __init__(self) -> None:
            self.client = self

        def pipeline(self, transaction: bool) -> Pipe:
            return Pipe()

    sent = {"status": JobStatus.sent, "sent_at": utcnow() - timedelta(seconds=30)}
    kept = _job_row(record_run, "kept", broker_message_id="kept", **sent)
    lost = _job_row(record_run, "lost", broker_message_id="gone", **sent)
    assert outbox.reap_once(FakeRedis())["redelivered"] == 1  # type: ignore[arg-type]
    assert _job(kept).status is JobStatus.sent and _job(lost).status is JobStatus.pending


# --- scratch folders --------------------------------------------------------------------------


def _marker_folder(root: Path, owner: str, pid: int, start: str | None) -> Path:
    import json
    import socket

    folder = root / scratch._folder_name(owner)
    (folder / "work").mkdir(parents=True)
    (folder / scratch.MARKER).write_text(
        json.dumps({"owner": owner, "host": socket.gethostname(), "pid": pid, "pid_start": start})
    )
    return folder


def test_scratch_cleanup_removes_only_folders_of_dead_job_processes(tmp_path: Path) -> None:
    root = tmp_path / "scratch"
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        dead = _marker_folder(root, "h:1:dead", finished.pid, "1")
        live = _marker_folder(root, "h:2:live", alive.pid, scratch._process_start(alive.pid))
        reused = _marker_folder(root, "h:3:reused", alive.pid, "not-its-start-time")
        leased = _marker_folder(root, "h:4:leased", finished.pid, "1")
        just_died = _marker_folder(root, "h:5:recent", finished.pid, "1")  # heartbeat still recent
        long_ago = time.time() - 3600
        for folder in (dead, live, reused, leased):
            os.utime(folder / scratch.MARKER, (long_ago, long_ago))
        # a folder of some other program, named like old transcode folders: never ours to judge
        foreign = root / f"clipshop-{uuid.uuid4()}-abc"
        foreign.mkdir()
        os.utime(foreign, (long_ago, long_ago))
        removed = scratch.purge_dead(root, live_lease_owners=lambda: {"h:4:leased"})
        assert removed == 2
        assert not dead.exists() and not reused.exists()
        assert live.exists() and leased.exists() and just_died.exists() and foreign.exists()
    finally:
        alive.kill()
        alive.wait()


def test_a_job_process_claims_its_own_scratch_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    from app.config import get_settings

    monkeypatch.setattr(get_settings(), "job_scratch_dir", tmp_path / "root")
    monkeypatch.setattr(tempfile, "tempdir", tempfile.tempdir)
    monkeypatch.setattr(scratch, "_claimed", None)
    folder = scratch.claim("host:123:abc")
    assert tempfile.mkdtemp().startswith(str(folder))
    assert scratch.purge_dead(tmp_path / "root") == 0  # never its own
    scratch.release()
    assert not folder.exists()


def test_operators_see_and_retry_failed_jobs(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from app.cli import build_parser

    failed = _job_row(
        record_run, "gave-up", status=JobStatus.failed, attempts=3, last_error="RuntimeError: boom"
    )
    _job_row(record_run, "waiting")
    args = build_parser().parse_args(["jobs"])
    assert args.func(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["counts"]["record_run"]["failed"] == 1 and sum(report["counts"]["record_run"].values()) == 2
    assert report["failed"][0]["id"] == str(failed) and report["failed"][0]["error"] == "RuntimeError: boom"
    args = build_parser().parse_args(["jobs", "--retry", str(failed)])
    assert args.func(args) == 0
    jobs.drain()
    assert _job(failed).status is JobStatus.done and ("run", "gave-up") in RUNS
    assert args.func(args) == 1  # not failed any more


def test_imports_left_without_a_job_are_swept(client: Any, make_user: Any) -> None:
    from sqlalchemy import delete

    from app.catalog.models import ImportStatus
    from app.catalog.tasks import sweep_stuck_imports

    _, headers = make_user("merchant")
    csv = b"handle,title,sku,price,currency,quantity\nhoodie,Hoodie,HOOD-M,10.00,USD,3\n"
    ids = []
    for _ in range(2):
        response = client.post(
            "/v1/merchant/catalog/imports", files={"file": ("a.csv", csv, "text/csv")}, headers=headers
        )
        assert response.status_code == 202, response.text
        ids.append(uuid.UUID(response.json()["id"]))
    jobs.drain()
    lost, gave_up = ids
    # as if one import's message had been lost before the outbox existed (so it never ran, and its
    # uploaded file is still stored), and the other's job gave up
    from app.storage import get_storage

    with session_scope() as session:
        lost_row = session.get(CatalogImport, lost)
        assert lost_row is not None
        get_storage().put_bytes(lost_row.file_key, csv, "text/csv")
    with session_scope() as session:
        key = {i: outbox.run_key("run_import", [str(i)], {}) for i in ids}
        session.execute(delete(Job).where(Job.run_key == key[lost]))
        session.execute(update(Job).where(Job.run_key == key[gave_up]).values(status=JobStatus.failed))
        session.execute(
            update(CatalogImport)
            .values(status=ImportStatus.queued, updated_at=utcnow() - timedelta(hours=2))
            .where(CatalogImport.id.in_(ids))
        )
    assert sweep_stuck_imports(timedelta(hours=1)) == [lost]
    assert sweep_stuck_imports(timedelta(hours=1)) == []  # its new job is pending or done
    jobs.drain()
    with session_scope() as session:
        statuses = {row.id: row.status for row in session.scalars(select(CatalogImport))}
    assert statuses == {lost: ImportStatus.succeeded, gave_up: ImportStatus.failed}
