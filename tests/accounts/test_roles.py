"""401 when we do not know who you are, 403 when we know and you may not."""

from __future__ import annotations

import io

import pytest
from PIL import Image


@pytest.fixture
def users(make_user):
    return {role: make_user(role) for role in ("viewer", "creator", "merchant", "admin", "guest")}


def test_anonymous_gets_401_everywhere_protected(client):
    for method, path in [
        ("get", "/v1/me"),
        ("get", "/v1/merchant/organisation"),
        ("get", "/v1/admin/users"),
        ("put", "/v1/me/interests"),
    ]:
        response = getattr(client, method)(path, **({"json": {"slugs": []}} if method == "put" else {}))
        assert response.status_code == 401, (method, path, response.text)
        assert response.json()["code"] == "not_authenticated"


def test_merchant_routes_deny_other_roles(client, users):
    for role in ("viewer", "creator", "guest"):
        response = client.get("/v1/merchant/organisation", headers=users[role][1])
        assert response.status_code == 403, role
        assert response.json()["code"] == "role_required"
    assert client.get("/v1/merchant/organisation", headers=users["merchant"][1]).status_code == 200


def test_admin_routes_deny_everyone_else(client, users):
    for role in ("viewer", "creator", "merchant", "guest"):
        assert client.get("/v1/admin/users", headers=users[role][1]).status_code == 403, role
    listing = client.get("/v1/admin/users", headers=users["admin"][1])
    assert listing.status_code == 200
    assert len(listing.json()["items"]) == 5


def test_admin_can_disable_an_account(client, users):
    viewer, viewer_headers = users["viewer"]
    response = client.patch(
        f"/v1/admin/users/{viewer['id']}", json={"is_active": False}, headers=users["admin"][1]
    )
    assert response.status_code == 200
    assert client.get("/v1/me", headers=viewer_headers).status_code == 401


def test_only_creators_have_handles_and_avatars(client, users):
    response = client.patch("/v1/me", json={"handle": "sneaky"}, headers=users["viewer"][1])
    assert response.status_code == 403
    png = io.BytesIO()
    Image.new("RGB", (10, 10)).save(png, "PNG")
    avatar = client.put(
        "/v1/me/avatar", files={"file": ("a.png", png.getvalue(), "image/png")}, headers=users["viewer"][1]
    )
    assert avatar.status_code == 403
    guest_avatar = client.put(
        "/v1/me/avatar", files={"file": ("a.png", png.getvalue(), "image/png")}, headers=users["guest"][1]
    )
    assert guest_avatar.status_code == 403
    assert guest_avatar.json()["code"] == "registration_required"


def test_organisation_invitation_membership_and_removal(client, make_user):
    owner, owner_headers = make_user("merchant")
    invite = client.post(
        "/v1/merchant/organisation/invitations",
        json={"email": "Colleague@Example.com"},
        headers=owner_headers,
    )
    assert invite.status_code == 201
    token = invite.json()["invitation_token"]
    wrong_email = client.post(
        "/v1/auth/signup",
        json={
            "email": "someone-else@example.com",
            "password": "password-123",
            "role": "merchant",
            "invitation_token": token,
        },
    )
    assert wrong_email.status_code == 403 and wrong_email.json()["code"] == "invitation_email_mismatch"
    joined = client.post(
        "/v1/auth/signup",
        json={
            "email": "colleague@example.com",
            "password": "password-123",
            "role": "merchant",
            "invitation_token": token,
        },
    )
    assert joined.status_code == 201
    colleague = joined.json()["user"]
    colleague_headers = {"Authorization": f"Bearer {joined.json()['access_token']}"}
    assert colleague["merchant"]["role"] == "member"
    org = client.get("/v1/merchant/organisation", headers=colleague_headers).json()
    assert {m["user_id"] for m in org["members"]} == {owner["id"], colleague["id"]}

    # Members read the organisation; only owners change it or manage members.
    assert (
        client.patch(
            "/v1/merchant/organisation", json={"name": "Mine"}, headers=colleague_headers
        ).status_code
        == 403
    )
    assert (
        client.delete(
            f"/v1/merchant/organisation/members/{owner['id']}", headers=colleague_headers
        ).status_code
        == 403
    )
    last_owner = client.delete(f"/v1/merchant/organisation/members/{owner['id']}", headers=owner_headers)
    assert last_owner.status_code == 409 and last_owner.json()["code"] == "last_owner"
    renamed = client.patch("/v1/merchant/organisation", json={"name": "Renamed Co"}, headers=owner_headers)
    assert renamed.status_code == 200 and renamed.json()["name"] == "Renamed Co"

    removed = client.delete(f"/v1/merchant/organisation/members/{colleague['id']}", headers=owner_headers)
    assert removed.status_code == 200 and len(removed.json()["members"]) == 1
    gone = client.get("/v1/merchant/organisation", headers=colleague_headers)
    assert gone.status_code == 403 and gone.json()["code"] == "no_organisation"


def test_invitation_token_is_tamper_proof(client):
    response = client.post(
        "/v1/auth/signup",
        json={
            "email": "x@example.com",
            "password": "password-123",
            "role": "merchant",
            "invitation_token": "forged.token.value",
        },
    )
    assert response.status_code == 422 and response.json()["code"] == "invalid_invitation"
