"""The template writer wired as production wires it, on the runtime's client, which it must
never use; and folders of the user's own templates, written under tmp_path."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from template_writer_support import ESCAPES, write_folder

from gigforge.integrations.framework import IntegrationRuntime
from gigforge.integrations.template_writer import (
    SPEC,
    TemplateWriterConfig,
    TemplateWriterConnector,
)


@pytest.fixture
def user_dir(tmp_path: Path) -> Path:
    """A folder with one new template, one replacing a shipped one, the escape attempts, and
    files that are not templates."""
    return write_folder(
        tmp_path / "mine",
        {
            "thanks.txt.j2": "Thank you, {{ client_name }}, for {{ title }}.\n",
            "summary.txt.j2": "MY SUMMARY: {{ title }}\n",
            "notes.txt": "not a template",
            "Cover letter.txt.j2": "a name with a space is not offered",
            **{f"{name}.txt.j2": text for name, text in ESCAPES.items()},
        },
    )


@pytest.fixture
def broken_dir(tmp_path: Path) -> Path:
    return write_folder(
        tmp_path / "broken",
        {"follow_up.txt.j2": "Hello {{ client_name }},\n\n{% if title %}\nabout {{ title }}\n"},
    )


@pytest.fixture
def sent() -> list[httpx.Request]:
    """Every HTTP request the connector's client sent; it must stay empty."""
    return []


@pytest.fixture
async def connect(
    sent: list[httpx.Request],
) -> AsyncIterator[Callable[..., TemplateWriterConnector]]:
    """`connect(**config)`: a connector on a policy-layer client that records and refuses
    anything it is asked to send."""
    runtime = IntegrationRuntime()
    clients: list[httpx.AsyncClient] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(599)

    def build(**config: Any) -> TemplateWriterConnector:
        client = runtime.client(SPEC, connection="test", inner=httpx.MockTransport(refuse))
        clients.append(client)
        return TemplateWriterConnector(client, TemplateWriterConfig(**config))

    yield build
    for client in clients:
        await client.aclose()
