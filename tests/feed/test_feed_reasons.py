"""A feed item's reason names something true of this viewer."""

from __future__ import annotations

from typing import Any


def test_a_guest_who_picked_audio_is_never_told_other_interests_are_theirs(
    client: Any, make_user: Any, make_clip: Any
) -> None:
    names = {"tech.audio": "Audio", "fashion.accessories": "Accessories", "fashion.sneakers": "Sneakers",
             "fashion.bags": "Bags"}  # fmt: skip
    interest_of = {}
    for _ in range(4):
        creator = make_user("creator")[0]
        for slug in names:
            for _ in range(3):
                interest_of[str(make_clip(creator["id"], [slug]))] = slug
    _, guest = make_user("guest")
    picked = client.put("/v1/me/interests", json={"slugs": ["tech.audio"]}, headers=guest)
    assert picked.status_code in (200, 204), picked.text
    response = client.get("/v1/feed", params={"limit": 30}, headers=guest)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert len(items) >= 20
    reasons = [(interest_of[i["clip"]["id"]], i["reason"]["code"], i["reason"]["text"]) for i in items]
    # the audio clips come as the viewer's interest
    assert any(code == "interest" and text == "Popular in Audio" for _, code, text in reasons), reasons
    for slug, code, text in reasons:
        if code == "interest":
            # an "interest" reason is about an interest the viewer picked
            assert text in ("Popular in Audio", "Picked for your interests"), (slug, text)
            assert slug == "tech.audio", (slug, text)
        for other in ("Accessories", "Sneakers", "Bags"):
            assert other not in text, (slug, code, text)
