"""`gigforge apps ...` on the server's own database: register, list, rotate, delete, and the
one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gigforge.cli import app

runner = CliRunner()
EMAIL = "dev@example.com"


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("GIGFORGE_ENV", "development")
    monkeypatch.setenv("GIGFORGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GIGFORGE_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.delenv("GIGFORGE_DATABASE_URL", raising=False)
    monkeypatch.delenv("GIGFORGE_SECRET_KEY", raising=False)
    created = runner.invoke(
        app,
        [
            "user",
            "create",
            "--email",
            EMAIL,
            "--full-name",
            "Dev",
            "--password",
            "a long enough passphrase for tests",
        ],
    )
    assert created.exit_code == 0, created.output
    return tmp_path / "data"


def _json(args: list[str]) -> object:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_register_list_rotate_and_delete_an_app(cli_env: Path) -> None:
    created = _json(
        [
            "apps",
            "create",
            "Invoice Robot",
            "--redirect-uri",
            "https://robot.example/cb",
            "--scope",
            "jobs:read",
            "--user",
            EMAIL,
        ]
    )
    assert isinstance(created, dict)
    assert created["client_secret"].startswith("gfs_")
    listed = _json(["apps", "list"])
    assert isinstance(listed, list)
    assert [item["client_id"] for item in listed] == [created["client_id"]]
    assert created["client_secret"] not in json.dumps(listed)

    rotated = _json(["apps", "rotate-secret", created["id"]])
    assert isinstance(rotated, dict)
    assert rotated["client_secret"] not in {None, created["client_secret"]}

    public = runner.invoke(
        app,
        [
            "apps",
            "create",
            "Phone",
            "--public",
            "--redirect-uri",
            "http://127.0.0.1:9/cb",
            "--scope",
            "users:read",
        ],
    )
    assert public.exit_code == 0, public.output
    assert "a public app has no secret" in public.stdout

    deleted = runner.invoke(app, ["apps", "delete", created["id"]])
    assert deleted.exit_code == 0, deleted.output
    assert [item["name"] for item in _json(["apps", "list"])] == ["Phone"]  # type: ignore[union-attr]
    assert "no authorized apps" in runner.invoke(app, ["apps", "authorizations"]).stdout


def test_mistakes_end_with_one_line(cli_env: Path) -> None:
    admin_scope = runner.invoke(
        app, ["apps", "create", "X", "--redirect-uri", "https://x.example/cb", "--scope", "admin"]
    )
    assert admin_scope.exit_code == 1
    assert "Apps cannot be given these scopes: admin" in admin_scope.output
    unknown_scope = runner.invoke(
        app, ["apps", "create", "X", "--redirect-uri", "https://x.example/cb", "--scope", "nope"]
    )
    assert unknown_scope.exit_code == 2
    insecure = runner.invoke(
        app,
        ["apps", "create", "X", "--redirect-uri", "http://x.example/cb", "--scope", "jobs:read"],
    )
    assert insecure.exit_code == 1
    assert "use https" in insecure.output
    assert runner.invoke(app, ["apps", "delete", "not-an-id"]).exit_code == 1
    missing = runner.invoke(app, ["apps", "delete", "5b0f6a52-3f7e-4b53-9b1e-0d7d1c0e2a11"])
    assert missing.exit_code == 1
    assert "No such OAuth app" in missing.output
    revoke = runner.invoke(
        app, ["apps", "authorizations", "--revoke", "5b0f6a52-3f7e-4b53-9b1e-0d7d1c0e2a11"]
    )
    assert revoke.exit_code == 1
    nobody = runner.invoke(app, ["apps", "list", "--user", "nobody@example.com"])
    assert nobody.exit_code == 1
    assert "no account uses nobody@example.com" in nobody.output
