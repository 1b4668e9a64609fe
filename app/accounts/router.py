from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile, status
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import func, select

from app.access import access_rule
from app.accounts import service
from app.accounts.dependencies import (
    AdminUser,
    CurrentUser,
    MerchantUser,
    OptionalUser,
    RegisteredUser,
)
from app.accounts.exceptions import RoleRequired
from app.accounts.models import CreatorProfile, MemberRole, MerchantOrganisation, User
from app.accounts.schemas import (
    AdminUserUpdate,
    AvatarUrls,
    CreatorProfileRead,
    InvitationCreate,
    InvitationRead,
    LogoutRequest,
    MemberRead,
    MerchantMembershipRead,
    OrganisationRead,
    OrganisationUpdate,
    RefreshRequest,
    SignupRequest,
    TokenResponse,
    UserPage,
    UserRead,
    UserUpdate,
)
from app.config import get_settings
from app.db import SessionDep
from app.errors import PayloadTooLarge, problem_responses
from app.ratelimit import rate_limit

router = APIRouter()
auth = APIRouter(prefix="/v1/auth", tags=["auth"])
me = APIRouter(prefix="/v1/me", tags=["accounts"])
creators = APIRouter(prefix="/v1/creators", tags=["creators"])
merchant = APIRouter(prefix="/v1/merchant/organisation", tags=["merchant"])
admin = APIRouter(prefix="/v1/admin/users", tags=["admin"])


# --- presenters ---------------------------------------------------------------------------------


def creator_read(profile: CreatorProfile) -> CreatorProfileRead:
    urls = service.avatar_urls(profile)
    return CreatorProfileRead(
        user_id=profile.user_id,
        handle=profile.handle,
        display_name=profile.display_name,
        bio=profile.bio,
        avatar=AvatarUrls(**urls) if urls else None,
    )


def user_read(user: User) -> UserRead:
    membership = user.membership
    return UserRead(
        id=user.id,
        email=user.email,
        role=user.role,
        is_guest=user.is_guest,
        display_name=user.display_name,
        created_at=user.created_at,
        creator=creator_read(user.creator_profile) if user.creator_profile else None,
        merchant=MerchantMembershipRead(
            organisation_id=membership.organisation_id,
            organisation_name=membership.organisation.name,
            role=membership.role,
        )
        if membership
        else None,
    )


def token_response(tokens: service.IssuedTokens) -> TokenResponse:
    return TokenResponse(
        access_token=tokens.access_token,
        expires_in=tokens.expires_in,
        refresh_token=tokens.refresh_token,
        refresh_expires_in=tokens.refresh_expires_in,
        user=user_read(tokens.user),
    )


def organisation_read(organisation: MerchantOrganisation) -> OrganisationRead:
    return OrganisationRead(
        id=organisation.id,
        name=organisation.name,
        slug=organisation.slug,
        description=organisation.description,
        website=organisation.website,
        support_email=organisation.support_email,
        created_at=organisation.created_at,
        members=[
            MemberRead(
                user_id=m.user_id,
                email=m.user.email,
                display_name=m.user.display_name,
                role=m.role,
                joined_at=m.created_at,
            )
            for m in organisation.members
        ],
    )


# --- auth ---------------------------------------------------------------------------------------


@auth.post(
    "/signup",
    response_model=TokenResponse,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 409, 422, 429),
    dependencies=[Depends(rate_limit("signup"))],
    summary="Create an account (or upgrade the calling guest in place)",
)
def signup(request: Request, data: SignupRequest, session: SessionDep, user: OptionalUser) -> TokenResponse:
    account = service.signup(session, data, current_user=user)
    return token_response(service.issue_tokens(session, account, request.headers.get("user-agent")))


@auth.post(
    "/token",
    response_model=TokenResponse,
    responses=problem_responses(401, 422),
    summary="Log in with email and password (OAuth2 password form)",
    openapi_extra={"x-access": "public"},
)
def login(
    request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()], session: SessionDep
) -> TokenResponse:
    user = service.authenticate(session, form.username, form.password)
    return token_response(service.issue_tokens(session, user, request.headers.get("user-agent")))


@auth.post(
    "/refresh",
    response_model=TokenResponse,
    responses=problem_responses(401, 422),
    summary="Rotate a refresh token; reuse of an old one revokes the whole session",
    openapi_extra={"x-access": "public"},
)
def refresh(data: RefreshRequest, session: SessionDep) -> TokenResponse:
    return token_response(service.rotate_refresh_token(session, data.refresh_token))


