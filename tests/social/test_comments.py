"""Comments over HTTP: replies, mentions, edits, creator controls, exact counts, pages."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest


def _comment(client: Any, headers: dict[str, str], clip: Any, body: str, parent: str | None = None) -> Any:
    return client.post(f"/v1/clips/{clip}/comments", json={"body": body, "parent_id": parent}, headers=headers)


def _inbox(client: Any, headers: dict[str, str]) -> list[dict[str, Any]]:
    r = client.get("/v1/me/notifications", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_replies_mentions_and_their_notifications(client: Any, make_user: Any, make_clip: Any) -> None:
    creator, creator_h = make_user("creator", handle="maya.makes")
    _other, other_h = make_user("creator", handle="lee_films")
    _viewer, viewer_h = make_user("viewer")
    clip = make_clip(creator["id"])

    r = _comment(client, viewer_h, clip, "Which shade is this, @maya.makes? cc @lee_films @nobody_here")
    assert r.status_code == 201, r.text
    top = r.json()
    assert [m["handle"] for m in top["mentions"]] == ["maya.makes", "lee_films"]
    first = top["mentions"][0]
    assert top["body"][first["start"] : first["end"]] == "@maya.makes"
    assert first["url"].endswith("/v1/creators/maya.makes") and first["user_id"] == creator["id"]
    assert [n["kind"] for n in _inbox(client, other_h)] == ["mention"]

    reply = _comment(client, creator_h, clip, "The coral one!", top["id"]).json()
    assert reply["parent_id"] == top["id"]
    # a reply to a reply joins the same thread (one level)
    nested = _comment(client, other_h, clip, "Agreed", reply["id"]).json()
    assert nested["parent_id"] == top["id"]
    kinds = [n["kind"] for n in _inbox(client, viewer_h)]
    assert kinds.count("reply") == 2
    # the mentioned creator got a mention, not a reply, and nobody is notified of their own words
    assert [n["kind"] for n in _inbox(client, creator_h)] == ["mention"]

    page = client.get(f"/v1/clips/{clip}/comments").json()
    assert page["comment_count"] == 3
    assert [c["id"] for c in page["items"]] == [top["id"]] and page["items"][0]["reply_count"] == 2
    replies = client.get(f"/v1/comments/{top['id']}/replies").json()["items"]
    assert [c["id"] for c in replies] == [reply["id"], nested["id"]]

    # hidden by the creator: a placeholder for everyone else (its thread stays), the text for them
    assert client.post(f"/v1/comments/{top['id']}/hide", headers=creator_h).status_code == 200
    public = client.get(f"/v1/clips/{clip}/comments").json()
    assert public["comment_count"] == 2
    assert (public["items"][0]["body"], public["items"][0]["author"], public["items"][0]["reply_count"]) == (None, None, 2)
    own = client.get(f"/v1/clips/{clip}/comments", headers=creator_h).json()["items"][0]
    assert own["body"].startswith("Which shade") and own["status"] == "hidden"


def test_edit_and_delete_own_creator_pins_hides_and_deletes(client: Any, make_user: Any, make_clip: Any) -> None:
    creator, creator_h = make_user("creator")
    _, a_h = make_user("viewer")
    _, b_h = make_user("viewer")
    clip = make_clip(creator["id"])
    a1 = _comment(client, a_h, clip, "first").json()
    b1 = _comment(client, b_h, clip, "second").json()
    b2 = _comment(client, b_h, clip, "third").json()

    assert client.patch(f"/v1/comments/{a1['id']}", json={"body": "first, edited"}, headers=b_h).status_code == 403
    edited = client.patch(f"/v1/comments/{a1['id']}", json={"body": "first, edited"}, headers=a_h).json()
    assert edited["body"] == "first, edited" and edited["edited_at"] is not None

    assert client.post(f"/v1/comments/{b1['id']}/pin", headers=a_h).status_code == 403
    assert client.post(f"/v1/comments/{a1['id']}/pin", headers=creator_h).json()["pinned"] is True
    names = [c["body"] for c in client.get(f"/v1/clips/{clip}/comments").json()["items"]]
    assert names == ["first, edited", "third", "second"]  # pinned first, then newest first

    assert client.post(f"/v1/comments/{b1['id']}/hide", json={"reason": "off-topic"}, headers=creator_h).status_code == 200
    public = client.get(f"/v1/clips/{clip}/comments").json()
    assert b1["id"] not in [c["id"] for c in public["items"]] and public["comment_count"] == 2
    as_creator = client.get(f"/v1/clips/{clip}/comments", headers=creator_h).json()["items"]
    assert {c["id"]: c["status"] for c in as_creator}[b1["id"]] == "hidden"

    assert client.delete(f"/v1/comments/{b2['id']}", headers=creator_h).status_code == 204
    assert client.delete(f"/v1/comments/{a1['id']}", headers=b_h).status_code == 403
    assert client.delete(f"/v1/comments/{a1['id']}", headers=a_h).status_code == 204
    assert client.delete(f"/v1/comments/{a1['id']}", headers=a_h).status_code == 404
    assert client.get(f"/v1/clips/{clip}/comments").json() == {"items": [], "next_cursor": None, "comment_count": 0}
    assert client.post(f"/v1/comments/{b1['id']}/unhide", headers=creator_h).status_code == 200
    assert client.get(f"/v1/clips/{clip}/comments").json()["comment_count"] == 1


def test_cursor_pages_newest_and_top_first(client: Any, make_user: Any, make_clip: Any) -> None:
    creator, _ = make_user("creator")
    _, viewer_h = make_user("viewer")
    clip = make_clip(creator["id"])
    ids = [_comment(client, viewer_h, clip, f"comment {i}").json()["id"] for i in range(7)]
    for i, n in ((2, 3), (5, 1)):
        for _ in range(n):
            _comment(client, viewer_h, clip, "reply", ids[i])

    def walk(sort: str) -> list[str]:
        seen, cursor = [], None
        while True:
            params: dict[str, Any] = {"limit": 3, "sort": sort}
            if cursor:
                params["cursor"] = cursor
            page = client.get(f"/v1/clips/{clip}/comments", params=params).json()
            seen += [c["id"] for c in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                return seen

    assert walk("newest") == ids[::-1]
    top = walk("top")
    assert top[:2] == [ids[2], ids[5]] and sorted(top) == sorted(ids) and len(top) == 7
    assert client.get(f"/v1/clips/{clip}/comments", params={"cursor": "garbage!"}).json()["code"] == "invalid_cursor"


def test_blocked_words_and_guests(client: Any, make_user: Any, make_clip: Any) -> None:
    creator, _ = make_user("creator")
    _, admin_h = make_user("admin")
    _, viewer_h = make_user("viewer")
    _, guest_h = make_user("guest")
    clip = make_clip(creator["id"])
    assert client.post("/v1/admin/moderation/blocked-words", json={"word": "ScamCoin"}, headers=admin_h).status_code == 201
    r = _comment(client, viewer_h, clip, "buy SCAMCOIN now")
    assert r.status_code == 422 and r.json()["code"] == "blocked_word"
    assert _comment(client, viewer_h, clip, "scamcoins are a different word").status_code == 201
    assert _comment(client, guest_h, clip, "hello").json()["code"] == "registration_required"
    assert _comment(client, viewer_h, uuid.uuid4(), "hello").status_code == 404


@pytest.mark.postgres
def test_100_concurrent_comments_are_counted_exactly(make_user: Any, make_clip: Any, bulk_users: Any) -> None:
    from app.db import session_scope
    from app.social import service
    from tests.social.conftest import user_obj

    creator, _ = make_user("creator")
    clip = make_clip(creator["id"])
    users = [user_obj(u) for u in bulk_users(100)]
    with session_scope() as session:
        parent = service.create_comment(session, users[0], clip, "the thread")
    start = threading.Barrier(100)
    errors: list[BaseException] = []

    def post(user: Any, i: int) -> None:
        try:
            start.wait()
            with session_scope() as session:
                service.create_comment(session, user, clip, f"comment {i}", parent.id if i % 2 else None)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=post, args=(u, i)) for i, u in enumerate(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    with session_scope() as session:
        assert service.clip_counts(session, [clip])[clip] == (101, 0)
        refreshed = service.get_comment(session, parent.id)
        assert refreshed.reply_count == 50
