"""The clean-batch path of POST /v1/events: the same rows and the same answers as the general path."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.feed.test_event_ingest import clips  # noqa: F401 (fixture)
from tests.feed.test_feed_api import ev, now_iso


@pytest.fixture
def loaded(clips: Any) -> Any:  # noqa: F811
    """The engine loaded with the clips (the clean path needs it to know the clips)."""
    from app.feed.runtime import get_runtime, read_session

    runtime = get_runtime()
    with read_session() as session:
        runtime.catch_up(session)
    return clips


@pytest.fixture
def general_path_only(monkeypatch: pytest.MonkeyPatch) -> Any:
    from app.feed import fastevents

    def use(on: bool) -> None:
        if on:
            monkeypatch.setattr(fastevents, "clean_batch", lambda *a, **k: None)
        else:
            monkeypatch.undo()

    return use


def _stored(event_ids: list[str]) -> list[tuple[Any, ...]]:
    from app.db import session_scope
    from app.feed.models import FeedEvent

    e = FeedEvent
    with session_scope() as session:
        rows = session.execute(
            select(
                e.event_id, e.user_id, e.type, e.clip_id, e.creator_id, e.watch_ms, e.progress, e.client_at
            ).where(e.event_id.in_([uuid.UUID(i) for i in event_ids]))
        ).all()
    order = {uuid.UUID(i): k for k, i in enumerate(event_ids)}
    return [tuple(r[1:]) for r in sorted(rows, key=lambda r: order[r[0]])]


def _clean_events(clip: uuid.UUID) -> list[dict[str, Any]]:
    at = datetime.now(UTC).replace(microsecond=0)
    return [
        ev("impression", clip, at=(at - timedelta(seconds=30)).isoformat().replace("+00:00", "Z")),
        ev("view_progress", clip, progress=1, watch_ms=15_000, at=at.isoformat()),
        ev("view_progress", clip, progress=0.25),
        ev("complete", clip, at=(at + timedelta(microseconds=500_000)).isoformat()),  # .500000
        ev("like", clip, at=at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.12+02:00")),
        ev("share", clip, at=now_iso(-3600)),
        ev("skip", clip),
        ev("product_tap", clip),
    ]


def test_a_clean_batch_is_stored_and_answered_as_by_the_general_path(
    client: Any, make_user: Any, loaded: Any, general_path_only: Any
) -> None:
    from app.feed import fastevents

    _, viewer = make_user("viewer")
    clip = loaded["ids"][0]
    clean = _clean_events(clip)
    assert fastevents.clean_batch(uuid.uuid4(), _body(clean)) is not None  # it takes this batch
    general = [{**e, "event_id": str(uuid.uuid4())} for e in clean]

    fast_first = client.post("/v1/events", json={"events": clean}, headers=viewer)
    general_path_only(True)
    general_first = client.post("/v1/events", json={"events": general}, headers=viewer)
    assert fast_first.status_code == general_first.status_code == 200
    assert fast_first.content == general_first.content  # {"accepted": 8, ...}
    assert _stored([e["event_id"] for e in clean]) == _stored([e["event_id"] for e in general])

    # replays, partly: the already stored events are listed as duplicates, alike
    clean_replay = [clean[2], ev("impression", clip), clean[5]]
    general_replay = [general[2], ev("impression", clip), general[5]]
    general_again = client.post("/v1/events", json={"events": general_replay}, headers=viewer)
    general_path_only(False)
    fast_again = client.post("/v1/events", json={"events": clean_replay}, headers=viewer)
    answer = fast_again.json()
    assert answer["accepted"] == 1 and answer["duplicates"] == 2
    assert [r["event_id"] for r in answer["results"]] == [clean[2]["event_id"], clean[5]["event_id"]]
    general_answer = general_again.json()
    for r in general_answer["results"]:
        r["event_id"] = clean_replay[r["index"]]["event_id"]
    assert answer == general_answer


def _body(events: list[dict[str, Any]]) -> bytes:
    import orjson

    return orjson.dumps({"events": events})


def test_what_the_clean_path_leaves_to_the_general_one(client: Any, make_user: Any, loaded: Any) -> None:
    from app.feed import fastevents

    clip = loaded["ids"][0]
    user = uuid.uuid4()
    base = ev("impression", clip)
    declined = {
        "uppercase id": {**base, "event_id": base["event_id"].upper()},
        "naive timestamp": {**base, "at": datetime.now(UTC).replace(tzinfo=None).isoformat()},
        "nanoseconds": {**base, "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.123456789Z")},
        "not a date": {**base, "at": "2026-13-45T10:00:00Z"},
        "other digits": {**base, "at": "٢٠٢٦-11-23T10:00:00Z"},
        "an id of another type": {**base, "event_id": 5},
        "two ids in one": {**base, "event_id": f"{uuid.uuid4()}\n{uuid.uuid4()}"},
        "two times in one": {**base, "at": f"{now_iso()}\n{now_iso()}".replace("+00:00", "Z")},
        "a kind of another type": {**base, "type": ["like"]},
        "a clip id of another type": {**base, "clip_id": None},
        "too old": {**base, "at": now_iso(-8 * 86400)},
        "too far ahead": {**base, "at": now_iso(400)},
        "a follow": {**ev("follow", clip)},
        "an unknown clip": {**ev("like", uuid.uuid4())},
        "no clip": {k: v for k, v in base.items() if k != "clip_id"},
        "watch_ms only": ev("view_progress", clip, watch_ms=1000),
        "progress as a bool": ev("view_progress", clip, progress=True),
        "progress out of range": ev("view_progress", clip, progress=1.5),
        "negative watch_ms": ev("view_progress", clip, progress=0.5, watch_ms=-1),
        "a creator id": {**base, "creator_id": str(loaded["creator"])},
        "an extra field": {**base, "extra": 1},
        "an unknown kind": {**base, "type": "dance"},
    }
    for why, event in declined.items():
        assert fastevents.clean_batch(user, _body([base, event])) is None, why
    assert fastevents.clean_batch(user, _body([base, base])) is None  # an id twice
    assert fastevents.clean_batch(user, b'{"events": [], "x": 1}') is None
    assert fastevents.clean_batch(user, _body([base] * 501)) is None
    assert fastevents.clean_batch(user, b"[1,") is None
    assert fastevents.clean_batch(user, _body([base])) is not None

    # and the general path answers them as always (per event, the rest accepted)
    _, viewer = make_user("viewer")
    events = [ev("impression", clip), {**ev("like", clip), "at": now_iso(400)}]
    r = client.post("/v1/events", json={"events": events}, headers=viewer)
    assert r.status_code == 207
    assert r.json()["accepted"] == 1 and r.json()["results"][0]["code"] == "timestamp_out_of_range"


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-23T03:00:00Z",
        "2026-11-23T03:00:00.5Z",
        "2026-11-23T03:00:00.123+02:00",
        "2026-11-23T03:00:00.123456-05:30",
        "2026-11-23T23:59:59.000001+00:00",
    ],
)
def test_timestamps_read_alike_by_both_paths(text: str) -> None:
    from app.feed.fastevents import _ATS
    from app.feed.schemas import EventIn

    assert _ATS.match(text)
    parsed = EventIn(event_id=uuid.uuid4(), type="like", at=text).at  # type: ignore[arg-type]
    assert datetime.fromisoformat(text) == parsed
    assert datetime.fromisoformat(text).utcoffset() == parsed.utcoffset()


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-23T03:00:00Z",
        "2026-11-23T03:00:00.5Z",
        "2026-11-23T03:00:00.123456+00:00",
        "2026-11-23T03:00:00.1-01:00",
    ],
)
def test_stored_times_from_the_text_are_the_writers(text: str) -> None:
    from app.feed.fastevents import _stored_time
    from app.feed.writer import sqlite_time

    assert _stored_time(text, datetime.fromisoformat(text)) == sqlite_time(datetime.fromisoformat(text))