@auth.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(401, 422),
    summary="Revoke a session (its refresh tokens and access tokens)",
)
def logout(
    request: Request, session: SessionDep, user: OptionalUser, data: LogoutRequest | None = None
) -> Response:
    service.logout(
        session,
        refresh_token=data.refresh_token if data else None,
        current_session_id=getattr(request.state, "auth_session_id", None) if user else None,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@auth.post(
    "/guest",
    response_model=TokenResponse,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(429),
    dependencies=[Depends(rate_limit("signup"))],
    summary="Start a guest session: no account, full feed; upgrade later via /v1/auth/signup",
    openapi_extra={"x-access": "public"},
)
def guest(request: Request, session: SessionDep) -> TokenResponse:
    user = service.create_guest(session)
    return token_response(service.issue_tokens(session, user, request.headers.get("user-agent")))


# --- me -----------------------------------------------------------------------------------------


@me.get("", response_model=UserRead, responses=problem_responses(401))
def read_me(user: CurrentUser) -> UserRead:
    return user_read(user)


@me.patch("", response_model=UserRead, responses=problem_responses(401, 403, 409, 422))
def update_me(data: UserUpdate, user: CurrentUser, session: SessionDep) -> UserRead:
    return user_read(service.update_me(session, user, data))


@me.put(
    "/avatar",
    response_model=CreatorProfileRead,
    responses=problem_responses(401, 403, 413, 422),
    summary="Upload a creator avatar (decoded, EXIF stripped, cropped square, resized, re-encoded)",
)
def upload_avatar(
    user: RegisteredUser, session: SessionDep, file: Annotated[UploadFile, File()]
) -> CreatorProfileRead:
    limit = get_settings().avatar_max_bytes
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"Avatars are limited to {limit} bytes")
    return creator_read(service.set_avatar(session, user, data))


# --- public creator profiles --------------------------------------------------------------------
# ``GET /v1/creators/{handle}`` (profile with followers, clip grid and storefront link) is served
# by the creator programme (``app/creators/router.py``).


# --- merchant organisation ----------------------------------------------------------------------


@access_rule("merchant_member")
def current_organisation(user: MerchantUser, session: SessionDep) -> MerchantOrganisation:
    organisation_id = service.get_merchant_organisation_id(session, user.id)
    if organisation_id is None:
        raise RoleRequired("You do not belong to a merchant organisation", code="no_organisation")
    return service.get_organisation(session, organisation_id)


def owned_organisation(
    organisation: Annotated[MerchantOrganisation, Depends(current_organisation)], user: MerchantUser
) -> MerchantOrganisation:
    member = next((m for m in organisation.members if m.user_id == user.id), None)
    if member is None or member.role is not MemberRole.owner:
        raise RoleRequired("Only an organisation owner can do this", code="owner_required")
    return organisation


CurrentOrganisation = Annotated[MerchantOrganisation, Depends(current_organisation)]
OwnedOrganisation = Annotated[MerchantOrganisation, Depends(owned_organisation)]


@merchant.get("", response_model=OrganisationRead, responses=problem_responses(401, 403))
def read_organisation(organisation: CurrentOrganisation) -> OrganisationRead:
    return organisation_read(organisation)


@merchant.patch("", response_model=OrganisationRead, responses=problem_responses(401, 403, 422))
def update_organisation(
    data: OrganisationUpdate, organisation: OwnedOrganisation, session: SessionDep
) -> OrganisationRead:
    for field in data.model_fields_set:
        value = getattr(data, field)
        if field == "name" and value is None:
            continue
        setattr(organisation, field, value)
    session.flush()
    return organisation_read(organisation)


@merchant.post(
    "/invitations",
    response_model=InvitationRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 403, 422),
    summary="Invite someone to the organisation: they sign up as a merchant with the token",
)
def invite_member(data: InvitationCreate, organisation: OwnedOrganisation) -> InvitationRead:
    email, token, expires_at = service.invite_member(organisation, data.email)
    return InvitationRead(email=email, invitation_token=token, expires_at=expires_at)


@merchant.delete(
    "/members/{user_id}",
    response_model=OrganisationRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def remove_member(
    user_id: uuid.UUID, organisation: OwnedOrganisation, session: SessionDep
) -> OrganisationRead:
    service.remove_member(session, organisation, user_id)
    return organisation_read(organisation)


# --- admin --------------------------------------------------------------------------------------


@admin.get("", response_model=UserPage, responses=problem_responses(401, 403, 422))
def list_users(
    _: AdminUser,
    session: SessionDep,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> UserPage:
    users = list(session.scalars(select(User).order_by(User.created_at, User.id).offset(offset).limit(limit)))
    total = session.scalar(select(func.count()).select_from(User)) or 0
    return UserPage(
        items=[user_read(u) for u in users],
        next_offset=offset + limit if offset + limit < total else None,
    )


@admin.patch("/{user_id}", response_model=UserRead, responses=problem_responses(401, 403, 404, 422))
def admin_update_user(
    user_id: uuid.UUID, data: AdminUserUpdate, _: AdminUser, session: SessionDep
) -> UserRead:
    user = service.get_user(session, user_id)
    if data.is_active is not None:
        user.is_active = data.is_active
        if not data.is_active:
            service.revoke_all_sessions(session, user.id, "disabled")
    session.flush()
    return user_read(user)


router.include_router(auth)
router.include_router(me)
router.include_router(creators)
router.include_router(merchant)
router.include_router(admin)
