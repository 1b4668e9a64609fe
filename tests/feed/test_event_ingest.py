"""Event ingest: the group-commit writer, the request path around it, exactly-once aggregation."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from tests.feed.test_feed_api import ev, now_iso


@pytest.fixture
def clips(make_user: Any, make_clip: Any) -> dict[str, Any]:
    creator, _ = make_user("creator")
    other, _ = make_user("creator")
    return {
        "creator": uuid.UUID(creator["id"]),
        "other_creator": uuid.UUID(other["id"]),
        "ids": [make_clip(creator["id"], ["tech"], caption=f"clip {i}") for i in range(3)],
    }


def _row(user_id: uuid.UUID, event_id: uuid.UUID | None = None, clip_id: uuid.UUID | None = None) -> Any:
    from app.feed.writer import EventRow

    now = datetime.now(UTC)
    return EventRow(user_id, event_id or uuid.uuid4(), "impression", clip_id, None, None, None, now, now)


def _stored_events() -> list[tuple[uuid.UUID, uuid.UUID]]:
    from app.db import session_scope
    from app.feed.models import FeedEvent

    with session_scope() as session:
        return [tuple(r) for r in session.execute(select(FeedEvent.user_id, FeedEvent.event_id)).all()]


def test_a_group_reports_each_batch_exactly_and_a_failing_batch_fails_alone(make_user: Any) -> None:
    from app.feed.writer import write_group

    a = uuid.UUID(make_user("viewer")[0]["id"])
    b = uuid.UUID(make_user("viewer")[0]["id"])
    shared = uuid.uuid4()
    first = [_row(a), _row(a), _row(a, shared)]
    second = [_row(a, shared), _row(a)]  # the same event as the first batch, sent concurrently
    third = [_row(b, shared)]  # the same event id from another user is another event
    orphan = [_row(uuid.uuid4())]  # no such user: a foreign-key error, for this batch only

    outcomes = write_group([first, second, orphan, third])
    assert outcomes[0] == [True, True, True]
    assert outcomes[1] == [False, True]
    assert isinstance(outcomes[2], IntegrityError)
    assert outcomes[3] == [True]
    assert len(_stored_events()) == 5

    # a replay of the whole group changes nothing and says so
    assert write_group([first, second, third]) == [[False] * 3, [False] * 2, [False]]
    assert len(_stored_events()) == 5


def test_the_writer_thread_answers_each_caller_after_the_commit(make_user: Any) -> None:
    from app.feed.writer import get_writer

    user = uuid.UUID(make_user("viewer")[0]["id"])
    rows = [_row(user) for _ in range(3)]
    futures = [get_writer().submit(rows) for _ in range(6)]  # six copies queued at once
    answers = [f.result(timeout=30) for f in futures]
    assert sum(flag for answer in answers for flag in answer) == 3
    assert all(len(answer) == 3 for answer in answers)
    assert Counter(_stored_events()) == Counter({(user, r.event_id): 1 for r in rows})
    orphan = get_writer().submit([_row(uuid.uuid4())])
    with pytest.raises(IntegrityError):
        orphan.result(timeout=30)
    assert get_writer().write([_row(user)]) == [True]  # the writer carries on


def test_concurrent_replays_through_the_service_store_each_event_once(make_user: Any, clips: Any) -> None:
    from app.feed import service

    user = uuid.UUID(make_user("viewer")[0]["id"])
    clip = clips["ids"][0]
    batch = [ev("impression", clip) for _ in range(20)]
    results: list[Any] = []
    errors: list[BaseException] = []

    def send(events: list[dict[str, Any]]) -> None:
        try:
            results.append(service.store_events(user, events))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(list(batch),)) for _ in range(8)]
    threads += [threading.Thread(target=send, args=([ev("complete", clip)],)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert sum(r.accepted for r in results) == 20 + 4
    assert sum(r.duplicates for r in results) == 7 * 20
    for r in results:
        assert r.accepted + r.duplicates == len(r.results) + r.accepted
        assert all(x.status == "duplicate" for x in r.results)
    assert len(_stored_events()) == 24


def test_concurrent_requests_are_answered_exactly(client: Any, make_user: Any, clips: Any) -> None:
    """Many requests in flight at once (one event loop, as under uvicorn): replays of one batch and
    distinct batches, each answered as if it were alone."""
    from app.main import app

    _, viewer = make_user("viewer")
    clip = clips["ids"][1]
    replayed = {"events": [ev("like", clip), ev("impression", clip), ev("skip", clip)]}
    distinct = [{"events": [ev("impression", clip), ev("complete", clip)]} for _ in range(6)]
    bad = {"events": [ev("impression", clip), ev("like", uuid.uuid4())]}

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            bodies = [replayed] * 5 + distinct + [bad]
            return await asyncio.gather(*(http.post("/v1/events", json=b, headers=viewer) for b in bodies))

    responses = asyncio.run(run())
    replies = [r.json() for r in responses]
    assert [r.status_code for r in responses] == [200] * 11 + [207]
    assert sum(r["accepted"] for r in replies[:5]) == 3
    assert sum(r["duplicates"] for r in replies[:5]) == 12
    assert all(r["accepted"] == 2 and r["duplicates"] == 0 for r in replies[5:11])
    assert replies[11]["accepted"] == 1 and replies[11]["rejected"] == 1
    assert replies[11]["results"][0]["index"] == 1 and replies[11]["results"][0]["code"] == "unknown_clip"
    assert len(_stored_events()) == 3 + 12 + 1


def test_malformed_bodies_get_the_same_problems_as_before(client: Any, make_user: Any, clips: Any) -> None:
    _, viewer = make_user("viewer")
    clip = clips["ids"][0]
    r = client.post(
        "/v1/events", content=b'{"events": [', headers={**viewer, "Content-Type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["code"] == "malformed_json"
    r = client.post(
        "/v1/events", content=b"\x11\xa9\xff", headers={**viewer, "Content-Type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["code"] == "bad_request"  # not even text
    r = client.post("/v1/events", content=b"", headers={**viewer, "Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body"
    # a body not declared as JSON is not read as JSON
    r = client.post("/v1/events", content=b'{"events": []}', headers={**viewer, "Content-Type": "text/plain"})
    assert r.status_code == 422
    for body in ({"events": []}, {"events": [5]}, {"evts": [ev("like", clip)]}, [ev("like", clip)]):
        r = client.post("/v1/events", json=body, headers=viewer)
        assert r.status_code == 422, body
        assert r.json()["code"] == "validation_error"
        assert all(e["field"].startswith("body") for e in r.json()["errors"])
    # the problem names the offending field as FastAPI did
    r = client.post("/v1/events", json={"events": [ev("like", clip)] * 501}, headers=viewer)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.events"
    # JSON declared with a +json media type is JSON
    r = client.post(
        "/v1/events",
        content=httpx.Request("POST", "/", json={"events": [ev("like", clip)]}).content,
        headers={**viewer, "Content-Type": "application/vnd.clipshop+json; charset=utf-8"},
    )
    assert r.status_code == 200 and r.json()["accepted"] == 1


def test_per_event_checks_on_the_fast_and_the_slow_path(client: Any, make_user: Any, clips: Any) -> None:
    """A batch of valid events and the same events next to an invalid one are checked alike."""
    _, viewer = make_user("viewer")
    clip = clips["ids"][0]
    good = [
        ev("impression", clip),
        ev("view_progress", clip, watch_ms=7_500),  # half of the 15 s clip
        ev("follow", clip),  # the clip's creator
        ev("like", clip, at=now_iso(-3600).replace("+00:00", "Z")),
        ev("impression", clip, at=now_iso(400)),  # more than 5 minutes ahead
        ev("like"),  # no clip
    ]
    dup = dict(good[0])
    for events in ([*good, dup], [*good, dup, {"type": "like", "clip_id": str(clip)}]):
        r = client.post("/v1/events", json={"events": events}, headers=viewer)
        assert r.status_code == 207, r.text
        body = r.json()
        by_index = {x["index"]: x for x in body["results"]}
        assert by_index[4]["code"] == "timestamp_out_of_range"
        assert by_index[5]["code"] == "clip_required"
        assert by_index[6]["status"] == "duplicate" and by_index[6]["event_id"] == good[0]["event_id"]
        if len(events) == 8:
            assert by_index[7]["code"] == "invalid_event" and by_index[7]["reason"].startswith("event_id")
    assert body["accepted"] == 0  # the second post replays the first one's accepted events
    stored = {
        e.type: e
        for e in _recent_events()
        if e.type in ("view_progress", "follow", "like") and e.user_id == uuid.UUID(_user_id(client, viewer))
    }
    assert stored["view_progress"].progress == pytest.approx(0.5)
    assert stored["follow"].creator_id == clips["creator"]


def _user_id(client: Any, headers: dict[str, str]) -> str:
    return str(client.get("/v1/me", headers=headers).json()["id"])


def _recent_events() -> list[Any]:
    from app.feed import service
    from app.feed.runtime import read_session

    with read_session() as session:
        return service.recent_events(session, 0, 1000)


def test_client_timestamps_are_stored_as_the_same_instant(client: Any, make_user: Any, clips: Any) -> None:
    _, viewer = make_user("viewer")
    clip = clips["ids"][2]
    at = datetime.now(timezone(timedelta(hours=2))).replace(microsecond=123456)
    r = client.post(
        "/v1/events", json={"events": [ev("impression", clip, at=at.isoformat())]}, headers=viewer
    )
    assert r.json()["accepted"] == 1
    (row,) = _recent_events()
    assert row.client_at == at and row.client_at.utcoffset() == timedelta(0)
    assert isinstance(row.user_id, uuid.UUID) and row.clip_id == clip and row.creator_id is None


def test_concurrent_aggregators_count_every_event_once(client: Any, make_user: Any, clips: Any) -> None:
    from app.db import session_scope
    from app.feed import service
    from app.feed.models import ClipLike, CreatorFollow, FeedEvent

    a, b, c = clips["ids"]
    viewers = [make_user("viewer") for _ in range(3)]
    expected: Counter[tuple[uuid.UUID, str]] = Counter()
    for i, (_, headers) in enumerate(viewers):
        events = [ev("impression", a), ev("impression", b), ev("complete", a), ev("like", a), ev("share", c)]
        events += [ev("like", b), ev("unlike", b)] if i != 1 else [ev("unlike", b), ev("like", b)]
        events += [ev("follow", c)] if i != 2 else [ev("follow", c), ev("unfollow", c)]
        for e in events:
            expected[(uuid.UUID(e["clip_id"]), e["type"])] += 1
        assert client.post("/v1/events", json={"events": events}, headers=headers).json()["accepted"] == len(
            events
        )
    errors: list[BaseException] = []

    def drain() -> None:
        try:
            while True:
                with session_scope() as session:
                    if not service.aggregate_pending(session, limit=4):
                        return
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=drain) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    with session_scope() as session:
        assert not session.scalar(select(func.count()).where(FeedEvent.aggregated.is_(False)))
        stats = service.get_clip_stats(session, [a, b, c])
        assert stats[a].impressions == expected[(a, "impression")] == 3
        assert stats[a].completes == 3 and stats[a].likes == 3
        assert stats[b].impressions == 3 and stats[b].likes == 1  # only the viewer whose like came last
        assert stats[c].shares == 3
        assert session.scalar(select(func.count()).select_from(ClipLike)) == 4
        follows = set(session.execute(select(CreatorFollow.user_id, CreatorFollow.creator_id)).all())
        owner = clips["creator"]
        assert follows == {(uuid.UUID(v[0]["id"]), owner) for v in viewers[:2]}


def _insert_as_another_process(rows: list[Any]) -> None:
    """Events committed by another API process: in the log, but never handed to this one's writer
    listeners."""
    from app.db import session_scope
    from app.feed.models import FeedEvent

    with session_scope() as session:
        session.add_all(
            FeedEvent(
                user_id=r.user_id,
                event_id=r.event_id,
                type=r.type,
                clip_id=r.clip_id,
                client_at=r.client_at,
                received_at=r.received_at,
            )
            for r in rows
        )


def test_this_process_and_other_processes_events_reach_the_engine_once_in_log_order(
    make_user: Any, clips: Any
) -> None:
    from app.config import get_settings
    from app.feed.runtime import get_runtime, read_session
    from app.feed.writer import get_writer

    viewer = uuid.UUID(make_user("viewer")[0]["id"])
    clip = clips["ids"][0]
    runtime = get_runtime()
    with read_session() as session:
        runtime.catch_up(session)
    idx = runtime.engine.clip_index[clip]
    impressions = runtime.engine.counters["impressions"]
    before = impressions[idx]

    get_writer().write([_row(viewer, clip_id=clip) for _ in range(3)])  # this process
    if get_settings().is_sqlite:  # handed over with their ids: not read back from the log
        assert sum(len(rows) for _, rows in runtime._written.values()) == 3
    _insert_as_another_process([_row(viewer, clip_id=clip) for _ in range(2)])
    get_writer().write([_row(viewer, clip_id=clip) for _ in range(4)])
    with read_session() as session:
        assert runtime.catch_up(session) == 9
    assert impressions[idx] == before + 9
    assert not runtime._written

    # a group handed over after the log was read past it (the catch-up got there first) is not
    # applied a second time
    runtime.written(
        runtime.high_water - 3, runtime.high_water, [_row(viewer, clip_id=clip) for _ in range(4)]
    )
    _insert_as_another_process([_row(viewer, clip_id=clip)])
    with read_session() as session:
        assert runtime.catch_up(session) == 1
    assert impressions[idx] == before + 10


def test_a_group_larger_than_one_statement_takes_is_written_alike(
    make_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite a group is one multi-row VALUES statement; one with more parameters than SQLite
    takes in a statement goes through json_each instead, with the same outcome."""
    from app.feed import writer

    user = uuid.UUID(make_user("viewer")[0]["id"])
    monkeypatch.setattr(writer, "_max_parameters", 2 * 9)  # two rows per statement at most
    rows = [_row(user) for _ in range(3)]
    assert writer.write_group([rows[:2], rows]) == [[True, True], [False, False, True]]
    stored = {e for u, e in _stored_events() if u == user}
    assert stored == {r.event_id for r in rows}
