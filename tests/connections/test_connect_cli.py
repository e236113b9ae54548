"""`gigforge integrations`, `connect` and `test-integration` against the sandboxes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from gigforge import app as app_module
from gigforge.cli import app as cli
from gigforge.connections.cli import wait_for_callback
from gigforge.integrations.openai.sandbox import SANDBOX_API_KEY

runner = CliRunner()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("GIGFORGE_ENV", "development")
    monkeypatch.setenv("GIGFORGE_SANDBOX", "true")
    monkeypatch.setenv("GIGFORGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GIGFORGE_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("GIGFORGE_PASSWORD_HASH_MEMORY_KIB", "8")
    monkeypatch.setenv("GIGFORGE_PASSWORD_HASH_TIME_COST", "1")
    monkeypatch.setenv("GIGFORGE_PASSWORD_HASH_PARALLELISM", "1")
    for name in ("GIGFORGE_DATABASE_URL", "GIGFORGE_SECRET_KEY", "GIGFORGE_MASTER_KEY"):
        monkeypatch.delenv(name, raising=False)
    created = runner.invoke(
        cli,
        [
            "user",
            "create",
            "--email",
            "me@example.com",
            "--full-name",
            "Me",
            "--password",
            "a long cli passphrase",
        ],
    )
    assert created.exit_code == 0, created.output
    return tmp_path


def test_integrations_list_and_show(cli_env: Path) -> None:
    listed = runner.invoke(cli, ["integrations", "list"])
    assert listed.exit_code == 0, listed.output
    for slug in ("freelancer", "upwork", "stripe", "openai"):
        assert slug in listed.output
    shown = runner.invoke(cli, ["integrations", "show", "stripe"])
    assert shown.exit_code == 0
    assert "Idempotency-Key" in shown.output
    missing = runner.invoke(cli, ["integrations", "show", "nope"])
    assert missing.exit_code == 1


def test_connect_by_key_then_test(cli_env: Path) -> None:
    connected = runner.invoke(cli, ["connect", "openai", "--set", f"api_key={SANDBOX_API_KEY}"])
    assert connected.exit_code == 0, connected.output
    assert "the test call passed" in connected.output
    assert SANDBOX_API_KEY not in connected.output
    tested = runner.invoke(cli, ["test-integration", "openai"])
    assert tested.exit_code == 0, tested.output
    assert "openai (default): ok" in tested.output


def test_connect_prompts_for_a_secret_without_echo(cli_env: Path) -> None:
    result = runner.invoke(
        cli, ["connect", "openai", "--name", "typed"], input=f"{SANDBOX_API_KEY}\n"
    )
    assert result.exit_code == 0, result.output
    assert SANDBOX_API_KEY not in result.output


def test_a_refused_key_is_one_line_and_stores_nothing(cli_env: Path) -> None:
    refused = runner.invoke(cli, ["connect", "openai", "--set", "api_key=sk-wrong-key-000000"])
    assert refused.exit_code == 1
    assert "did not accept the connection" in refused.output
    missing = runner.invoke(cli, ["test-integration", "openai"])
    assert missing.exit_code == 1
    assert "no openai connection named 'default'" in missing.output


async def test_the_local_callback_server_returns_the_redirect_query() -> None:
    ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    waiting = asyncio.create_task(wait_for_callback(ready.set_result))
    port = await ready
    async with httpx.AsyncClient() as client:
        page = await client.get(f"http://127.0.0.1:{port}/callback?code=abc&state=xyz")
    assert "You can close this tab" in page.text
    assert await waiting == {"code": "abc", "state": "xyz"}


async def test_connect_by_oauth_through_a_browser(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    apps: list[FastAPI] = []
    real_create_app = app_module.create_app

    def capture(*args: Any, **kwargs: Any) -> FastAPI:
        apps.append(real_create_app(*args, **kwargs))
        return apps[-1]

    async def consent(url: str) -> None:
        """The user's browser: the sandbox consents, then redirects to the local callback."""
        split = httpx.URL(url)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=apps[-1])) as browser:
            answer = await browser.get(f"http://testserver{split.raw_path.decode()}")
        async with httpx.AsyncClient() as local:
            await local.get(answer.headers["location"])

    def open_browser(url: str) -> bool:
        asyncio.get_running_loop().create_task(consent(url))
        return True

    monkeypatch.setattr(app_module, "create_app", capture)
    monkeypatch.setattr("webbrowser.open", open_browser)
    result = await asyncio.to_thread(runner.invoke, cli, ["connect", "upwork"])
    assert result.exit_code == 0, result.output
    assert "connected upwork as 'default'" in result.output
    # The sandbox that consented issued the tokens the connection now holds. (A sandbox's
    # state lives in its process, so a second CLI run would meet a fresh one.)
    assert apps[-1].state.sandboxes["upwork"].oauth.access_tokens
