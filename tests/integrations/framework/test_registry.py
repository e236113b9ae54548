from __future__ import annotations

from importlib.metadata import EntryPoint

import httpx
from fastapi import FastAPI
from pydantic import BaseModel, Field, SecretStr

from factories import register
from gigforge.integrations.framework import (
    AuthMode,
    Capability,
    Connector,
    IntegrationSpec,
    Registry,
    TermsOfUse,
)


class AcmeConfig(BaseModel):
    api_key: SecretStr = Field(json_schema_extra={"writeOnly": True})
    region: str = "eu"


class AcmeConnector(Connector):
    spec = IntegrationSpec(
        slug="acme",
        title="Acme CRM",
        description="A test CRM",
        capabilities=frozenset({Capability.crm}),
        auth_modes=(AuthMode.api_key_header,),
        base_url="https://api.acme.test/v2",
        docs_url="https://acme.test/docs",
        terms=TermsOfUse(url="https://acme.test/terms", summary="API use for your own account"),
        config_model=AcmeConfig,
        rate_limits=("10/second", "1000/day"),
    )


NOT_A_CONNECTOR = object()


def _point(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group="gigforge.integrations")


def test_registry_loads_good_plugins_and_skips_broken_ones() -> None:
    here = __name__
    registry = Registry.from_entry_points(
        [
            _point("acme", f"{here}:AcmeConnector"),
            _point("missing", "gigforge_no_such_module:Thing"),
            _point("wrong", f"{here}:AcmeConnector"),
            _point("object", f"{here}:NOT_A_CONNECTOR"),
        ]
    )
    assert [spec.slug for spec in registry.specs()] == ["acme"]
    assert registry.with_capability(Capability.crm)[0].title == "Acme CRM"
    assert registry.with_capability(Capability.llm) == []


def test_spec_rebased_keeps_paths() -> None:
    rebased = AcmeConnector.spec.rebased("http://127.0.0.1:8000/sandbox/acme/")
    assert rebased.base_url == "http://127.0.0.1:8000/sandbox/acme/v2"


async def test_catalog_lists_integrations_with_their_forms(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    app.state.registry = Registry([AcmeConnector])
    account = await register(client)
    catalog = (await client.get("/api/v1/integrations", headers=account.headers)).json()
    [acme] = catalog["integrations"]
    assert acme["slug"] == "acme"
    assert acme["rate_limits"] == ["10/second", "1000/day"]
    assert acme["config_schema"]["properties"]["api_key"]["writeOnly"] is True
    assert acme["terms"]["summary"] == "API use for your own account"
    one = await client.get("/api/v1/integrations/acme", headers=account.headers)
    assert one.json()["title"] == "Acme CRM"
    missing = await client.get("/api/v1/integrations/nope", headers=account.headers)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
