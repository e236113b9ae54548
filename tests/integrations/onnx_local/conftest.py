"""Models built by `onnx_local_models` and saved under tmp_path, and the connector wired as
production wires it: on the runtime's client, which it must never use."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from onnx_local_models import linear_scorer, token_ids_model, two_class_classifier

from gigforge.integrations.framework import IntegrationRuntime
from gigforge.integrations.onnx_local import SPEC, ONNXConfig
from gigforge.integrations.onnx_local.connector import ONNXConnector


@pytest.fixture
def scorer_path(tmp_path: Path) -> Path:
    return linear_scorer(tmp_path / "fit-scorer.onnx")


@pytest.fixture
def classifier_path(tmp_path: Path) -> Path:
    return two_class_classifier(tmp_path / "two-class.onnx")


@pytest.fixture
def token_model_path(tmp_path: Path) -> Path:
    return token_ids_model(tmp_path / "token-ids.onnx")


@pytest.fixture
def sent() -> list[httpx.Request]:
    """Every HTTP request the connector's client sent; it must stay empty."""
    return []


@pytest.fixture
async def connect(
    sent: list[httpx.Request],
) -> AsyncIterator[Callable[..., ONNXConnector]]:
    """`connect(model_path, **config)`: a connector on a policy-layer client that records and
    refuses anything it is asked to send."""
    runtime = IntegrationRuntime()
    clients: list[httpx.AsyncClient] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(599)

    def build(model_path: Path, **config: Any) -> ONNXConnector:
        client = runtime.client(SPEC, connection="test", inner=httpx.MockTransport(refuse))
        clients.append(client)
        return ONNXConnector(client, ONNXConfig(model_path=str(model_path), **config))

    yield build
    for client in clients:
        await client.aclose()
