"""Admission: per-category thresholds, plain-word reasons, waitlist, operator decisions,
periodic re-evaluation and pluggable criteria."""

from __future__ import annotations

import uuid

from tests.catalog.factories import make_clip


def _clips(
    creator_id: str,
    n: int,
    interest: str = "fashion.sneakers",
    views: int = 0,
    completes: int = 0,
    likes: int = 0,
):
    from sqlalchemy import select

    from app.clips.models import ClipInterest
    from app.db import session_scope
    from app.feed.models import ClipStat
    from app.interests.models import Interest

    for _ in range(n):
        clip_id = make_clip(creator_id)
        with session_scope() as session:
            interest_id = session.scalar(select(Interest.id).where(Interest.slug == interest))
            session.add(ClipInterest(clip_id=clip_id, interest_id=interest_id))
            session.add(ClipStat(clip_id=clip_id, views=views, completes=completes, likes=likes))


def _followers(client, make_user, handle: str, n: int) -> None:
    for _ in range(n):
        _, fan = make_user("guest")
        assert client.post(f"/v1/creators/{handle}/follow", headers=fan).status_code == 200


def test_outcomes_with_reasons_per_category(client, make_user):
    _, admin = make_user("admin")
    creator_user, creator = make_user("creator")
    handle = creator_user["creator"]["handle"]
    _clips(creator_user["id"], 3, views=100, completes=50, likes=10)
    _followers(client, make_user, handle, 3)
    # Fashion asks for a lot; gaming for little.
    for category, thresholds in (
        ("fashion", {"followers": 4, "clips": 5, "engagement_rate": 0.05, "completion_rate": 0.3}),
        ("gaming", {"followers": 2, "clips": 2, "engagement_rate": 0.05, "completion_rate": 0.3}),
    ):
        response = client.put(
            f"/v1/admin/creator-programme/thresholds/{category}",
            json={"thresholds": thresholds},
            headers=admin,
        )
        assert response.status_code == 200, response.text
    applied = client.post("/v1/me/creator-programme/application", json={}, headers=creator)
    assert applied.status_code == 200, applied.text
    body = applied.json()
    # 3/4 followers and 3/5 clips: missed, but by less than half: waitlisted.
    assert body["category"] == "fashion" and body["status"] == "waitlisted"
    failing = {r["criterion"]: r for r in body["evaluation"] if not r["passed"]}
    assert set(failing) == {"followers", "clips"}
    assert failing["followers"]["reason"] == "You have 3 followers on ClipShop; this category asks for 4."
    assert failing["clips"]["improve"] == "Publish 2 more public clips."
    gaming = client.post(
        "/v1/me/creator-programme/application", json={"category": "gaming"}, headers=creator
    ).json()
    assert gaming["status"] == "admitted" and all(
        r["passed"] and r["improve"] is None for r in gaming["evaluation"]
    )
    assert client.get("/v1/me/creator-programme/application", headers=creator).json()["status"] == "admitted"
    # Far below the bar: rejected.
    client.put(
        "/v1/admin/creator-programme/thresholds/gaming",
        json={"thresholds": {"followers": 100}},
        headers=admin,
    )
    rejected = client.post("/v1/me/creator-programme/application", json={}, headers=creator).json()
    assert rejected["status"] == "rejected" and rejected["category"] == "gaming"
    assert (
        client.post(
            "/v1/me/creator-programme/application", json={"category": "nonsense"}, headers=creator
        ).status_code
        == 422
    )
    assert (
        client.put(
            "/v1/admin/creator-programme/thresholds/gaming", json={"thresholds": {"karma": 1}}, headers=admin
        ).status_code
        == 422
    )
    listed = client.get("/v1/admin/creator-programme/thresholds", headers=admin).json()
    assert listed["criteria"] == ["followers", "clips", "engagement_rate", "completion_rate"]
    assert {
        "category": "gaming",
        "thresholds": {"followers": 100.0, "clips": 5.0, "engagement_rate": 0.03, "completion_rate": 0.2},
    } in listed["items"]


def test_operator_override_suspend_and_periodic_reevaluation(client, make_user):
    from datetime import timedelta

    from sqlalchemy import update

    from app.creators import service
    from app.creators.models import CreatorAdmission
    from app.db import session_scope, utcnow

    _, admin = make_user("admin")
    creator_user, creator = make_user("creator")
    assert client.get("/v1/me/creator-programme/application", headers=creator).status_code == 404
    assert (
        client.post("/v1/me/creator-programme/application", json={}, headers=creator).json()["status"]
        == "rejected"
    )
    admitted = client.put(
        f"/v1/admin/creators/{creator_user['id']}/admission",
        json={"status": "admitted", "note": "hand-picked"},
        headers=admin,
    ).json()
    assert (
        admitted["status"] == "admitted"
        and admitted["decided_by_operator"]
        and admitted["note"] == "hand-picked"
    )
    # The operator's decision stands against applying again and re-evaluation.
    assert (
        client.post("/v1/me/creator-programme/application", json={}, headers=creator).json()["status"]
        == "admitted"
    )
    with session_scope() as session:
        session.execute(update(CreatorAdmission).values(next_evaluation_at=utcnow() - timedelta(seconds=1)))
    with session_scope() as session:
        assert service.reevaluate_due(session) == 0
    suspended = client.put(
        f"/v1/admin/creators/{creator_user['id']}/admission", json={"status": "suspended"}, headers=admin
    ).json()
    assert suspended["status"] == "suspended"
    back = client.put(
        f"/v1/admin/creators/{creator_user['id']}/admission", json={"status": "automatic"}, headers=admin
    ).json()
    assert back["status"] == "rejected" and not back["decided_by_operator"]
    # Now the thresholds decide again, periodically.
    client.put(
        "/v1/admin/creator-programme/thresholds/default",
        json={"thresholds": {"followers": 0, "clips": 0, "engagement_rate": 0, "completion_rate": 0}},
        headers=admin,
    )
    with session_scope() as session:
        session.execute(update(CreatorAdmission).values(next_evaluation_at=utcnow() - timedelta(seconds=1)))
    with session_scope() as session:
        assert service.reevaluate_due(session) == 1
    assert client.get("/v1/me/creator-programme/application", headers=creator).json()["status"] == "admitted"
    assert (
        client.put(
            f"/v1/admin/creators/{uuid.uuid4()}/admission", json={"status": "admitted"}, headers=admin
        ).status_code
        == 404
    )
    assert (
        client.put(
            f"/v1/admin/creators/{creator_user['id']}/admission", json={"status": "admitted"}, headers=creator
        ).status_code
        == 403
    )


def test_a_criterion_plugs_in(client, make_user):
    from app.creators import service

    _creator_user, creator = make_user("creator")
    criterion = service.Criterion(
        "authenticity",
        0.8,
        lambda _session, _creator_id, _audience: 0.1,
        lambda v, t: (f"Authenticity {v:.2f} is below {t:.2f}.", "Do not buy followers."),
        is_ratio=True,
    )
    service.register_criterion(criterion)
    try:
        body = client.post("/v1/me/creator-programme/application", json={}, headers=creator).json()
        [result] = [r for r in body["evaluation"] if r["criterion"] == "authenticity"]
        assert result == {
            "criterion": "authenticity",
            "value": 0.1,
            "threshold": 0.8,
            "passed": False,
            "reason": "Authenticity 0.10 is below 0.80.",
            "improve": "Do not buy followers.",
        }
    finally:
        service.CRITERIA.pop("authenticity")
