"""Bought engagement is flagged at the source and lifts nothing: not the feed, not the figures,
not discovery."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from tests.analytics.conftest import aggregate, new_account, new_creator, send
from tests.conftest import auth_headers

pytestmark = pytest.mark.usefixtures("database_url")


def token_for(user_id: uuid.UUID) -> dict[str, str]:
    from app.accounts import service as accounts_service
    from app.db import session_scope

    with session_scope() as session:
        user = accounts_service.get_user(session, user_id)
        return auth_headers(accounts_service.issue_tokens(session, user).access_token)


def organic_viewing(
    viewers: list[uuid.UUID], clips: list[uuid.UUID], *, like_every: int = 2, tap: bool = False
) -> None:
    from app.db import utcnow

    now = utcnow()
    for i, viewer in enumerate(viewers):
        for j, clip in enumerate(clips):
            at = now - timedelta(minutes=30 - j)
            events: list[tuple[str, uuid.UUID | None, Any]] = [
                ("impression", clip, at),
                ("view_progress", clip, at),
            ]
            if (i + j) % like_every == 0:
                events.append(("like", clip, at))
            if tap and (i + j) % 2 == 0:
                events.append(("product_tap", clip, at))
            send(viewer, events, device_id=f"phone-{viewer.hex[:8]}", client_ip=f"10.0.{i}.{j + 1}")


def _engine_state(clip: uuid.UUID) -> tuple[float, float, float]:
    from app.feed.runtime import get_runtime, read_session

    rt = get_runtime()
    with read_session() as session:
        rt.catch_up(session)
    engine = rt.engine
    idx = engine.clip_index[clip]
    quality = float(engine.quality(np.array([idx]))[0])
    return float(engine.counters["likes"][idx]), float(engine.trend[idx]), quality


def test_a_like_farm_is_flagged_and_does_not_lift_the_clip(client: Any, make_clip: Any) -> None:
    from app.db import session_scope, utcnow
    from app.feed import service as feed_service
    from app.feed.models import FeedEvent

    creator = new_creator("honest_maker")
    target, other = make_clip(creator, ["fashion"]), make_clip(creator, ["fashion"])
    viewers = [new_account(interests=["fashion"]) for _ in range(6)]
    organic_viewing(viewers, [target, other])
    aggregate()
    likes_before, trend_before, quality_before = _engine_state(target)
    assert likes_before == 3

    # the farm: 12 fresh guest accounts, two devices, like the clip without watching it
    for k in range(12):
        guest = client.post("/v1/auth/guest").json()
        now = utcnow().isoformat()
        batch = {
            "events": [
                {"event_id": str(uuid.uuid4()), "type": "impression", "at": now, "clip_id": str(target)},
                {"event_id": str(uuid.uuid4()), "type": "like", "at": now, "clip_id": str(target)},
            ]
        }
        headers = {**auth_headers(guest["access_token"]), "X-Device-Id": f"farm-device-{k % 2}"}
        assert client.post("/v1/events", json=batch, headers=headers).status_code == 200
    with session_scope() as session:  # what detection needs was recorded with each event
        from sqlalchemy import select

        row = session.execute(
            select(FeedEvent.device_id, FeedEvent.account_guest, FeedEvent.account_created_at).where(
                FeedEvent.device_id == "farm-device-1"
            )
        ).first()
        assert row is not None and row[1] is True and row[2] is not None
    aggregate()
    likes_after, trend_after, quality_after = _engine_state(target)
    # the engine took the farm's likes back out: no more likes, trending or quality than before
    assert likes_after == likes_before
    assert trend_after <= trend_before + 1e-9
    assert quality_after <= quality_before + 1e-9
    with session_scope() as session:
        stats = feed_service.get_clip_stats(session, [target])[target]
        assert stats.likes == 3 and stats.impressions == 6
        assert session.scalar(select(FeedEvent.id).where(FeedEvent.flagged.is_(True)).limit(1)) is not None

    # the figures: organic unchanged, the farm shown as filtered; the authenticity answer says why
    creator_headers = token_for(creator)
    response = client.get("/v1/analytics/creators/honest_maker/authenticity", headers=creator_headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["flagged_share"] > 0.3 and body["score"] < 70
    codes = {f["code"] for f in body["flags"]}
    assert "engagement_burst" in codes
    report = client.get("/v1/analytics/creators/honest_maker", headers=creator_headers).json()
    assert report["totals"]["likes"] == 6 and report["totals"]["filtered"]["likes"] == 12  # (two clips)
    assert report["totals"]["impressions"] == 12 and report["totals"]["filtered"]["impressions"] == 12
    # a viewer who is none of these may not read it
    stranger = auth_headers(client.post("/v1/auth/guest").json()["access_token"])
    assert client.get("/v1/analytics/creators/honest_maker/authenticity", headers=stranger).status_code == 403

    # the farm's later engagement is flagged as it arrives (the accounts are flagged)
    with session_scope() as session:
        from sqlalchemy import func, select

        from app.analytics.models import AnalyticsAccount

        flagged_accounts = session.scalar(
            select(func.count()).where(AnalyticsAccount.flagged_at.is_not(None))
        )
        assert flagged_accounts == 12
        farm_user = session.scalar(
            select(AnalyticsAccount.user_id).where(AnalyticsAccount.flagged_at.is_not(None))
        )
    assert farm_user is not None
    send(farm_user, [("like", other, utcnow())])
    aggregate()
    likes_other, _, _ = _engine_state(other)
    assert likes_other == 3


def test_repeatedly_flagged_accounts_are_listed_for_review(
    client: Any, make_clip: Any, make_user: Any
) -> None:
    from app.db import utcnow

    creator = new_creator("queue_maker")
    clips = [make_clip(creator, ["tech"]) for _ in range(8)]
    bot = new_account(guest=True, created_at=utcnow())
    for round_ in range(2):  # flagged in two runs: engagement without watching, twice
        send(
            bot,
            [("like", clip, utcnow()) for clip in clips[round_ * 4 : round_ * 4 + 4]]
            + [("share", clips[0], utcnow())] * 2,
        )
        aggregate()
    _, admin = make_user("admin")
    page = client.get("/v1/admin/analytics/flagged-accounts", headers=admin)
    assert page.status_code == 200, page.text
    items = page.json()["items"]
    assert [i["user_id"] for i in items] == [str(bot)]
    assert items[0]["flags"] >= 2 and "engagement_without_watching" in items[0]["codes"]
    _, viewer = make_user("viewer")
    assert client.get("/v1/admin/analytics/flagged-accounts", headers=viewer).status_code == 403


def test_discovery_ranks_a_converting_creator_above_a_bigger_one_with_bought_engagement(
    client: Any, make_clip: Any, shop: dict[str, Any], make_order: Any
) -> None:
    from app.db import session_scope, utcnow
    from app.feed.models import CreatorFollow

    real = new_creator("real_seller")
    big = new_creator("big_buyer")
    real_clip = make_clip(real, ["fashion"])
    big_clips = [make_clip(big, ["fashion"]), make_clip(big, ["fashion"])]
    fans = [new_account(interests=["fashion"]) for _ in range(6)]
    organic_viewing(fans, [real_clip], like_every=2, tap=True)
    organic_viewing([new_account(interests=["fashion"]) for _ in range(3)], big_clips, like_every=3)
    for _ in range(3):
        make_order([(0, 1)], creator_id=real, clip_id=real_clip)
    # the big creator: many followers and a burst of bought likes from fresh accounts
    with session_scope() as session:
        for _ in range(40):
            session.add(CreatorFollow(user_id=new_account(), creator_id=big))
    for _k in range(15):
        farm = new_account(guest=True, created_at=utcnow())
        send(farm, [("impression", big_clips[0], utcnow()), ("like", big_clips[0], utcnow())])
    aggregate()
    from app.analytics import rollups

    with session_scope() as session:
        rollups.sync_orders(session)
    merchant = token_for(shop["owner"])
    response = client.get("/v1/merchant/creators/discover", headers=merchant)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    handles = [i["handle"] for i in items]
    assert handles.index("real_seller") < handles.index("big_buyer")
    by_handle = {i["handle"]: i for i in items}
    assert by_handle["big_buyer"]["followers"] > by_handle["real_seller"]["followers"]
    assert by_handle["big_buyer"]["authenticity"]["score"] < by_handle["real_seller"]["authenticity"]["score"]
    assert by_handle["real_seller"]["evidence"]["orders"] == 3
    assert by_handle["big_buyer"]["evidence"]["filtered"]["likes"] == 15
    assert by_handle["real_seller"]["evidence"]["period"]["tz"] == "UTC"
    # filters and sorting
    strict = client.get("/v1/merchant/creators/discover?min_authenticity=90", headers=merchant).json()[
        "items"
    ]
    assert "big_buyer" not in [i["handle"] for i in strict]
    by_followers = client.get("/v1/merchant/creators/discover?sort=followers", headers=merchant).json()[
        "items"
    ]
    assert by_followers[0]["handle"] == "big_buyer"
    # shortlist
    assert (
        client.put(
            "/v1/merchant/creators/shortlist/real_seller", json={"note": "=cmd"}, headers=merchant
        ).status_code
        == 200
    )
    listed = client.get("/v1/merchant/creators/shortlist", headers=merchant).json()["items"]
    assert [i["handle"] for i in listed] == ["real_seller"]
    assert client.delete("/v1/merchant/creators/shortlist/real_seller", headers=merchant).status_code == 204
    assert client.get("/v1/merchant/creators/shortlist", headers=merchant).json()["items"] == []
