"""The feed and events over HTTP, as the mobile app uses them."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema
import pytest

INTERESTS = ["beauty.skincare", "tech", "food", "fitness", "pets"]


def now_iso(offset_s: float = 0.0) -> str:
    return (datetime.now(UTC) + timedelta(seconds=offset_s)).isoformat()


def ev(kind: str, clip_id: Any = None, **fields: Any) -> dict[str, Any]:
    body = {"event_id": str(uuid.uuid4()), "type": kind, "at": now_iso(), **fields}
    if clip_id is not None:
        body["clip_id"] = str(clip_id)
    return body


def ladder(prefix: str, first_segments: bool = True) -> list[dict[str, Any]]:
    """Rendition rows as the transcoder stores them, not in bandwidth order."""
    rows = []
    for rung, bandwidth in (("720p", 2_528_000), ("360p", 928_000)):
        row: dict[str, Any] = {
            "rung": rung,
            "bandwidth": bandwidth,
            "codecs": "avc1",
            "width": 0,
            "height": 0,
        }
        row["playlist_key"] = f"{prefix}hls/{rung}/index.m3u8"
        if first_segments:
            row["first_segment_key"] = f"{prefix}hls/{rung}/seg_0000.ts"
        rows.append(row)
    return rows


@pytest.fixture
def catalogue(make_user: Any, make_clip: Any) -> dict[str, Any]:
    """8 creators x 5 interests x 3 clips = 120 ready clips."""
    creators = [make_user("creator")[0] for _ in range(8)]
    by_interest: dict[str, list[uuid.UUID]] = {i: [] for i in INTERESTS}
    creator_of: dict[str, str] = {}
    for c in creators:
        for interest in INTERESTS:
            for k in range(3):
                clip = make_clip(
                    c["id"], [interest], caption=f"{interest} #{k} by {c['id'][:4]}", renditions=ladder
                )
                by_interest[interest].append(clip)
                creator_of[str(clip)] = c["id"]
    interest_of = {str(c): i for i, clips in by_interest.items() for c in clips}
    return {
        "creators": creators,
        "by_interest": by_interest,
        "interest_of": interest_of,
        "creator_of": creator_of,
    }


def page(
    client: Any, headers: dict[str, str] | None = None, cursor: str | None = None, limit: int = 10
) -> dict[str, Any]:
    params: dict[str, Any] = {"limit": limit}
    if cursor:
        params["cursor"] = cursor
    r = client.get("/v1/feed", params=params, headers=headers or {})
    assert r.status_code == 200, r.text
    return r.json()


def test_cold_start_guest_and_anonymous_get_a_full_valid_feed(
    client: Any, make_user: Any, catalogue: Any
) -> None:
    _, guest = make_user("guest")
    schema = client.get("/openapi.json").json()
    for headers in (guest, {}):
        body = page(client, headers, limit=10)
        assert len(body["items"]) == 10 and body["next_cursor"]
        jsonschema.validate(
            body, {"$ref": "#/components/schemas/FeedPage", "components": schema["components"]}
        )
        mix = Counter(catalogue["interest_of"][i["clip"]["id"]] for i in body["items"])
        assert len(mix) >= 3  # no interests yet: spread over the taxonomy, not one topic
        item = body["items"][0]
        assert item["clip"]["playback"]["hls_url"].endswith("master.m3u8")
        assert item["clip"]["playback"]["mp4_url"].endswith(".mp4")
        # where a player of the master starts: the lowest rung, fetched with the master
        clip_url = f"/v1/media/clips/{item['clip']['id']}/hls/"
        assert item["clip"]["playback"]["hls_start_playlist_url"].endswith(clip_url + "360p/index.m3u8")
        assert item["clip"]["playback"]["hls_start_segment_url"].endswith(clip_url + "360p/seg_0000.ts")
        assert item["clip"]["creator"]["handle"].startswith("creator_")
        assert item["reason"]["text"]


def test_start_of_playback_without_a_recorded_first_segment_or_renditions(
    client: Any, make_user: Any, make_clip: Any
) -> None:
    creator, _ = make_user("creator")
    older = make_clip(creator["id"], ["tech"], renditions=lambda prefix: ladder(prefix, first_segments=False))
    bare = make_clip(creator["id"], ["tech"])
    items = {i["clip"]["id"]: i["clip"]["playback"] for i in page(client, limit=10)["items"]}
    assert items[str(older)]["hls_start_playlist_url"].endswith(f"/clips/{older}/hls/360p/index.m3u8")
    assert items[str(older)]["hls_start_segment_url"] is None
    assert items[str(bare)]["hls_start_playlist_url"] is None
    assert items[str(bare)]["hls_start_segment_url"] is None
    assert items[str(bare)]["hls_url"].endswith("master.m3u8")


@pytest.mark.parametrize("background", [False, True], ids=["sync", "background-thread"])
def test_liking_skincare_shifts_the_next_session_towards_skincare(
    client: Any, make_user: Any, catalogue: Any, background: bool
) -> None:
    # With the background thread (as in production) a new session skips the synchronous catch-up
    # unless the viewer has events it may not have applied yet: the next session must still
    # reflect the likes sent just before it.
    from app.config import get_settings

    get_settings().feed_background_refresh = background
    _, viewer = make_user("viewer")
    first = page(client, viewer, limit=10)
    before = sum(catalogue["interest_of"][i["clip"]["id"]] == "beauty.skincare" for i in first["items"])
    events = []
    for item in first["items"]:
        events.append(ev("impression", item["clip"]["id"]))
    for clip in catalogue["by_interest"]["beauty.skincare"][:6]:
        events += [ev("impression", clip), ev("complete", clip), ev("like", clip)]
    r = client.post("/v1/events", json={"events": events}, headers=viewer)
    assert r.status_code == 200, r.text
    second = page(client, viewer, limit=10)
    after = [i for i in second["items"] if catalogue["interest_of"][i["clip"]["id"]] == "beauty.skincare"]
    assert len(after) >= before + 3
    assert any(
        i["reason"]["text"] == "Popular in Skincare" or i["reason"]["code"] == "similar" for i in after
    )
    seen = {i["clip"]["id"] for i in first["items"]} | {
        str(c) for c in catalogue["by_interest"]["beauty.skincare"][:6]
    }
    assert not seen & {i["clip"]["id"] for i in second["items"]}


def test_fifty_pages_never_repeat_even_while_events_arrive(
    client: Any, make_user: Any, catalogue: Any
) -> None:
    _, viewer = make_user("guest")
    served: list[str] = []
    cursor = None
    for n in range(50):
        body = page(client, viewer, cursor=cursor, limit=2)
        ids = [i["clip"]["id"] for i in body["items"]]
        served += ids
        if n % 5 == 0 and ids:  # events land between pages
            client.post(
                "/v1/events", json={"events": [ev("like", ids[0]), ev("skip", ids[-1])]}, headers=viewer
            )
        cursor = body["next_cursor"]
        assert cursor
    assert len(served) == 100
    assert len(set(served)) == len(served)
    # a retried cursor returns the same page (no skip, no repeat)
    body = page(client, viewer, limit=3)
    again = page(client, viewer, cursor=body["next_cursor"], limit=3)
    retry = page(client, viewer, cursor=body["next_cursor"], limit=3)
    assert [i["clip"]["id"] for i in again["items"]] == [i["clip"]["id"] for i in retry["items"]]


def test_no_creator_twice_within_three_slots(client: Any, make_user: Any, catalogue: Any) -> None:
    _, viewer = make_user("viewer")
    creators: list[str] = []
    cursor = None
    for _ in range(4):
        body = page(client, viewer, cursor=cursor, limit=10)
        creators += [i["clip"]["creator"]["id"] for i in body["items"]]
        cursor = body["next_cursor"]
    for i, c in enumerate(creators):
        assert c not in creators[max(0, i - 3) : i], (i, creators[max(0, i - 3) : i + 1])


def test_tampered_or_foreign_cursors_are_rejected(client: Any, make_user: Any, catalogue: Any) -> None:
    _, alice = make_user("viewer")
    _, bob = make_user("viewer")
    cursor = page(client, alice)["next_cursor"]
    for bad in (cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB"), "not-a-cursor", cursor + "x"):
        r = client.get("/v1/feed", params={"cursor": bad}, headers=alice)
        assert r.status_code == 400 and r.json()["code"] == "invalid_cursor", r.text
    r = client.get("/v1/feed", params={"cursor": cursor}, headers=bob)
    assert r.status_code == 400 and r.json()["code"] == "invalid_cursor"


def test_a_signed_out_session_loses_the_feed_once_the_check_is_due(
    client: Any, make_user: Any, catalogue: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.feed import dependencies

    _, alice = make_user("viewer")
    _, bob = make_user("viewer")
    first = page(client, alice)
    assert page(client, bob)["items"]
    assert client.post("/v1/auth/logout", headers=alice).status_code == 204
    # within the cache window the feed still answers; once it is due, the sign-in is checked
    monkeypatch.setattr(dependencies, "AUTH_CACHE_SECONDS", 0.0)
    dependencies._cache.clear()
    for cursor in (None, first["next_cursor"]):
        r = client.get("/v1/feed", params={"cursor": cursor} if cursor else {}, headers=alice)
        assert r.status_code == 401 and r.json()["code"] == "invalid_token", r.text
    assert page(client, bob)["items"]  # another viewer's live session is unaffected


def test_replayed_batch_changes_nothing(client: Any, make_user: Any, catalogue: Any) -> None:
    from app.db import session_scope
    from app.feed import service

    _, viewer = make_user("viewer")
    clip = catalogue["by_interest"]["tech"][0]
    batch = {"events": [ev("impression", clip), ev("complete", clip), ev("like", clip), ev("share", clip)]}
    first = client.post("/v1/events", json=batch, headers=viewer).json()
    assert first["accepted"] == 4 and first["duplicates"] == 0
    with session_scope() as session:
        service.aggregate_pending(session)
    with session_scope() as session:
        stats = service.get_clip_stats(session, [clip])[clip]
        before = (stats.impressions, stats.completes, stats.likes, stats.shares)
    assert before == (1, 1, 1, 1)
    again = client.post("/v1/events", json=batch, headers=viewer).json()
    assert again["accepted"] == 0 and again["duplicates"] == 4
    assert [r["status"] for r in again["results"]] == ["duplicate"] * 4
    with session_scope() as session:
        assert service.aggregate_pending(session) == 0
    with session_scope() as session:
        stats = service.get_clip_stats(session, [clip])[clip]
        assert (stats.impressions, stats.completes, stats.likes, stats.shares) == before
    # a second like by the same viewer (new event id) does not inflate the like count
    client.post("/v1/events", json={"events": [ev("like", clip)]}, headers=viewer)
    with session_scope() as session:
        service.aggregate_pending(session)
    with session_scope() as session:
        assert service.get_clip_stats(session, [clip])[clip].likes == 1


def test_bad_events_are_reported_by_index_and_the_rest_accepted(
    client: Any, make_user: Any, catalogue: Any
) -> None:
    _, viewer = make_user("guest")
    clip = catalogue["by_interest"]["food"][0]
    events = [
        ev("complete", clip),
        ev("teleport", clip),  # unknown type
        ev("like"),  # no clip
        ev("like", uuid.uuid4()),  # clip does not exist
        {"type": "like", "clip_id": str(clip), "at": now_iso()},  # no event id
        ev("view_progress", clip, progress=1.5),  # out of range
        ev("impression", clip, at=now_iso(30 * 86400)),  # far future
        ev("view_progress", clip, progress=0.5),
    ]
    r = client.post("/v1/events", json={"events": events}, headers=viewer)
    assert r.status_code == 207, r.text
    body = r.json()
    assert body["accepted"] == 2 and body["rejected"] == 6
    rejected = {x["index"]: x for x in body["results"] if x["status"] == "rejected"}
    assert sorted(rejected) == [1, 2, 3, 4, 5, 6]
    assert rejected[2]["code"] == "clip_required"
    assert rejected[3]["code"] == "unknown_clip"
    assert rejected[6]["code"] == "timestamp_out_of_range"
    assert "type" in rejected[1]["reason"]
    assert (
        client.post("/v1/events", json={"events": [ev("like", clip)] * 501}, headers=viewer).status_code
        == 422
    )
    assert client.post("/v1/events", json={"events": [ev("like", clip)]}).status_code == 401
    # a refused token: 401 for a clean batch, but the body's own problems are answered first
    forged = {"Authorization": viewer["Authorization"][:-4] + "AAAA"}
    r = client.post("/v1/events", json={"events": [ev("like", clip)]}, headers=forged)
    assert r.status_code == 401 and r.json()["code"] == "invalid_token", r.text
    assert client.post("/v1/events", json={"events": "nope"}, headers=forged).status_code == 422


def test_following_a_creator_brings_their_clips_with_a_reason(
    client: Any, make_user: Any, catalogue: Any
) -> None:
    _, viewer = make_user("viewer")
    creator = catalogue["creators"][3]
    handle = creator["creator_profile"]["handle"] if creator.get("creator_profile") else None
    if handle is None:
        from app.accounts import service as accounts_service
        from app.db import session_scope

        with session_scope() as session:
            handle = accounts_service.get_creator_profile(session, uuid.UUID(creator["id"])).handle  # type: ignore[union-attr]
    r = client.post(f"/v1/creators/{handle}/follow", headers=viewer)
    assert r.status_code == 200 and r.json()["following"] is True
    body = page(client, viewer, limit=10)
    follows = [i for i in body["items"] if i["reason"]["code"] == "follow"]
    assert follows and follows[0]["reason"]["text"] == f"Because you follow @{handle}"
    assert all(i["clip"]["creator"]["id"] == creator["id"] for i in follows)
    assert client.delete(f"/v1/creators/{handle}/follow", headers=viewer).json()["following"] is False
    body = page(client, viewer, limit=10)
    assert not [i for i in body["items"] if i["reason"]["code"] == "follow"]


def _handle(user: dict[str, Any]) -> str:
    from app.accounts import service as accounts_service
    from app.db import session_scope

    with session_scope() as session:
        profile = accounts_service.get_creator_profile(session, uuid.UUID(user["id"]))
        assert profile is not None
        return profile.handle


def test_out_of_stock_clips_are_demoted_within_seconds(
    client: Any, make_user: Any, make_clip: Any, catalogue: Any
) -> None:
    import time

    from tests.catalog.factories import one_sku
    from tests.commerce.helpers import checkout

    creator, creator_h = make_user("creator")
    _, merchant = make_user("merchant")
    _, buyer = make_user("viewer")
    sku = one_sku(client, merchant, quantity=1, price=1999)
    hero, hero2 = make_clip(creator["id"], ["tech"]), make_clip(creator["id"], ["tech"])
    for clip in (hero, hero2):
        r = client.post(
            f"/v1/clips/{clip}/tags",
            json={"sku_id": sku["id"], "start_ms": 0, "end_ms": 5000},
            headers=creator_h,
        )
        assert r.status_code == 201, r.text
    handle = _handle(creator)
    fans = [make_user("viewer")[1] for _ in range(3)]
    for fan in fans:
        assert client.post(f"/v1/creators/{handle}/follow", headers=fan).status_code == 200

    first = page(client, fans[0], limit=5)["items"]
    assert first[0]["clip"]["id"] in (str(hero), str(hero2))
    assert first[0]["tags"][0]["available"] == 1 and first[0]["tags"][0]["availability"] == "low_stock"
    assert first[0]["tags"][0]["buy"]["href"] == "/v1/checkout"
    # a session already under way: the first followed clip is served, the second still ahead
    ongoing = page(client, fans[1], limit=1)
    assert ongoing["items"][0]["clip"]["id"] in (str(hero), str(hero2))

    assert checkout(client, buyer, [(sku["id"], 1)]).status_code == 201  # the last unit is sold
    sold_out_at = time.monotonic()

    fresh = page(client, fans[2], limit=10)["items"]
    rest = page(client, fans[1], cursor=ongoing["next_cursor"], limit=10)["items"]
    assert time.monotonic() - sold_out_at < 5
    for items in (fresh, rest):
        ids = [i["clip"]["id"] for i in items]
        assert str(hero) not in ids and str(hero2) not in ids
    # back in stock: the clips come back for the next session
    r = client.post(
        f"/v1/merchant/skus/{sku['id']}/stock/adjustments",
        json={"delta": 50, "reason": "restock"},
        headers=merchant,
    )
    assert r.status_code == 200, r.text
    _, late_fan = make_user("viewer")
    client.post(f"/v1/creators/{handle}/follow", headers=late_fan)
    back = page(client, late_fan, limit=5)["items"]
    assert (
        back[0]["clip"]["id"] in (str(hero), str(hero2)) and back[0]["tags"][0]["availability"] == "in_stock"
    )


def test_guest_keeps_its_feed_history_after_signing_up(client: Any, make_user: Any, catalogue: Any) -> None:
    _, guest = make_user("guest")
    watched = catalogue["by_interest"]["pets"][:6]
    events = [e for clip in watched for e in (ev("impression", clip), ev("complete", clip), ev("like", clip))]
    assert client.post("/v1/events", json={"events": events}, headers=guest).json()["accepted"] == 18
    r = client.post(
        "/v1/auth/signup",
        json={
            "email": f"upgraded-{uuid.uuid4().hex[:6]}@example.com",
            "password": "password-123",
            "role": "viewer",
        },
        headers=guest,
    )
    assert r.status_code == 201, r.text
    member = {"Authorization": f"Bearer {r.json()['access_token']}"}
    items = page(client, member, limit=10)["items"]
    ids = {i["clip"]["id"] for i in items}
    assert not ids & {str(c) for c in watched}  # what the guest saw stays seen
    pets = sum(catalogue["interest_of"][i] == "pets" for i in ids)
    assert pets >= 4  # and what it liked still steers the feed


def test_sessions_live_in_redis_when_configured(
    client: Any, make_user: Any, catalogue: Any, settings: Any
) -> None:
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url).ping()
    except redis.RedisError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    from app.feed import sessions

    old = settings.redis_url
    settings.redis_url = url
    sessions.reset_store()
    try:
        _, viewer = make_user("viewer")
        first = page(client, viewer, limit=5)
        assert isinstance(sessions.get_store(), sessions.RedisStore)
        sessions.reset_store()  # another process: a fresh store object, the same Redis
        second = page(client, viewer, cursor=first["next_cursor"], limit=5)
        ids = [i["clip"]["id"] for i in first["items"] + second["items"]]
        assert len(ids) == 10 and len(set(ids)) == 10
    finally:
        settings.redis_url = old
        sessions.reset_store()


def test_aggregation_in_slices_keeps_every_counter_exact(client: Any, make_user: Any, catalogue: Any) -> None:
    """Counters are folded by the database in slices; however the pending events are cut, each
    counts exactly once (likes once per viewer, unlike included), and nothing is left pending."""
    from app.db import session_scope
    from app.feed import service

    a, b = catalogue["by_interest"]["pets"][:2]
    _, v1 = make_user("viewer")
    _, v2 = make_user("viewer")
    first = [ev("impression", a), ev("view_progress", a, watch_ms=4000), ev("complete", a), ev("like", a)]
    second = [ev("impression", a), ev("like", a), ev("share", a), ev("skip", b), ev("impression", b)]
    assert client.post("/v1/events", json={"events": first}, headers=v1).json()["accepted"] == 4
    assert client.post("/v1/events", json={"events": second}, headers=v2).json()["accepted"] == 5
    later = [ev("unlike", a), ev("product_tap", b)]
    assert client.post("/v1/events", json={"events": later}, headers=v1).json()["accepted"] == 2
    folded = []
    while True:
        with session_scope() as session:
            n = service.aggregate_pending(session, limit=3)
        if not n:
            break
        folded.append(n)
    assert sum(folded) == 11 and max(folded) <= 3
    with session_scope() as session:
        stats = service.get_clip_stats(session, [a, b])
        sa, sb = stats[a], stats[b]
        assert (sa.impressions, sa.views, sa.completes, sa.likes, sa.shares) == (2, 1, 1, 1, 1)
        assert sa.watch_ms == 4000
        assert (sb.impressions, sb.skips, sb.product_taps, sb.likes) == (1, 1, 1, 0)
