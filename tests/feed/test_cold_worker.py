"""A process that has just started (its engine not built yet) must not answer feed pages from
nothing: a cursor it answers continues the session, and the stored session keeps every clip.
The readiness probe says `warming` until the engine is ready."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest


@pytest.fixture
def slow_rebuild(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Engine builds take 0.6 s (as a large catalogue would), so requests race them."""
    from app.feed.runtime import FeedRuntime

    original = FeedRuntime.rebuild
    started = threading.Event()

    def rebuild(self: Any, session: Any) -> None:
        started.set()
        time.sleep(0.6)
        original(self, session)

    monkeypatch.setattr(FeedRuntime, "rebuild", rebuild)
    return started


def _catalogue(make_user: Any, make_clip: Any, n: int = 30) -> None:
    creators = [make_user("creator")[0] for _ in range(3)]
    for k in range(n):
        make_clip(creators[k % 3]["id"], ["tech.audio" if k % 2 else "beauty.skincare"])


@pytest.mark.parametrize("background", [True, False])
def test_a_cursor_answered_by_a_freshly_started_worker_continues_the_session(
    client: Any,
    make_user: Any,
    make_clip: Any,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    slow_rebuild: threading.Event,
    background: bool,
) -> None:
    from app.feed import runtime
    from app.feed.sessions import decode_cursor, get_store

    _catalogue(make_user, make_clip)
    viewer, headers = make_user("viewer")
    first = client.get("/v1/feed?limit=5", headers=headers).json()
    cursor = first["next_cursor"]
    sid, _ = decode_cursor(cursor, viewer["id"])
    stored = list(get_store().get(sid).items)
    assert len(stored) >= 15

    # The process restarts: a new runtime whose engine is being built while the cursor arrives.
    runtime.reset_runtime()
    monkeypatch.setattr(settings, "feed_background_refresh", background)
    runtime.get_runtime()
    page = client.get(f"/v1/feed?cursor={cursor}&limit=5", headers=headers)
    assert page.status_code == 200, page.text
    ids = [item["clip"]["id"] for item in page.json()["items"]]
    assert ids == [str(c) for c in stored[5:10]]
    assert get_store().get(sid).items[: len(stored)] == stored  # not shortened
    after = client.get(f"/v1/feed?cursor={page.json()['next_cursor']}&limit=5", headers=headers).json()
    assert [item["clip"]["id"] for item in after["items"]] == [str(c) for c in stored[10:15]]


def test_readyz_reports_warming_until_the_engine_is_built(
    client: Any, make_user: Any, make_clip: Any, settings: Any, monkeypatch: pytest.MonkeyPatch,
    slow_rebuild: threading.Event,
) -> None:  # fmt: skip
    from app.feed import runtime

    _catalogue(make_user, make_clip, 4)
    runtime.reset_runtime()
    monkeypatch.setattr(settings, "feed_warm_at_startup", True)
    threading.Thread(target=runtime.warm_at_startup, daemon=True).start()  # a process starting
    assert slow_rebuild.wait(5)
    warming = client.get("/readyz")
    assert warming.status_code == 503 and warming.json()["checks"]["feed"] == "warming"
    deadline = time.monotonic() + 10
    while client.get("/readyz").status_code != 200:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert client.get("/readyz").json()["checks"]["feed"] == "ok"
    assert client.get("/v1/feed?limit=3").status_code == 200


def test_a_session_clip_this_engine_does_not_know_yet_is_kept(
    client: Any, make_user: Any, make_clip: Any
) -> None:
    """Ranked elsewhere from a fresher engine: the clip is checked in the database, not dropped."""
    from app.feed import runtime
    from app.feed.sessions import decode_cursor, get_store

    _catalogue(make_user, make_clip, 12)
    viewer, headers = make_user("viewer")
    first = client.get("/v1/feed?limit=2", headers=headers).json()
    sid, _ = decode_cursor(first["next_cursor"], viewer["id"])
    creator, _ = make_user("creator")
    newer = make_clip(creator["id"], ["tech.audio"])  # ready after this engine's last look
    fs = get_store().get(sid)
    fs.items.insert(2, newer)
    fs.reasons.insert(2, ("explore", "New on ClipShop"))
    fs.positions, fs.gen = [], -1
    get_store().put(fs)
    assert runtime.get_runtime().engine.clip_index.get(newer) is None
    page = client.get(f"/v1/feed?cursor={first['next_cursor']}&limit=3", headers=headers).json()
    assert page["items"][0]["clip"]["id"] == str(newer)
