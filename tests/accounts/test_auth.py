from __future__ import annotations

from datetime import timedelta

import jwt
from sqlalchemy import update

from app.config import get_settings
from tests.conftest import auth_headers


def signup(client, **overrides):
    payload = {"email": "ada@example.com", "password": "password-123", "role": "viewer"}
    payload.update(overrides)
    return client.post("/v1/auth/signup", json=payload)


def login(client, email="ada@example.com", password="password-123"):
    return client.post("/v1/auth/token", data={"username": email, "password": password})


def test_signup_login_and_me(client):
    response = signup(client, email="Ada@Example.com", display_name="Ada")
    assert response.status_code == 201
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["user"]["email"] == "ada@example.com"  # normalised
    assert body["user"]["role"] == "viewer"
    assert body["user"]["is_guest"] is False
    assert "password" not in response.text and "argon2" not in response.text

    logged_in = login(client, email="ADA@example.com")
    assert logged_in.status_code == 200
    me = client.get("/v1/me", headers=auth_headers(logged_in.json()["access_token"]))
    assert me.status_code == 200
    assert me.json()["display_name"] == "Ada"


def test_login_wrong_password_is_401_problem(client):
    signup(client)
    response = login(client, password="wrong-password")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_credentials"
    assert login(client, email="nobody@example.com").json()["code"] == "invalid_credentials"


def test_duplicate_email_and_handle_are_conflicts(client):
    assert signup(client).status_code == 201
    again = signup(client, email="ADA@example.com")
    assert again.status_code == 409 and again.json()["code"] == "email_taken"
    creator = signup(client, email="c1@example.com", role="creator", handle="maya")
    assert creator.status_code == 201
    assert creator.json()["user"]["creator"]["handle"] == "maya"
    taken = signup(client, email="c2@example.com", role="creator", handle="maya")
    assert taken.status_code == 409 and taken.json()["code"] == "handle_taken"


def test_signup_role_specific_fields_and_admin_refused(client):
    missing_handle = signup(client, role="creator")
    assert missing_handle.status_code == 422
    assert missing_handle.json()["code"] == "validation_error"
    missing_org = signup(client, role="merchant")
    assert missing_org.status_code == 422
    admin = signup(client, role="admin")
    assert admin.status_code == 422
    assert any(e["field"] == "body.role" for e in admin.json()["errors"])
    merchant = signup(client, role="merchant", organisation_name="Glow Skincare")
    assert merchant.status_code == 201
    assert merchant.json()["user"]["merchant"]["organisation_name"] == "Glow Skincare"
    assert merchant.json()["user"]["merchant"]["role"] == "owner"


def test_refresh_rotates_and_old_access_token_keeps_working(client):
    tokens = signup(client).json()
    rotated = client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert rotated.status_code == 200
    new = rotated.json()
    assert new["refresh_token"] != tokens["refresh_token"]
    assert client.get("/v1/me", headers=auth_headers(new["access_token"])).status_code == 200
    again = client.post("/v1/auth/refresh", json={"refresh_token": new["refresh_token"]})
    assert again.status_code == 200


def test_refresh_token_reuse_revokes_the_family(client):
    tokens = signup(client).json()
    first = client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).json()
    # An attacker replays the old token: the whole login is revoked ...
    replay = client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert replay.status_code == 401
    assert replay.json()["code"] == "refresh_token_reused"
    # ... including the legitimate newest refresh token and the access tokens of that login.
    legit = client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert legit.status_code == 401
    assert client.get("/v1/me", headers=auth_headers(first["access_token"])).status_code == 401
    # Another login of the same user is unaffected.
    other = login(client).json()
    assert client.get("/v1/me", headers=auth_headers(other["access_token"])).status_code == 200


def test_logout_revokes_session(client):
    tokens = signup(client).json()
    headers = auth_headers(tokens["access_token"])
    assert client.post("/v1/auth/logout", headers=headers).status_code == 204
    assert client.get("/v1/me", headers=headers).status_code == 401
    refreshed = client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 401


