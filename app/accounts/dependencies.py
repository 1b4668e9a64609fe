"""Authentication and role checks as reusable dependencies.

401 means "we do not know who you are" (no, bad or revoked token); 403 means "we know, and you
may not". Ownership checks chain on these (e.g. ``owned_clip`` depends on ``CreatorUser``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import Scope

from app.access import access_rule
from app.accounts.exceptions import InvalidToken, RoleRequired
from app.accounts.models import AuthSession, Role, User
from app.accounts.security import read_access_token, sign_in_is_live
from app.db import SessionDep, session_scope
from app.errors import (
    DomainError,
    Unauthorized,
    domain_error_response,
    is_unavailable_error,
    unavailable_response,
)

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)


@access_rule("public")
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


@access_rule("authenticated")
def get_current_user(user: Annotated[User | None, Depends(get_optional_user)]) -> User:
    if user is None:
        raise Unauthorized("Sign in or start a guest session")
    return user


def _bearer_token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


def _check_sign_in(token: str) -> None:
    claims = read_access_token(token)
    with session_scope() as session:
        user = session.get(User, claims.user_id)
        if not sign_in_is_live(user, session.get(AuthSession, claims.session_id)):
            raise InvalidToken("This session has been signed out or the account is disabled")


async def authenticate_headers(scope: Scope) -> Response | None:
    """Authenticates a request from its headers alone, before its body is read (routes with large
    bodies): the refusal to send (401, or 503 when the database is down), or None to go on. The
    route's own dependencies still decide what this caller may do."""
    request = Request(scope)
    token = _bearer_token(scope)
    if token is None:
        return domain_error_response(request, Unauthorized("Sign in first: this route needs a bearer token"))
    try:
        await run_in_threadpool(_check_sign_in, token)
    except DomainError as exc:
        return domain_error_response(request, exc)
    except Exception as exc:
        dependency = is_unavailable_error(exc)
        if dependency is None:
            raise
        return unavailable_response(request, dependency)
    return None


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

    return access_rule(roles[0].value if len(roles) == 1 else "registered")(dependency)


@access_rule("registered")
def require_registered(user: CurrentUser) -> User:
    if user.is_guest:
        raise RoleRequired("Guests must sign up first", code="registration_required")
    return user


@access_rule("admin")
def _require_admin(user: CurrentUser) -> User:
    if user.role is not Role.admin:
        raise RoleRequired("This action needs an admin account")
    return user


RegisteredUser = Annotated[User, Depends(require_registered)]
CreatorUser = Annotated[User, Depends(require_roles(Role.creator))]
MerchantUser = Annotated[User, Depends(require_roles(Role.merchant))]
AdminUser = Annotated[User, Depends(_require_admin)]
