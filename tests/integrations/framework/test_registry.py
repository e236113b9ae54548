from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, Field, SecretStr

from factories import register
from gigforge.integrations.framework import (
    AuthMode,
    Capability,
    Connector,
    IntegrationSpec,
    IntegrationUnavailable,
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


def _vendor_without_its_sdk(root: Path, name: str, missing: str) -> None:
    """A vendor package laid out as ours are: a light `spec` module, and a connector that needs
    an SDK which is not installed."""
    package = root / name
    package.mkdir()
    (package / "__init__.py").write_text('"""A vendor whose SDK is optional."""\n')
    (package / "spec.py").write_text(
        f"from {__name__} import AcmeConnector\n"
        f"SPEC = AcmeConnector.spec.model_copy(update={{'slug': '{name}', 'title': 'Fancy'}})\n"
    )
    (package / "connector.py").write_text(
        f"raise ModuleNotFoundError(\"No module named '{missing}'\", name='{missing}')\n"
    )


def test_a_connector_whose_optional_sdk_is_missing_is_listed_with_how_to_enable_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _vendor_without_its_sdk(tmp_path, "fancy_vendor", "onnxruntime")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry.from_entry_points(
        [_point("fancy_vendor", "fancy_vendor.connector:FancyConnector")]
    )
    assert registry.specs() == []
    [item] = registry.unavailable()
    assert item.spec.title == "Fancy"
    assert item.missing_module == "onnxruntime"
    assert item.extra == "onnx"
    assert item.how_to_enable == (
        "Install it with: pip install 'gigforge[onnx]' (then restart Gigforge)"
    )
    with pytest.raises(IntegrationUnavailable, match=r"gigforge\[onnx\]"):
        registry.get("fancy_vendor")


def test_a_missing_module_that_no_extra_provides_is_named_in_the_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _vendor_without_its_sdk(tmp_path, "plain_vendor", "some_sdk_nobody_ships")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry.from_entry_points(
        [_point("plain_vendor", "plain_vendor.connector:PlainConnector")]
    )
    [item] = registry.unavailable()
    assert item.extra is None
    assert "pip install some_sdk_nobody_ships" in item.how_to_enable


def test_every_shipped_integration_loads_on_the_default_install() -> None:
    registry = Registry.from_entry_points()
    shipped = {point.name for point in entry_points(group="gigforge.integrations")}
    loaded = {spec.slug for spec in registry.specs()}
    optional = {item.spec.slug for item in registry.unavailable()}
    assert loaded | optional == shipped
    assert optional <= {"onnx_local"}, "only heavy optional backends may need an extra"


async def test_catalog_shows_an_unavailable_integration_and_refuses_to_connect_it(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _vendor_without_its_sdk(tmp_path, "fancy_vendor2", "onnxruntime")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry.from_entry_points(
        [
            _point("acme", f"{__name__}:AcmeConnector"),
            _point("fancy_vendor2", "fancy_vendor2.connector:FancyConnector"),
        ]
    )
    app.state.registry = app.state.integrations.registry = registry
    account = await register(client)
    catalog = (await client.get("/api/v1/integrations", headers=account.headers)).json()
    by_slug = {entry["slug"]: entry for entry in catalog["integrations"]}
    assert by_slug["acme"]["available"] is True
    assert by_slug["fancy_vendor2"]["available"] is False
    assert "gigforge[onnx]" in by_slug["fancy_vendor2"]["how_to_enable"]
    one = await client.get("/api/v1/integrations/fancy_vendor2", headers=account.headers)
    assert one.json()["available"] is False
    refused = await client.post(
        "/api/v1/connections",
        headers=account.headers,
        json={"integration": "fancy_vendor2", "config": {"api_key": "k"}},
    )
    assert refused.status_code == 409
    assert "gigforge[onnx]" in refused.json()["detail"]
