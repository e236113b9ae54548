"""Request and response bodies of the connections API. Secrets go in; they never come out."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from gigforge.connections.models import ConnectionStatus
from gigforge.kit.schemas import InputSchema, OutputSchema

Name = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class ConnectionCreate(InputSchema):
    integration: Annotated[str, StringConstraints(min_length=2, max_length=64)]
    name: Name = "default"
    config: dict[str, Any] = Field(
        default_factory=dict, description="The fields of the integration's config schema"
    )
    base_url: Annotated[str, StringConstraints(max_length=500)] | None = Field(
        default=None, description="Another host for the same API (self-hosted, a sandbox)"
    )
    priority: int = Field(default=100, ge=0, le=10_000, description="Lower is tried first")


class ConnectionUpdate(InputSchema):
    name: Name | None = None
    enabled: bool | None = None
    priority: int | None = Field(default=None, ge=0, le=10_000)
    config: dict[str, Any] | None = None


class ConnectionRead(OutputSchema):
    id: uuid.UUID
    integration: str
    name: str
    auth_mode: str
    status: ConnectionStatus
    priority: int
    config: dict[str, Any]
    base_url: str | None
    token_expires_at: datetime | None
    last_checked_at: datetime | None
    last_error: str | None
    quota_reached_until: datetime | None = Field(
        description="Set when a whole hourly or daily quota was spent: calls wait until then"
    )
    quota_limit: str | None = Field(description="The quota that was spent, e.g. '1000 per 1 day'")
    created_at: datetime


class AuthorizeRead(OutputSchema):
    authorize_url: str


class OAuthCallback(InputSchema):
    code: Annotated[str, StringConstraints(min_length=1, max_length=2048)]
    state: Annotated[str, StringConstraints(min_length=8, max_length=512)]


class ConnectionTestRead(OutputSchema):
    ok: bool
    details: dict[str, Any]
