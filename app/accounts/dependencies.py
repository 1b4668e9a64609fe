"""Authentication and role checks as reusable dependencies.

401 means "we do not know who you are" (no, bad or revoked token); 403 means "we know, and you
may not". Ownership checks chain on these (e.g. ``owned_clip`` depends on ``CreatorUser``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from app.accounts.exceptions import InvalidToken, RoleRequired
from app.accounts.models import AuthSession, Role, User
from app.accounts.security import read_access_token, sign_in_is_live
from app.db import SessionDep
from app.errors import Unauthorized

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)


def get_optional_user(
    request: Request, session: SessionDep, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> User | None:
    if not token:
        return None
    claims = read_access_token(token)
    user = session.get(User, claims.user_id)
    if not sign_in_is_live(user, session.get(AuthSession, claims.session_id)):
        raise InvalidToken("This session has been signed out or the account is disabled")
    assert user is not None
    request.state.auth_session_id = claims.session_id
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
