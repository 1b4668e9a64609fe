"""Report -> hide -> gone from the feed and the share page; restore; suspend; escalation; blocks."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any


def _feed_ids(client: Any, headers: dict[str, str] | None = None) -> list[str]:
    r = client.get("/v1/feed", params={"limit": 50}, headers=headers or {})
    assert r.status_code == 200, r.text
    return [item["clip"]["id"] for item in r.json()["items"]]


def _event(kind: str, clip: Any, **fields: Any) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "type": kind, "at": datetime.now(UTC).isoformat(), "clip_id": str(clip), **fields}


def test_report_hide_gone_from_feed_and_share_page_then_restore(client: Any, make_user: Any, make_clip: Any) -> None:
    creator, creator_h = make_user("creator")
    _, viewer_h = make_user("viewer")
    _, reporter_h = make_user("viewer")
    admin, admin_h = make_user("admin")
    bad = make_clip(creator["id"], caption="fake giveaway")
    good = make_clip(creator["id"], caption="honest review")

    feed = client.get("/v1/feed", params={"limit": 1}, headers=viewer_h).json()  # a session ranked before
    assert {str(bad), str(good)} == set(_feed_ids(client, viewer_h))
    code = client.post(f"/v1/clips/{bad}/shares", headers=viewer_h).json()["code"]
    assert client.get(f"/s/{code}").status_code == 200

    r = client.post("/v1/reports", json={"target_type": "clip", "target_id": str(bad), "reason": "scam"}, headers=reporter_h)
    assert r.status_code == 201, r.text
    again = client.post("/v1/reports", json={"target_type": "clip", "target_id": str(bad), "reason": "spam"}, headers=reporter_h)
    assert again.status_code == 409
    queue = client.get("/v1/admin/moderation/reports", headers=admin_h).json()["items"]
    assert [q["target_id"] for q in queue] == [str(bad)]
    assert queue[0]["context"]["caption"] == "fake giveaway" and queue[0]["context"]["reports_on_target"] == 1
    assert client.get("/v1/admin/moderation/reports", headers=viewer_h).status_code == 403

    decision = client.post(
        f"/v1/admin/moderation/reports/{queue[0]['id']}/decision",
        json={"action": "hide", "reason": "counterfeit giveaway"},
        headers=admin_h,
    )
    assert decision.status_code == 200, decision.text
    assert decision.json()["actor_id"] == admin["id"] and decision.json()["reason"] == "counterfeit giveaway"

    # at once: new sessions, the next page of a session ranked before, the share link
    assert _feed_ids(client, viewer_h) == [str(good)]
    assert str(bad) not in _feed_ids(client)
    later = client.get("/v1/feed", params={"cursor": feed["next_cursor"]}, headers=viewer_h).json()
    assert str(bad) not in [i["clip"]["id"] for i in later["items"]]
    assert client.get(f"/s/{code}").json()["code"] == "share_not_found"
    assert client.get(f"/v1/clips/{bad}/comments").status_code == 404
    assert client.get("/v1/admin/moderation/reports", headers=admin_h).json()["items"] == []
    inbox = client.get("/v1/me/notifications", headers=creator_h).json()["items"]
    assert inbox[0]["kind"] == "moderation" and inbox[0]["body"] == "counterfeit giveaway"

    # other processes learn it from their scan of changed clips
    from app.db import session_scope
    from app.feed import sources
    from app.social import service

    with session_scope() as session:
        rows = {r.id: r.active for r in sources.load_clips(session, changed_since=datetime(2000, 1, 1, tzinfo=UTC))}
        assert rows[bad] is False and rows[good] is True
        assert bad not in {r.id for r in sources.load_clips(session)}
        assert service.hidden_clip_ids(session) == {bad} and service.is_hidden(session, "clip", bad)

    restore = client.post(
        "/v1/admin/moderation/actions",
        json={"target_type": "clip", "target_id": str(bad), "action": "restore", "reason": "appeal upheld"},
        headers=admin_h,
    )
    assert restore.status_code == 201
    assert client.get(f"/s/{code}").status_code == 200
    log = client.get("/v1/admin/moderation/actions", params={"target_id": str(bad)}, headers=admin_h).json()["items"]
    assert [(e["action"], e["reason"]) for e in log] == [("restore", "appeal upheld"), ("hide", "counterfeit giveaway")]


def test_comment_reports_suspension_and_repeat_offenders(client: Any, make_user: Any, make_clip: Any, settings: Any) -> None:
    creator, _ = make_user("creator")
    troll, troll_h = make_user("viewer")
    _, reporter_h = make_user("viewer")
    _, admin_h = make_user("admin")
    clip = make_clip(creator["id"])
    comments = [
        client.post(f"/v1/clips/{clip}/comments", json={"body": f"rude {i}"}, headers=troll_h).json()["id"]
        for i in range(settings.moderation_escalation_strikes + 1)
    ]
    for comment_id in comments[:-1]:
        r = client.post("/v1/reports", json={"target_type": "comment", "target_id": comment_id, "reason": "harassment"}, headers=reporter_h)
        assert r.status_code == 201 and r.json()["escalated"] is False
        client.post(
            "/v1/admin/moderation/actions",
            json={"target_type": "comment", "target_id": comment_id, "action": "hide", "reason": "harassment"},
            headers=admin_h,
        )
    assert client.get(f"/v1/clips/{clip}/comments").json()["comment_count"] == 1
    # the next report about this author is escalated and listed first
    _, other_h = make_user("viewer")
    client.post("/v1/reports", json={"target_type": "clip", "target_id": str(clip), "reason": "spam"}, headers=other_h)
    r = client.post("/v1/reports", json={"target_type": "user", "target_id": troll["id"], "reason": "harassment"}, headers=reporter_h)
    assert r.json()["escalated"] is True
    queue = client.get("/v1/admin/moderation/reports", headers=admin_h).json()["items"]
    assert queue[0]["target_id"] == troll["id"] and queue[0]["context"]["subject_strikes"] == 3
    assert queue[1]["escalated"] is False

    suspend = client.post(
        f"/v1/admin/moderation/reports/{queue[0]['id']}/decision", json={"action": "suspend", "reason": "repeat harassment"}, headers=admin_h
    )
    assert suspend.status_code == 200
    assert client.get("/v1/me", headers=troll_h).status_code == 401
    bad = client.post(
        f"/v1/admin/moderation/reports/{queue[1]['id']}/decision", json={"action": "suspend", "reason": "x"}, headers=admin_h
    )
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_moderation_action"


def test_blocking_hides_clips_and_comments_and_stops_comments(client: Any, make_user: Any, make_clip: Any) -> None:
    annoying, annoying_h = make_user("creator")
    nice, nice_h = make_user("creator")
    viewer, viewer_h = make_user("viewer")
    theirs = [make_clip(annoying["id"]) for _ in range(3)]
    mine = make_clip(nice["id"])
    session_before = client.get("/v1/feed", params={"limit": 1}, headers=viewer_h).json()
    client.post(f"/v1/clips/{mine}/comments", json={"body": "from the annoying one"}, headers=annoying_h)
    client.post(f"/v1/clips/{mine}/comments", json={"body": "from the viewer"}, headers=viewer_h)

    r = client.post("/v1/me/blocks", json={"handle": client.get("/v1/me", headers=annoying_h).json()["creator"]["handle"]}, headers=viewer_h)
    assert r.status_code == 201 and r.json()["user_id"] == annoying["id"]
    assert client.post("/v1/me/blocks", json={"user_id": viewer["id"]}, headers=viewer_h).status_code == 422
    assert [b["user_id"] for b in client.get("/v1/me/blocks", headers=viewer_h).json()] == [annoying["id"]]

    assert _feed_ids(client, viewer_h) == [str(mine)]
    rest = client.get("/v1/feed", params={"cursor": session_before["next_cursor"], "limit": 10}, headers=viewer_h).json()
    assert not {str(c) for c in theirs} & {i["clip"]["id"] for i in rest["items"]}
    assert len(_feed_ids(client)) == 4  # nobody else is affected
    bodies = [c["body"] for c in client.get(f"/v1/clips/{mine}/comments", headers=viewer_h).json()["items"]]
    assert bodies == ["from the viewer"]

    # the blocked user cannot comment on the blocker's clips
    client.post("/v1/me/blocks", json={"user_id": viewer["id"]}, headers=nice_h)
    r = client.post(f"/v1/clips/{mine}/comments", json={"body": "again"}, headers=viewer_h)
    assert r.status_code == 403 and r.json()["code"] == "blocked_by_creator"

    assert client.delete(f"/v1/me/blocks/{annoying['id']}", headers=viewer_h).status_code == 204
    assert len(_feed_ids(client, viewer_h)) == 4


def test_blocks_made_in_another_process_apply_to_the_next_session(client: Any, make_user: Any, make_clip: Any) -> None:
    from app.db import session_scope
    from app.social.models import UserBlock

    annoying, _ = make_user("creator")
    viewer, viewer_h = make_user("viewer")
    make_clip(annoying["id"])
    assert len(_feed_ids(client, viewer_h)) == 1
    with session_scope() as session:  # written by another process: no hook ran here
        session.add(UserBlock(blocker_id=uuid.UUID(viewer["id"]), blocked_id=uuid.UUID(annoying["id"])))
    from app.feed import runtime

    runtime.get_runtime().picks_read.clear()  # as after the few seconds the viewer's state is cached
    assert _feed_ids(client, viewer_h) == []
