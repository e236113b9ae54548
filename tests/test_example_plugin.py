"""The example plugin in examples/ registers a marketplace through its declared entry point."""

from __future__ import annotations

import tomllib
from importlib.metadata import EntryPoint
from pathlib import Path

import httpx
import pytest

from gigforge.integrations.framework import (
    Capability,
    HeaderCredentials,
    IntegrationRuntime,
    JobQuery,
    Registry,
    static_secret,
)

PLUGIN = Path(__file__).parent.parent / "examples" / "gigforge-example-marketplace"


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Registry:
    monkeypatch.syspath_prepend(str(PLUGIN / "src"))
    declared = tomllib.loads((PLUGIN / "pyproject.toml").read_text())["project"]["entry-points"][
        "gigforge.integrations"
    ]
    points = [
        EntryPoint(name=name, value=value, group="gigforge.integrations")
        for name, value in declared.items()
    ]
    return Registry.from_entry_points(points)


async def test_the_example_plugin_loads_and_scans_its_sandbox(registry: Registry) -> None:
    from gigforge_example_marketplace.sandbox import SANDBOX_API_KEY, create_sandbox

    [spec] = registry.with_capability(Capability.marketplace)
    assert spec.slug == "example-gigs"
    connector_class = registry.get("example-gigs")
    sandbox = create_sandbox()
    runtime = IntegrationRuntime()
    client = runtime.client(
        spec.rebased("http://sandbox"),
        connection="example",
        credentials=HeaderCredentials(
            static_secret(SANDBOX_API_KEY), header="X-Api-Key", scheme=""
        ),
        inner=httpx.ASGITransport(app=sandbox.app),
    )
    connector = connector_class(client, spec.config_model.model_construct())
    async with client:
        assert await connector.test() == {"account": "sandbox freelancer"}
        postings = [p async for p in connector.search(JobQuery(limit=10))]  # type: ignore[attr-defined]
    assert [p.external_id for p in postings] == ["101", "102", "103"]
    assert postings[0].budget is not None
    assert postings[0].budget.max_minor == 60000
    assert postings[1].budget is None
