"""Request and response bodies of the OAuth app and authorization API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from gigforge.accounts.scopes import Scope
from gigforge.kit.schemas import InputSchema, OutputSchema
from gigforge.oauth_server.models import ClientType

AppName = Annotated[str, StringConstraints(min_length=1, max_length=100)]
RedirectUri = Annotated[str, StringConstraints(min_length=1, max_length=2000)]

#: What an app may be granted: everything a user can do except handing out credentials
#: (API keys, other apps) and administering the server.
GRANTABLE_SCOPES: tuple[Scope, ...] = tuple(
    scope
    for scope in Scope
    if scope not in {Scope.admin, Scope.api_keys_read, Scope.api_keys_write}
)


class AppCreate(InputSchema):
    name: AppName
    client_type: ClientType = Field(
        default=ClientType.confidential,
        description="`confidential` apps get a secret; `public` apps (mobile, single-page, "
        "CLI) have none and rely on PKCE alone",
    )
    redirect_uris: list[RedirectUri] = Field(
        min_length=1,
        max_length=10,
        description="Exact redirect URIs: https, or http on a loopback address",
    )
    scopes: list[Scope] = Field(min_length=1, description="The most the app may ask for")


class AppUpdate(InputSchema):
    name: AppName | None = None
    redirect_uris: list[RedirectUri] | None = Field(default=None, min_length=1, max_length=10)
    scopes: list[Scope] | None = Field(default=None, min_length=1)


class AppRead(OutputSchema):
    id: uuid.UUID
    client_id: str
    name: str
    client_type: ClientType
    secret_prefix: str | None = Field(description="The start of the current secret, to tell it")
    redirect_uris: list[str]
    scopes: list[str]
    created_at: datetime
    updated_at: datetime


class AppCreated(AppRead):
    client_secret: str | None = Field(
        description="The client secret; shown only in this response (none for public apps)"
    )


class AuthorizationRead(OutputSchema):
    """An app the user authorized, with every scope its live grants hold."""

    app_id: uuid.UUID
    client_id: str
    app_name: str
    scopes: list[str]
    authorized_at: datetime
    last_used_at: datetime | None
