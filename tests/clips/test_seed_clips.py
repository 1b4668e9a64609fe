from __future__ import annotations

from typing import Any

from app.seed import seed_demo


def test_seed_demo_creates_ready_playable_clips_once(client: Any) -> None:
    first = seed_demo()
    assert first["clips"].startswith("3 ready, 0 other")
    again = seed_demo()
    assert again["clips"] == first["clips"]
    token = client.post(
        "/v1/auth/token", data={"username": "creator@demo.clipshop", "password": "clipshop-demo"}
    ).json()["access_token"]
    page = client.get("/v1/me/clips", headers={"Authorization": f"Bearer {token}"}).json()
    assert len(page["items"]) == 3
    for clip in page["items"]:
        assert clip["status"] == "ready" and clip["height"] > clip["width"] and clip["has_audio"]
        assert 3000 <= clip["duration_ms"] <= 4000 and clip["interests"]
        assert client.get(clip["playback"]["hls"]).text.startswith("#EXTM3U")

    # a conversation to look at: comments from other demo accounts, the creator's reply, a poll
    comments = client.get(f"/v1/clips/{page['items'][-1]['id']}/comments").json()
    assert len(comments["items"]) >= 2
    assert {c["author"]["handle"] for c in comments["items"]} >= {"lea.style", "sam.brews"}
    polls = [client.get(f"/v1/clips/{c['id']}/polls").json() for c in page["items"]]
    assert sum(len(p) for p in polls) == 1
    again_counts = client.get(f"/v1/clips/{page['items'][-1]['id']}/comments").json()
    assert len(again_counts["items"]) == len(comments["items"])  # the second seed added none
