from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr

from gigforge.integrations.framework import (
    AuthMode,
    Capability,
    IntegrationSpec,
    Pagination,
    TermsOfUse,
)


class ExampleGigsConfig(BaseModel):
    api_key: SecretStr = Field(json_schema_extra={"writeOnly": True}, title="API key")


SPEC = IntegrationSpec(
    slug="example-gigs",
    title="Example Gigs",
    description="An example marketplace, to show how a plugin plugs in",
    capabilities=frozenset({Capability.marketplace}),
    auth_modes=(AuthMode.api_key_header,),
    base_url="https://api.example-gigs.test/v1",
    docs_url="https://example-gigs.test/docs",
    terms=TermsOfUse(
        url="https://example-gigs.test/terms",
        summary="Read jobs for your own account; submit only what you approved.",
    ),
    config_model=ExampleGigsConfig,
    rate_limits=("5/second", "5000/day"),
    pagination=Pagination.page,
    credential_field="api_key",
    credential_header="X-Api-Key",
    credential_scheme="",
    test_call="GET /me",
)
