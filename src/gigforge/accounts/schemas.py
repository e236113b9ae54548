"""Request and response bodies of the accounts API (shapes from the seed API contract)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import EmailStr, Field, StringConstraints

from gigforge.accounts.scopes import Role, Scope
from gigforge.kit.money import MajorAmount
from gigforge.kit.schemas import InputSchema, OutputSchema

FullName = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Password = Annotated[str, Field(min_length=1, max_length=1024)]
OpaqueToken = Annotated[str, Field(min_length=8, max_length=512)]


class RegisterRequest(InputSchema):
    email: EmailStr
    password: Password
    full_name: FullName


class LoginRequest(InputSchema):
    email: EmailStr
    password: Password


class RefreshRequest(InputSchema):
    refresh_token: OpaqueToken


class LogoutRequest(InputSchema):
    refresh_token: OpaqueToken | None = None


class TokenPair(OutputSchema):
    user_id: uuid.UUID
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int = Field(description="Seconds until the access token expires")


class PasswordResetRequest(InputSchema):
    email: EmailStr


class PasswordResetConfirm(InputSchema):
    token: OpaqueToken
    new_password: Password


class Accepted(OutputSchema):
    detail: str


class UserRead(OutputSchema):
    user_id: uuid.UUID = Field(validation_alias="id")
    email: str
    full_name: str
    role: Role
    is_active: bool
    currency: str
    created_at: datetime
    certification_level: int = 0
    wallet_balance: MajorAmount = Decimal(0)
    lifetime_earnings: MajorAmount = Decimal(0)
    client_satisfaction_rating: float = 0
    total_jobs_completed: int = 0


class UserUpdate(InputSchema):
    full_name: FullName | None = None
    email: EmailStr | None = None
    new_password: Password | None = None
    current_password: Password | None = Field(
        default=None, description="Required to change the email or the password"
    )


class UserAdminUpdate(InputSchema):
    role: Role | None = None
    is_active: bool | None = None


class UserStats(OutputSchema):
    member_since: datetime
    active_sessions: int
    active_api_keys: int
    total_jobs_completed: int = 0
    active_jobs: int = 0
    lifetime_earnings: MajorAmount = Decimal(0)
    wallet_balance: MajorAmount = Decimal(0)
    currency: str


class APIKeyCreate(InputSchema):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    scopes: list[Scope] = Field(min_length=1)
    expires_at: datetime | None = None


class APIKeyRead(OutputSchema):
    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class APIKeyCreated(APIKeyRead):
    key: str = Field(description="The key itself; shown only in this response")
