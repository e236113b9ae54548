from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from factories import cli_environment
from gigforge import __version__
from gigforge.cli import app
from gigforge.integrations.framework import IntegrationSpec, Registry

runner = CliRunner()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return cli_environment(monkeypatch, tmp_path)


def test_version() -> None:
    result = runner.invoke(app, ["version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_python_dash_m_works() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gigforge", "version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert f"gigforge {__version__}" in result.stdout


def test_migrate_creates_the_database(cli_env: Path) -> None:
    result = runner.invoke(app, ["migrate"])
    assert result.exit_code == 0, result.output
    assert (cli_env / "gigforge.db").exists()
    again = runner.invoke(app, ["migrate"])
    assert again.exit_code == 0


def test_user_create_then_duplicate_and_weak_password(cli_env: Path) -> None:
    args = ["user", "create", "--email", "root@example.com", "--full-name", "Root"]
    created = runner.invoke(app, [*args, "--password", "a long admin passphrase", "--admin"])
    assert created.exit_code == 0, created.output
    assert "created admin root@example.com" in created.output

    duplicate = runner.invoke(app, [*args, "--password", "a long admin passphrase"])
    assert duplicate.exit_code == 1
    assert "already exists" in duplicate.output

    weak = runner.invoke(
        app,
        [
            "user",
            "create",
            "--email",
            "two@example.com",
            "--full-name",
            "Two",
            "--password",
            "short",
        ],
    )
    assert weak.exit_code == 1
    assert "at least 10 characters" in weak.output


def test_user_create_prompts_for_the_password(cli_env: Path) -> None:
    result = runner.invoke(
        app,
        ["user", "create", "--email", "p@example.com", "--full-name", "Pat"],
        input="prompted passphrase\nprompted passphrase\n",
    )
    assert result.exit_code == 0, result.output
    assert "prompted passphrase" not in result.output


def test_bad_configuration_is_one_line_and_exit_2(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIGFORGE_ENV", "production")
    result = runner.invoke(app, ["migrate"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "GIGFORGE_SECRET_KEY" in lines[0]


@pytest.fixture
def sandbox_cli_env(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GIGFORGE_SANDBOX", "true")
    monkeypatch.delenv("GIGFORGE_MASTER_KEY", raising=False)
    return cli_env


def _specs() -> list[IntegrationSpec]:
    registry = Registry.from_entry_points()
    return registry.specs() + [item.spec for item in registry.unavailable()]


def test_integrations_list_off_a_terminal_prints_every_value_whole(sandbox_cli_env: Path) -> None:
    result = runner.invoke(app, ["integrations", "list"])
    assert result.exit_code == 0, result.output
    assert "…" not in result.output
    lines = result.output.splitlines()
    assert lines[0].split("\t") == [
        "slug",
        "title",
        "capabilities",
        "auth",
        "rate limits",
        "available",
    ]
    rows = {line.split("\t")[0]: line.split("\t") for line in lines[1:]}
    for spec in _specs():
        row = rows[spec.slug]
        assert row[1] == spec.title
        assert row[2] == ", ".join(sorted(spec.capabilities))
        assert row[4] == (", ".join(spec.rate_limits) or "-")
    assert "weworkremotely" in rows


def test_integrations_list_json_is_an_array_of_records_with_stable_keys(
    sandbox_cli_env: Path,
) -> None:
    result = runner.invoke(app, ["integrations", "list", "--json"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    assert [record["slug"] for record in records] == sorted(spec.slug for spec in _specs())
    for record in records:
        assert set(record) == {
            "slug",
            "title",
            "capabilities",
            "auth_modes",
            "rate_limits",
            "available",
            "how_to_enable",
        }
    openai = next(record for record in records if record["slug"] == "openai")
    assert "llm" in openai["capabilities"]
    assert openai["available"] is True


def test_scan_json_prints_only_the_summary_array(sandbox_cli_env: Path) -> None:
    account = ["--email", "me@example.com", "--full-name", "Me", "--password", "a long passphrase"]
    created = runner.invoke(app, ["user", "create", *account])
    assert created.exit_code == 0, created.output
    connected = runner.invoke(app, ["connect", "remoteok"])
    assert connected.exit_code == 0, connected.output

    result = runner.invoke(app, ["scan", "--json"])
    assert result.exit_code == 0, result.output
    [report] = json.loads(result.stdout)
    assert report["integration"] == "remoteok"
    assert report["name"] == "default"
    assert report["new"] > 0
    assert report["error"] is None
    assert set(report) == {
        "connection_id",
        "integration",
        "name",
        "new",
        "updated",
        "duplicates",
        "skipped",
        "error",
    }

    again = runner.invoke(app, ["scan"])
    assert again.exit_code == 0, again.output
    assert "remoteok (default)\t0\t" in again.output
    assert again.output.rstrip().endswith("ok")