def test_logout_with_refresh_token_only(client):
    tokens = signup(client).json()
    response = client.post("/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    assert response.status_code == 204
    assert client.get("/v1/me", headers=auth_headers(tokens["access_token"])).status_code == 401


def test_expired_and_forged_access_tokens_are_401(client):
    tokens = signup(client).json()
    payload = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    payload["exp"] = payload["iat"] - 1
    expired = jwt.encode(payload, get_settings().secret_key, algorithm="HS256")
    response = client.get("/v1/me", headers=auth_headers(expired))
    assert response.status_code == 401 and response.json()["code"] == "invalid_token"
    assert response.headers["www-authenticate"] == "Bearer"
    payload["exp"] = payload["iat"] + 600
    payload["role"] = "admin"
    forged = jwt.encode(payload, "another-secret-of-sufficient-length-000000", algorithm="HS256")
    assert client.get("/v1/me", headers=auth_headers(forged)).status_code == 401
    assert client.get("/v1/me", headers={"Authorization": "Bearer nonsense"}).status_code == 401
    assert client.get("/v1/me").status_code == 401


def test_expired_refresh_token_is_refused(client, db):
    from app.accounts.models import RefreshToken
    from app.db import utcnow

    tokens = signup(client).json()
    db.execute(update(RefreshToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.commit()
    response = client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert response.status_code == 401 and response.json()["code"] == "invalid_token"


def test_guest_session_and_upgrade_keeps_id_linked_data(client):
    guest = client.post("/v1/auth/guest")
    assert guest.status_code == 201
    guest_body = guest.json()
    assert guest_body["user"]["is_guest"] is True and guest_body["user"]["email"] is None
    headers = auth_headers(guest_body["access_token"])
    picked = client.put("/v1/me/interests", json={"slugs": ["beauty.skincare", "tech"]}, headers=headers)
    assert picked.status_code == 200

    upgraded = client.post(
        "/v1/auth/signup",
        json={"email": "was-guest@example.com", "password": "password-123", "role": "viewer"},
        headers=headers,
    )
    assert upgraded.status_code == 201
    body = upgraded.json()
    assert body["user"]["id"] == guest_body["user"]["id"]
    assert body["user"]["is_guest"] is False
    new_headers = auth_headers(body["access_token"])
    interests = client.get("/v1/me/interests", headers=new_headers).json()["items"]
    assert {i["slug"] for i in interests} == {"beauty.skincare", "tech"}
    # The guest's tokens no longer work; the account logs in with its password.
    assert client.get("/v1/me", headers=headers).status_code == 401
    assert login(client, "was-guest@example.com").status_code == 200


def test_registered_user_cannot_signup_again_with_token(client):
    tokens = signup(client).json()
    response = client.post(
        "/v1/auth/signup",
        json={"email": "third@example.com", "password": "password-123"},
        headers=auth_headers(tokens["access_token"]),
    )
    assert response.status_code == 409 and response.json()["code"] == "already_registered"


def test_patch_me_changes_password_and_profile(client):
    tokens = signup(client, role="creator", handle="maker").json()
    headers = auth_headers(tokens["access_token"])
    wrong = client.patch(
        "/v1/me", json={"current_password": "nope-nope", "new_password": "new-password-1"}, headers=headers
    )
    assert wrong.status_code == 401
    ok = client.patch(
        "/v1/me",
        json={"current_password": "password-123", "new_password": "new-password-1", "bio": "I make things"},
        headers=headers,
    )
    assert ok.status_code == 200 and ok.json()["creator"]["bio"] == "I make things"
    assert login(client, password="new-password-1").status_code == 200
    assert login(client).status_code == 401
    unknown = client.patch("/v1/me", json={"role": "admin"}, headers=headers)
    assert unknown.status_code == 422
