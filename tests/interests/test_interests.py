from __future__ import annotations


def test_taxonomy_is_two_levels(client):
    tree = client.get("/v1/interests").json()["items"]
    slugs = {node["slug"] for node in tree}
    assert {"fashion", "beauty", "home", "kitchen", "tech", "gaming", "fitness", "pets"} <= slugs
    beauty = next(node for node in tree if node["slug"] == "beauty")
    assert "beauty.skincare" in {child["slug"] for child in beauty["children"]}
    assert all(child["parent_slug"] == "beauty" for child in beauty["children"])


def test_pick_interests_replaces_selection(client, make_user):
    _, headers = make_user("viewer")
    first = client.put("/v1/me/interests", json={"slugs": ["fashion.sneakers", "tech"]}, headers=headers)
    assert first.status_code == 200
    assert {i["slug"] for i in first.json()["items"]} == {"fashion.sneakers", "tech"}
    second = client.put("/v1/me/interests", json={"slugs": ["pets.dogs"]}, headers=headers)
    assert {i["slug"] for i in second.json()["items"]} == {"pets.dogs"}


def test_unknown_interest_is_refused_and_nothing_changes(client, make_user):
    _, headers = make_user("guest")
    client.put("/v1/me/interests", json={"slugs": ["tech"]}, headers=headers)
    response = client.put("/v1/me/interests", json={"slugs": ["tech.phones", "no.such"]}, headers=headers)
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_interest"
    mine = client.get("/v1/me/interests", headers=headers).json()["items"]
    assert [i["slug"] for i in mine] == ["tech"]


def test_admin_edits_taxonomy(client, make_user):
    _, admin = make_user("admin")
    _, viewer = make_user("viewer")
    body = {"slug": "beauty.nails", "name": "Nails"}
    assert client.post("/v1/admin/interests", json=body, headers=viewer).status_code == 403
    created = client.post("/v1/admin/interests", json=body, headers=admin)
    assert created.status_code == 201
    assert client.post("/v1/admin/interests", json=body, headers=admin).status_code == 409
    hidden = client.patch("/v1/admin/interests/beauty.nails", json={"is_active": False}, headers=admin)
    assert hidden.status_code == 200
    tree = client.get("/v1/interests").json()["items"]
    beauty = next(node for node in tree if node["slug"] == "beauty")
    assert "beauty.nails" not in {c["slug"] for c in beauty["children"]}
