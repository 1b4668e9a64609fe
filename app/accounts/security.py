"""Password hashing (argon2id), access tokens (JWT, HS256) and opaque refresh tokens."""

from __future__ import annotations

import functools
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.accounts.exceptions import InvalidToken
from app.config import get_settings
from app.db import utcnow

if TYPE_CHECKING:
    from app.accounts.models import AuthSession, User

_hasher = PasswordHasher()
_ALGORITHM = "HS256"
_AUDIENCE = "clipshop"
# Verifying against a real hash when the user does not exist keeps login timing uniform.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def create_access_token(user_id: uuid.UUID, role: str, session_id: uuid.UUID) -> tuple[str, datetime]:
    settings = get_settings()
    now = utcnow()
    expires_at = now + timedelta(seconds=settings.access_token_ttl_seconds)
    payload = {
        "sub": str(user_id),
        "role": role,
        "sid": str(session_id),
        "typ": "access",
        "aud": _AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(payload, settings.secret_key, algorithm=_ALGORITHM), expires_at


def decode_access_token(token: str) -> dict[str, Any] | None:
    try:
        payload = jwt.decode(token, get_settings().secret_key, algorithms=[_ALGORITHM], audience=_AUDIENCE)
    except jwt.PyJWTError:
        return None
    if payload.get("typ") != "access":
        return None
    return payload


def create_invitation_token(organisation_id: uuid.UUID, email: str, ttl_seconds: int) -> tuple[str, datetime]:
    """A signed invitation to join a merchant organisation, bound to one email address."""
    expires_at = utcnow() + timedelta(seconds=ttl_seconds)
    payload = {
        "org": str(organisation_id),
        "email": email,
        "typ": "invite",
        "aud": _AUDIENCE,
        "exp": int(expires_at.timestamp()),
    }
    return jwt.encode(payload, get_settings().secret_key, algorithm=_ALGORITHM), expires_at


def decode_invitation_token(token: str) -> dict[str, Any] | None:
    try:
        payload = jwt.decode(token, get_settings().secret_key, algorithms=[_ALGORITHM], audience=_AUDIENCE)
    except jwt.PyJWTError:
        return None
    return payload if payload.get("typ") == "invite" else None


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID
    expires_at: float  # unix time


def read_access_token(token: str) -> AccessClaims:
    """Verify an access token (signature, expiry, audience, type); raise ``InvalidToken``."""
    payload = decode_access_token(token)
    if payload is None:
        raise InvalidToken("The access token is invalid or expired")
    try:
        return AccessClaims(uuid.UUID(payload["sub"]), uuid.UUID(payload["sid"]), float(payload["exp"]))
    except (KeyError, ValueError, TypeError):
        raise InvalidToken("The access token is malformed")


def sign_in_is_live(user: User | None, auth_session: AuthSession | None) -> bool:
    """The account exists and is active, and the sign-in the token belongs to was not revoked."""
    return (
        user is not None
        and user.is_active
        and auth_session is not None
        and auth_session.revoked_at is None
        and auth_session.user_id == user.id
    )


def sign_in_is_live_by_id(connection: Any, user_id: uuid.UUID, session_id: uuid.UUID) -> bool:
    """``sign_in_is_live`` as one query on a connection (no ORM objects: hot read paths)."""
    return bool(connection.execute(_live_query(), {"user_id": user_id, "session_id": session_id}).scalar())


def account_facts_by_id(connection: Any, user_id: uuid.UUID) -> tuple[bool, datetime] | None:
    """(is a guest, created at) of an account as one query on a connection, or ``None``."""
    from sqlalchemy import select

    from app.accounts.models import User

    row = connection.execute(select(User.is_guest, User.created_at).where(User.id == user_id)).first()
    return None if row is None else (bool(row[0]), row[1])


@functools.cache
def _live_query() -> Any:
    """The statement of ``sign_in_is_live_by_id``, built once (building it cost more than running it)."""
    from sqlalchemy import bindparam, select

    from app.accounts.models import AuthSession, User

    return (
        select(User.is_active)
        .join(AuthSession, AuthSession.user_id == User.id)
        .where(
            User.id == bindparam("user_id"),
            AuthSession.id == bindparam("session_id"),
            AuthSession.revoked_at.is_(None),
        )
    )


def new_refresh_token() -> tuple[str, str]:
    """Returns ``(token, sha256 hex)``; only the hash is stored."""
    token = secrets.token_urlsafe(48)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
