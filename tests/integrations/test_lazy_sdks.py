"""Start-up never imports a vendor SDK: each is imported when its first connector is built.

The registry loads every connector at start-up (`gigforge serve`, `gigforge worker`, the CLI),
and the `anthropic`, `openai` and `google-genai` SDKs, or ONNX Runtime with numpy, take seconds
each to import on a loaded machine. Each check runs in a fresh interpreter, so nothing another
test imported hides an eager import.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import secrets
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

from gigforge.integrations.framework import Registry

#: Top-level modules (and packages) that only a connector at work may import.
SDK_MODULES = ("anthropic", "openai", "google.genai", "httpx2", "onnxruntime", "numpy")

#: Which module each vendor's first call brings in.
VENDOR_SDKS = {
    "anthropic": "anthropic",
    "openai": "openai",
    "gemini": "google.genai",
    "onnx_local": "onnxruntime",
}

_LOADED = """
def loaded(names):
    return sorted(
        name for name in names if any(m == name or m.startswith(name + ".") for m in sys.modules)
    )
"""

START_UP = (
    """
import asyncio, json, sys
"""
    + _LOADED
    + """
from gigforge.integrations.framework import Registry

registry = Registry.from_entry_points()
import gigforge.cli
import gigforge.worker
from gigforge.app import create_app
from gigforge.settings import load_settings

app = create_app()
process = gigforge.worker.Process.build(load_settings())
print(json.dumps({
    "slugs": [spec.slug for spec in registry.specs()],
    "app_slugs": [spec.slug for spec in app.state.registry.specs()],
    "worker_slugs": [spec.slug for spec in process.registry.specs()],
    "loaded": loaded(SDK_MODULES),
}))
"""
)

FIRST_CALLS = (
    """
import asyncio, json, sys
from pathlib import Path
"""
    + _LOADED
    + """
import httpx
from pydantic import SecretStr

from gigforge.integrations.framework import (
    ChatMessage, ChatRequest, HeaderCredentials, IntegrationRuntime, Registry, static_secret,
)
from gigforge.integrations.anthropic import AnthropicConfig
from gigforge.integrations.anthropic import sandbox as anthropic_sandbox
from gigforge.integrations.gemini import GeminiConfig
from gigforge.integrations.gemini import sandbox as gemini_sandbox
from gigforge.integrations.onnx_local import ONNXConfig
from gigforge.integrations.openai import OpenAIConfig
from gigforge.integrations.openai import sandbox as openai_sandbox

LLMS = {
    "anthropic": (anthropic_sandbox, AnthropicConfig, "claude-haiku-4-5"),
    "openai": (openai_sandbox, OpenAIConfig, "gpt-4o-mini"),
    "gemini": (gemini_sandbox, GeminiConfig, "gemini-2.5-flash"),
}


async def main():
    registry = Registry.from_entry_points()
    runtime = IntegrationRuntime()
    report = {"before": loaded(SDK_MODULES), "calls": {}}
    for slug, (sandbox_module, config_class, model) in LLMS.items():
        sandbox = sandbox_module.create_sandbox()
        spec = registry.get(slug).spec
        key = sandbox_module.SANDBOX_API_KEY
        client = runtime.client(
            spec.rebased("http://sandbox"),
            connection="lazy-sdk-test",
            credentials=HeaderCredentials(
                static_secret(key), header=spec.credential_header, scheme=spec.credential_scheme
            ),
            inner=httpx.ASGITransport(app=sandbox.app),
        )
        built_before = loaded([VENDOR_SDKS[slug]])
        connector = registry.get(slug)(client, config_class(api_key=SecretStr(key)))
        result = await connector.chat(
            ChatRequest(
                model=model,
                messages=[ChatMessage(role="user", content="Draft a proposal for a Django API")],
            )
        )
        listing = await connector.test()
        report["calls"][slug] = {
            "built_before": built_before,
            "after": loaded([VENDOR_SDKS[slug]]),
            "text": result.text,
            "completion_tokens": result.usage.completion_tokens,
            "models": listing.get("models"),
        }
        await client.aclose()

    from onnx_local_models import linear_scorer

    onnx = registry.get("onnx_local")
    client = runtime.client(onnx.spec, connection="lazy-sdk-test")
    model_path = linear_scorer(Path(sys.argv[1]) / "scorer.onnx")
    built_before = loaded(["onnxruntime"])
    scorer = onnx(client, ONNXConfig(model_path=str(model_path)))
    outputs = await scorer.predict({"features": [1.0, 2.0, 3.0]})
    report["calls"]["onnx_local"] = {
        "built_before": built_before,
        "after": loaded(["onnxruntime"]),
        "outputs": {name: len(values) for name, values in outputs.items()},
    }
    await client.aclose()
    print(json.dumps(report))


asyncio.run(main())
"""
)


def _run(script: str, tmp_path: Path, *args: str) -> dict[str, Any]:
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "GIGFORGE_ENV": "test",
        "GIGFORGE_CONFIG": str(data / "absent.toml"),
        "GIGFORGE_DATA_DIR": str(data),
        "GIGFORGE_DATABASE_URL": f"sqlite+aiosqlite:///{data / 'gigforge.db'}",
        "GIGFORGE_SECRET_KEY": secrets.token_urlsafe(48),
        "GIGFORGE_MASTER_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "GIGFORGE_LOG_LEVEL": "WARNING",
        "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).parent / "onnx_local"), os.environ.get("PYTHONPATH", "")]
        ),
    }
    env.pop("GIGFORGE_BROKER_URL", None)
    prelude = f"SDK_MODULES = {SDK_MODULES!r}\nVENDOR_SDKS = {VENDOR_SDKS!r}\n"
    done = subprocess.run(
        [sys.executable, "-c", prelude + script, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def test_start_up_imports_no_vendor_sdk(tmp_path: Path) -> None:
    report = _run(START_UP, tmp_path)

    assert {"anthropic", "openai", "gemini", "onnx_local"} <= set(report["slugs"])
    assert report["app_slugs"] == report["worker_slugs"] == report["slugs"]
    assert report["loaded"] == []


def test_each_sdk_is_imported_by_its_first_connector_and_works(tmp_path: Path) -> None:
    report = _run(FIRST_CALLS, tmp_path, str(tmp_path))

    assert report["before"] == []
    calls = report["calls"]
    for slug, module in VENDOR_SDKS.items():
        assert calls[slug]["built_before"] == [], slug
        assert calls[slug]["after"] == [module], slug
    for slug in ("anthropic", "openai", "gemini"):
        assert "Draft a proposal for a Django API" in calls[slug]["text"], slug
        assert calls[slug]["completion_tokens"] > 0, slug
        assert calls[slug]["models"] > 0, slug
    assert calls["onnx_local"]["outputs"] == {"score": 1}


def test_without_onnx_runtime_the_onnx_connector_is_listed_as_one_to_enable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The connector no longer imports ONNX Runtime up front, yet still fails to load when it
    is not installed, the way the registry needs to explain how to enable it."""
    find_spec = importlib.util.find_spec

    def without_onnxruntime(name: str, package: str | None = None) -> Any:
        return None if name == "onnxruntime" else find_spec(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", without_onnxruntime)
    monkeypatch.delitem(sys.modules, "gigforge.integrations.onnx_local.connector", raising=False)
    [point] = entry_points(group="gigforge.integrations", name="onnx_local")

    registry = Registry.from_entry_points([point])

    assert registry.specs() == []
    [item] = registry.unavailable()
    assert (item.spec.slug, item.missing_module, item.extra) == (
        "onnx_local",
        "onnxruntime",
        "onnx",
    )
