"""Authentication and role checks as reusable dependencies.

401 means "we do not know who you are" (no, bad or revoked token); 403 means "we know, and you
may not". Ownership checks chain on these (e.g. ``owned_clip`` depends on ``CreatorUser``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from app.accounts.exceptions import InvalidToken, RoleRequired
from app.accounts.models import AuthSession, Role, User
from app.accounts.security import decode_access_token
from app.db import SessionDep
from app.errors import Unauthorized

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)


def get_optional_user(
    request: Request, session: SessionDep, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> User | None:
    if not token:
        return None
    payload = decode_access_token(token)
    if payload is None:
        raise InvalidToken("The access token is invalid or expired")
    try:
        user_id = uuid.UUID(payload["sub"])
        session_id = uuid.UUID(payload["sid"])
    except (KeyError, ValueError):
        raise InvalidToken("The access token is malformed")
    user = session.get(User, user_id)
    auth_session = session.get(AuthSession, session_id)
    if user is None or not user.is_active:
        raise InvalidToken("The account no longer exists or is disabled")
    if auth_session is None or auth_session.revoked_at is not None or auth_session.user_id != user.id:
        raise InvalidToken("This session has been signed out")
    request.state.auth_session_id = session_id
    return user


def get_current_user(user: Annotated[User | None, Depends(get_optional_user)]) -> User:
    if user is None:
        raise Unauthorized("Sign in or start a guest session")
    return user


OptionalUser = Annotated[User | None, Depends(get_optional_user)]
CurrentUser = Annotated[User, Depends(get_current_user)]
# Every authenticated caller, guests included, may watch and interact.
ViewerOrGuest = CurrentUser


def require_roles(*roles: Role) -> Callable[[User], User]:
    allowed = set(roles)

    def dependency(user: CurrentUser) -> User:
        if user.role not in allowed and user.role is not Role.admin:
            names = " or ".join(sorted(role.value for role in allowed))
            raise RoleRequired(f"This action needs a {names} account")
        return user

    return dependency


def require_registered(user: CurrentUser) -> User:
    if user.is_guest:
        raise RoleRequired("Guests must sign up first", code="registration_required")
    return user


def _require_admin(user: CurrentUser) -> User:
    if user.role is not Role.admin:
        raise RoleRequired("This action needs an admin account")
    return user


RegisteredUser = Annotated[User, Depends(require_registered)]
CreatorUser = Annotated[User, Depends(require_roles(Role.creator))]
MerchantUser = Annotated[User, Depends(require_roles(Role.merchant))]
AdminUser = Annotated[User, Depends(_require_admin)]
