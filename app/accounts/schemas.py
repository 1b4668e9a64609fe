from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from app.accounts.models import MemberRole, Role
from app.schema_types import Omittable, StrictBool

HANDLE_PATTERN = r"^[a-z0-9_](?:[a-z0-9_.]{1,28})[a-z0-9_]$"


class SignupRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            # the role rules, for generated clients: creators need a handle; merchants create an
            # organisation or join one by invitation (exactly one of the two)
            "allOf": [
                {
                    "if": {"properties": {"role": {"const": "creator"}}, "required": ["role"]},
                    "then": {"required": ["handle"]},
                },
                {
                    "if": {"properties": {"role": {"const": "merchant"}}, "required": ["role"]},
                    "then": {
                        "oneOf": [
                            {"required": ["organisation_name"], "not": {"required": ["invitation_token"]}},
                            {"required": ["invitation_token"], "not": {"required": ["organisation_name"]}},
                        ]
                    },
                },
            ],
            "description": "Creators need `handle`; merchants need `organisation_name` (a new "
            "organisation) or `invitation_token` (join one), not both.",
            "examples": [
                {"email": "ada@example.com", "password": "correct horse battery", "role": "viewer"},
                {
                    "email": "maya@example.com",
                    "password": "correct horse battery",
                    "role": "creator",
                    "handle": "maya.makes",
                    "display_name": "Maya",
                },
                {
                    "email": "shop@example.com",
                    "password": "correct horse battery",
                    "role": "merchant",
                    "organisation_name": "Glow Skincare",
                },
            ]
        }
    )

    email: EmailStr
    password: str = Field(min_length=8, max_length=128)
    role: Literal["viewer", "creator", "merchant"] = "viewer"
    display_name: str | None = Field(default=None, min_length=1, max_length=80)
    # string or absent (null is accepted as absent, but not offered in the schema)
    handle: Annotated[str, Field(pattern=HANDLE_PATTERN)] | SkipJsonSchema[None] = Field(
        default=None, description="Creators: unique public handle"
    )
    organisation_name: Annotated[str, Field(min_length=2, max_length=120)] | SkipJsonSchema[None] = Field(
        default=None, description="Merchants: create this organisation"
    )
    invitation_token: Annotated[str, Field(max_length=1000)] | SkipJsonSchema[None] = Field(
        default=None, description="Merchants: join the organisation that invited this email instead"
    )

    @model_validator(mode="after")
    def _role_fields(self) -> SignupRequest:
        if self.role == "creator" and not self.handle:
            raise ValueError("handle is required when signing up as a creator")
        if self.role == "merchant" and not (self.organisation_name or self.invitation_token):
            raise ValueError(
                "organisation_name or invitation_token is required when signing up as a merchant"
            )
        if self.role == "merchant" and self.organisation_name and self.invitation_token:
            raise ValueError("send either organisation_name or invitation_token, not both")
        return self


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=10, max_length=200)


class LogoutRequest(BaseModel):
    refresh_token: str | None = Field(
        default=None,
        min_length=10,
        max_length=200,
        description="Revoke the session this refresh token belongs to; "
        "without it, the session of the access token is revoked.",
    )


class AvatarUrls(BaseModel):
    jpeg: dict[str, str] = Field(description="Width (px) → JPEG URL")
    webp: dict[str, str] = Field(description="Width (px) → WebP URL")


class CreatorProfileRead(BaseModel):
    user_id: uuid.UUID
    handle: str
    display_name: str
    bio: str | None
    avatar: AvatarUrls | None


class MerchantMembershipRead(BaseModel):
    organisation_id: uuid.UUID
    organisation_name: str
    role: MemberRole


class UserRead(BaseModel):
    id: uuid.UUID
    email: str | None
    role: Role
    is_guest: bool
    display_name: str | None
    created_at: datetime
    creator: CreatorProfileRead | None = None
    merchant: MerchantMembershipRead | None = None


class TokenResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...",
                "token_type": "bearer",
                "expires_in": 900,
                "refresh_token": "Vb3k2...",
                "refresh_expires_in": 2592000,
                "user": {
                    "id": "2f1f7c3e-2b1a-4f0e-9c7d-7c2a5b1e8f10",
                    "email": "ada@example.com",
                    "role": "viewer",
                    "is_guest": False,
                    "display_name": None,
                    "created_at": "2026-01-01T12:00:00Z",
                },
            }
        }
    )

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires")
    refresh_token: str
    refresh_expires_in: int
    user: UserRead


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, min_length=1, max_length=80)
    current_password: str | None = Field(default=None, max_length=128)
    new_password: str | None = Field(default=None, min_length=8, max_length=128)
    # Creators only
    handle: str | None = Field(default=None, pattern=HANDLE_PATTERN)
    bio: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _password_change(self) -> UserUpdate:
        if self.new_password is not None and not self.current_password:
            raise ValueError("current_password is required to set new_password")
        return self


class MemberRead(BaseModel):
    user_id: uuid.UUID
    email: str | None
    display_name: str | None
    role: MemberRole
    joined_at: datetime


class OrganisationRead(BaseModel):
    id: uuid.UUID
    name: str
    slug: str
    description: str | None
    website: str | None
    support_email: str | None
    created_at: datetime
    members: list[MemberRead]


class OrganisationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=2, max_length=120)
    description: str | None = Field(default=None, max_length=2000)
    website: str | None = Field(default=None, max_length=255, pattern=r"^https?://")
    support_email: EmailStr | None = None


class InvitationCreate(BaseModel):
    email: EmailStr = Field(description="Who may join; they sign up as a merchant with the token")


class InvitationRead(BaseModel):
    email: str
    invitation_token: str
    expires_at: datetime


class AdminUserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    is_active: Omittable[StrictBool] = None


class UserPage(BaseModel):
    items: list[UserRead]
    next_offset: int | None
