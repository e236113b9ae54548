"""Connections that read server files stay inside the server's local files folder."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from factories import AppFactory, make_settings, register


@pytest.fixture
async def confined(app_factory: AppFactory, tmp_path: Path) -> FastAPI:
    return await app_factory(local_files_dir=tmp_path / "files")


async def _connect(app: FastAPI, integration: str, config: dict[str, str]) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        account = await register(client)
        return await client.post(
            "/api/v1/connections",
            json={"integration": integration, "config": config},
            headers=account.headers,
        )


@pytest.mark.parametrize(
    "path",
    ["../outside", "/etc", "templates/../../outside", "~"],
)
async def test_a_folder_outside_the_local_files_folder_is_refused_unseen(
    confined: FastAPI, tmp_path: Path, path: str
) -> None:
    (tmp_path / "outside").mkdir()
    refused = await _connect(confined, "template_writer", {"templates_dir": path})
    assert refused.status_code == 422
    [error] = refused.json()["errors"]
    assert error["loc"] == ["body", "config", "templates_dir"]
    assert error["type"] == "local_path_outside_root"
    assert "no folder" not in refused.text  # nothing said about what exists out there


async def test_a_symlink_out_of_the_folder_is_refused(confined: FastAPI, tmp_path: Path) -> None:
    (tmp_path / "files").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "files" / "link").symlink_to(tmp_path / "outside")
    refused = await _connect(confined, "template_writer", {"templates_dir": "link"})
    assert refused.status_code == 422


async def test_a_relative_path_is_taken_inside_the_folder(
    confined: FastAPI, tmp_path: Path
) -> None:
    templates = tmp_path / "files" / "mine"
    templates.mkdir(parents=True)
    (templates / "proposal.txt.j2").write_text("Hello {{ client_name or 'there' }}")
    created = await _connect(confined, "template_writer", {"templates_dir": "mine"})
    assert created.status_code == 201, created.text
    assert created.json()["config"]["templates_dir"] == str(templates.resolve())

    absolute = await _connect(confined, "template_writer", {"templates_dir": str(templates)})
    assert absolute.status_code == 201, absolute.text
    missing = await _connect(confined, "onnx_local", {"model_path": "absent.onnx"})
    assert missing.status_code == 422
    assert "no model file" in missing.text  # inside the folder, the usual checks apply


def test_the_folder_defaults_to_files_in_the_data_directory(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "sqlite+aiosqlite:///unused.db")
    assert settings.local_files_root == settings.data_dir / "files"
