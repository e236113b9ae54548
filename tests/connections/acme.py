"""A test integration with a sandbox: OAuth 2.0 (PKCE) and API-key flavours of one provider."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gigforge.integrations.framework import (
    AuthMode,
    Capability,
    Connector,
    IntegrationSpec,
    OAuth2Endpoints,
    TermsOfUse,
)
from gigforge.integrations.framework.sandbox import OAuthServer

SANDBOX = "http://acme.sandbox"
GOOD_KEY = "acme-good-key-123"
TERMS = TermsOfUse(url=f"{SANDBOX}/terms", summary="your own account only")


class OAuthConfig(BaseModel):
    pass


class KeyConfig(BaseModel):
    api_key: SecretStr = Field(json_schema_extra={"writeOnly": True})
    region: str = "eu"


class AcmeOAuth(Connector):
    spec = IntegrationSpec(
        slug="acme",
        title="Acme",
        description="OAuth flavour",
        capabilities=frozenset({Capability.crm}),
        auth_modes=(AuthMode.oauth2_authorization_code,),
        base_url=f"{SANDBOX}/api",
        docs_url=f"{SANDBOX}/docs",
        terms=TERMS,
        config_model=OAuthConfig,
        oauth=OAuth2Endpoints(
            authorize_url=f"{SANDBOX}/oauth/authorize",
            token_url=f"{SANDBOX}/oauth/token",
            scopes=("read",),
        ),
    )

    async def test(self) -> dict[str, Any]:
        response = await self.client.get("/me")
        body: dict[str, Any] = response.json()
        return body


class AcmeKey(Connector):
    spec = IntegrationSpec(
        slug="acme-key",
        title="Acme (API key)",
        description="API key flavour",
        capabilities=frozenset({Capability.crm}),
        auth_modes=(AuthMode.api_key_header,),
        base_url=f"{SANDBOX}/api",
        docs_url=f"{SANDBOX}/docs",
        terms=TERMS,
        config_model=KeyConfig,
        credential_field="api_key",
        credential_header="X-Api-Key",
        credential_scheme="",
    )

    async def test(self) -> dict[str, Any]:
        response = await self.client.get("/me")
        body: dict[str, Any] = response.json()
        return body


class AcmeSandbox:
    def __init__(self) -> None:
        self.oauth = OAuthServer(client_id="acme-client", client_secret="acme-secret")
        self.calls = 0
        self.app = Starlette(
            routes=[
                Route("/api/me", self.me),
                *self.oauth.routes(authorize_path="/oauth/authorize", token_path="/oauth/token"),
            ]
        )

    async def me(self, request: Request) -> Response:
        self.calls += 1
        if request.headers.get("x-api-key") == GOOD_KEY:
            return JSONResponse({"user": "key-user"})
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        record = self.oauth.check(token)
        if record is None:
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        return JSONResponse({"user": record.subject})
