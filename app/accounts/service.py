"""Accounts: sign-up (incl. guest upgrade), login, rotating refresh tokens, profiles.

Services never commit; the request's unit of work does.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.accounts import security
from app.accounts.exceptions import (
    AlreadyRegistered,
    CreatorNotFound,
    EmailTaken,
    HandleTaken,
    InvalidCredentials,
    InvalidToken,
    RefreshTokenReused,
    UserNotFound,
)
from app.accounts.models import (
    AuthSession,
    CreatorProfile,
    MemberRole,
    MerchantMember,
    MerchantOrganisation,
    RefreshToken,
    Role,
    User,
)
from app.accounts.schemas import SignupRequest, UserUpdate
from app.config import get_settings
from app.db import as_utc, on_commit, utcnow
from app.errors import BadRequest, Conflict, Forbidden, Unprocessable
from app.media.images import ImageRejected, render_variants
from app.storage import get_storage

AVATAR_WIDTHS = [64, 128, 256]


@dataclass
class IssuedTokens:
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    user: User


def normalise_email(email: str) -> str:
    return email.strip().lower()


# --- lookups ------------------------------------------------------------------------------------


def get_user(session: Session, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise UserNotFound("User not found")
    return user


def get_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def get_creator_profile(session: Session, user_id: uuid.UUID) -> CreatorProfile | None:
    return session.get(CreatorProfile, user_id)


def get_creator_by_handle(session: Session, handle: str) -> CreatorProfile:
    profile = session.scalar(select(CreatorProfile).where(CreatorProfile.handle == handle.lower()))
    if profile is None:
        raise CreatorNotFound(f"No creator with handle @{handle}")
    return profile


def get_creator_profiles(session: Session, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, CreatorProfile]:
    if not user_ids:
        return {}
    rows = session.scalars(select(CreatorProfile).where(CreatorProfile.user_id.in_(set(user_ids))))
    return {profile.user_id: profile for profile in rows}


def get_creators_by_handles(session: Session, handles: Iterable[str]) -> dict[str, CreatorProfile]:
    """Lower-cased handle -> profile, for the handles that exist."""
    wanted = {handle.lower() for handle in handles}
    if not wanted:
        return {}
    rows = session.scalars(select(CreatorProfile).where(CreatorProfile.handle.in_(wanted)))
    return {profile.handle: profile for profile in rows}


def set_user_active(session: Session, user_id: uuid.UUID, active: bool) -> User:
    """Suspend (sign-ins revoked at once) or reinstate an account."""
    user = get_user(session, user_id)
    user.is_active = active
    if not active:
        revoke_all_sessions(session, user.id, "disabled")
    session.flush()
    return user


def get_merchant_organisation_id(session: Session, user_id: uuid.UUID) -> uuid.UUID | None:
    return session.scalar(select(MerchantMember.organisation_id).where(MerchantMember.user_id == user_id))


def get_organisation(session: Session, organisation_id: uuid.UUID) -> MerchantOrganisation:
    organisation = session.get(MerchantOrganisation, organisation_id)
    if organisation is None:
        raise UserNotFound("Organisation not found")
    return organisation


def avatar_urls(profile: CreatorProfile | None) -> dict[str, dict[str, str]] | None:
    if profile is None or not profile.avatar_key:
        return None
    storage = get_storage()
    return {
        fmt: {str(width): storage.url_for(f"{profile.avatar_key}/{width}.{ext}") for width in AVATAR_WIDTHS}
        for fmt, ext in (("jpeg", "jpg"), ("webp", "webp"))
    }


# --- tokens -------------------------------------------------------------------------------------


def _new_refresh(session: Session, auth_session: AuthSession, ttl: int) -> str:
    token, token_hash = security.new_refresh_token()
    session.add(
        RefreshToken(
            session_id=auth_session.id,
            token_hash=token_hash,
            expires_at=utcnow() + timedelta(seconds=ttl),
        )
    )
    return token


def _refresh_ttl(user: User) -> int:
    settings = get_settings()
    return settings.guest_refresh_token_ttl_seconds if user.is_guest else settings.refresh_token_ttl_seconds


def issue_tokens(session: Session, user: User, user_agent: str | None = None) -> IssuedTokens:
    auth_session = AuthSession(user_id=user.id, user_agent=(user_agent or "")[:255] or None)
    session.add(auth_session)
    session.flush()
    ttl = _refresh_ttl(user)
    refresh = _new_refresh(session, auth_session, ttl)
    access, _ = security.create_access_token(user.id, user.role.value, auth_session.id)
    return IssuedTokens(access, get_settings().access_token_ttl_seconds, refresh, ttl, user)


def revoke_session(session: Session, auth_session_id: uuid.UUID, reason: str) -> None:
    session.execute(
        update(AuthSession)
        .where(AuthSession.id == auth_session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )


def revoke_all_sessions(session: Session, user_id: uuid.UUID, reason: str) -> None:
    session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )


def rotate_refresh_token(session: Session, token: str) -> IssuedTokens:
    """Exchange a refresh token for a new pair. A token used twice means it leaked: the whole
    family (the login it belongs to) is revoked, for the thief and the owner alike."""
    row = session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == security.hash_refresh_token(token))
    )
    if row is None:
        raise InvalidToken("Unknown refresh token")
    auth_session = session.get(AuthSession, row.session_id)
    assert auth_session is not None
    if auth_session.revoked_at is not None:
        raise InvalidToken("This session has been signed out")
    # Claim the token atomically so two concurrent refreshes cannot both succeed.
    claimed = session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == row.id, RefreshToken.used_at.is_(None))
        .values(used_at=utcnow())
        .returning(RefreshToken.id)
    ).first()
    if not claimed:
        revoke_session(session, auth_session.id, "refresh_token_reused")
        raise RefreshTokenReused("Refresh token was already used; the session has been revoked")
    if as_utc(row.expires_at) <= utcnow():
        raise InvalidToken("Refresh token expired")
    user = session.get(User, auth_session.user_id)
    if user is None or not user.is_active:
        raise InvalidToken("Account disabled")
    ttl = _refresh_ttl(user)
    refresh = _new_refresh(session, auth_session, ttl)
    access, _ = security.create_access_token(user.id, user.role.value, auth_session.id)
    return IssuedTokens(access, get_settings().access_token_ttl_seconds, refresh, ttl, user)


def logout(session: Session, *, refresh_token: str | None, current_session_id: uuid.UUID | None) -> None:
    session_id = current_session_id
    if refresh_token:
        row = session.scalar(
            select(RefreshToken).where(RefreshToken.token_hash == security.hash_refresh_token(refresh_token))
        )
        if row is None:
            raise InvalidToken("Unknown refresh token")
        session_id = row.session_id
    if session_id is None:
        raise InvalidToken("Nothing to sign out: send a refresh token or an access token")
    revoke_session(session, session_id, "logout")


def authenticate(session: Session, email: str, password: str) -> User:
    user = get_user_by_email(session, email)
    if not security.verify_password(password, user.password_hash if user else None) or user is None:
        raise InvalidCredentials("Incorrect email or password")
    if not user.is_active:
        raise InvalidCredentials("This account is disabled")
    user.last_login_at = utcnow()
    return user


# --- sign-up ------------------------------------------------------------------------------------


def _slugify(value: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")
    return slug[:40] or "shop"


def _ensure_handle_free(session: Session, handle: str, owner: uuid.UUID | None = None) -> None:
    existing = session.scalar(select(CreatorProfile.user_id).where(CreatorProfile.handle == handle))
    if existing is not None and existing != owner:
        raise HandleTaken(f"The handle @{handle} is taken", field="handle")


def create_organisation(session: Session, name: str, owner: User) -> MerchantOrganisation:
    slug = _slugify(name)
    if session.scalar(select(MerchantOrganisation.id).where(MerchantOrganisation.slug == slug)):
        slug = f"{slug}-{secrets.token_hex(3)}"
    organisation = MerchantOrganisation(name=name, slug=slug)
    session.add(organisation)
    session.flush()
    session.add(MerchantMember(user_id=owner.id, organisation_id=organisation.id, role=MemberRole.owner))
    return organisation


def signup(session: Session, data: SignupRequest, *, current_user: User | None) -> User:
    """Create an account, or upgrade the calling guest in place (same id, so everything linked
    to the guest — interests, events, follows, orders — stays with the account)."""
    email = normalise_email(data.email)
    if current_user is not None and not current_user.is_guest:
        raise AlreadyRegistered("You are already signed up; sign out first to create another account")
    if get_user_by_email(session, email) is not None:
        raise EmailTaken("An account with this email exists", field="email")
    handle = data.handle.lower() if data.handle else None
    if handle:
        _ensure_handle_free(session, handle)

    if current_user is not None:
        user = current_user
        user.is_guest = False
        user.email = email
        user.password_hash = security.hash_password(data.password)
        user.role = Role(data.role)
        user.display_name = data.display_name or user.display_name
        # The guest's tokens described a guest; the upgraded account starts a fresh login.
        revoke_all_sessions(session, user.id, "upgraded")
    else:
        user = User(
            email=email,
            password_hash=security.hash_password(data.password),
            role=Role(data.role),
            display_name=data.display_name,
        )
        session.add(user)
    session.flush()

    if data.role == "creator":
        assert handle is not None
        session.add(CreatorProfile(user_id=user.id, handle=handle, display_name=data.display_name or handle))
    elif data.role == "merchant" and data.invitation_token:
        organisation_id = _accept_invitation(session, data.invitation_token, email)
        session.add(MerchantMember(user_id=user.id, organisation_id=organisation_id, role=MemberRole.member))
    elif data.role == "merchant":
        assert data.organisation_name is not None
        create_organisation(session, data.organisation_name, user)
    session.flush()
    session.refresh(user)
    return user


def _accept_invitation(session: Session, token: str, email: str) -> uuid.UUID:
    payload = security.decode_invitation_token(token)
    if payload is None:
        raise Unprocessable("The invitation is invalid or has expired", code="invalid_invitation")
    if payload.get("email") != email:
        raise Forbidden("This invitation was sent to another email address", code="invitation_email_mismatch")
    organisation_id = uuid.UUID(payload["org"])
    if session.get(MerchantOrganisation, organisation_id) is None:
        raise Unprocessable("The inviting organisation no longer exists", code="invalid_invitation")
    return organisation_id


def create_guest(session: Session) -> User:
    user = User(role=Role.viewer, is_guest=True)
    session.add(user)
    session.flush()
    return user


def create_admin(session: Session, email: str, password: str) -> User:
    email = normalise_email(email)
    user = get_user_by_email(session, email)
    if user is None:
        user = User(email=email, role=Role.admin)
        session.add(user)
    user.role = Role.admin
    user.is_guest = False
    user.is_active = True
    user.password_hash = security.hash_password(password)
    session.flush()
    return user


# --- profile updates ----------------------------------------------------------------------------


def update_me(session: Session, user: User, data: UserUpdate) -> User:
    fields = data.model_fields_set
    if "display_name" in fields and data.display_name is not None:
        user.display_name = data.display_name
    if data.new_password is not None:
        if user.is_guest or not security.verify_password(data.current_password or "", user.password_hash):
            raise InvalidCredentials("current_password is incorrect")
        user.password_hash = security.hash_password(data.new_password)
    creator_fields = fields & {"handle", "bio"}
    if creator_fields:
        profile = get_creator_profile(session, user.id)
        if profile is None:
            raise Forbidden("Only creators have a handle and bio", code="role_required")
        if data.handle is not None and data.handle.lower() != profile.handle:
            _ensure_handle_free(session, data.handle.lower(), owner=user.id)
            profile.handle = data.handle.lower()
        if "bio" in fields:
            profile.bio = data.bio
        if "display_name" in fields and data.display_name:
            profile.display_name = data.display_name
    session.flush()
    return user


def set_avatar(session: Session, user: User, data: bytes) -> CreatorProfile:
    profile = get_creator_profile(session, user.id)
    if profile is None:
        raise Forbidden("Only creators have an avatar", code="role_required")
    settings = get_settings()
    if len(data) > settings.avatar_max_bytes:
        raise BadRequest(f"Avatars are limited to {settings.avatar_max_bytes} bytes", code="image_too_large")
    try:
        variants = render_variants(data, AVATAR_WIDTHS, max_pixels=settings.image_max_pixels, square=True)
    except ImageRejected as exc:
        raise Unprocessable(exc.message, code=exc.code)
    storage = get_storage()
    # A new prefix per upload: CDN caches never serve a stale avatar, and the old set is deleted
    # only once the new one is committed.
    prefix = f"avatars/{user.id}/{uuid.uuid4().hex[:12]}"
    widths_iter = iter(sorted(AVATAR_WIDTHS))
    written: list[str] = []
    try:
        for jpeg, webp in zip(variants[0::2], variants[1::2], strict=True):
            width = next(widths_iter)
            for variant, ext in ((jpeg, "jpg"), (webp, "webp")):
                key = f"{prefix}/{width}.{ext}"
                storage.put_bytes(key, variant.data, variant.content_type)
                written.append(key)
    except BaseException:
        for key in written:
            storage.delete(key)
        raise
    old = profile.avatar_key
    profile.avatar_key = prefix
    session.flush()
    if old:
        on_commit(session, lambda: storage.delete_prefix(old + "/"))
    return profile


# --- organisations ------------------------------------------------------------------------------


def invite_member(organisation: MerchantOrganisation, email: str) -> tuple[str, str, datetime]:
    email = normalise_email(email)
    token, expires_at = security.create_invitation_token(
        organisation.id, email, get_settings().invitation_ttl_seconds
    )
    return email, token, expires_at


def remove_member(session: Session, organisation: MerchantOrganisation, user_id: uuid.UUID) -> None:
    member = session.get(MerchantMember, user_id)
    if member is None or member.organisation_id != organisation.id:
        raise UserNotFound("Not a member of this organisation")
    if member.role is MemberRole.owner:
        owners = [m for m in organisation.members if m.role is MemberRole.owner]
        if len(owners) <= 1:
            raise Conflict("An organisation keeps at least one owner", code="last_owner")
    session.delete(member)
    session.flush()
    session.refresh(organisation)
