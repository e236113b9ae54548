"""`gigforge storage check|put|get|url|versions` against the local folder and against moto."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from gigforge.cli import app
from storage_support import ACCESS_KEY, REGION, SECRET_KEY, Moto

runner = CliRunner()
KEY = f"users/{uuid.UUID('0193a1c2-0000-7000-8000-00000000c11a')}/notes/brief.txt"


@pytest.fixture
def local_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("GIGFORGE_ENV", "development")
    monkeypatch.setenv("GIGFORGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GIGFORGE_CONFIG", str(tmp_path / "absent.toml"))
    for name in ("DATABASE_URL", "SECRET_KEY", "STORAGE_BACKEND", "STORAGE_BUCKET"):
        monkeypatch.delenv(f"GIGFORGE_{name}", raising=False)
    return tmp_path


@pytest.fixture
def s3_env(local_env: Path, monkeypatch: pytest.MonkeyPatch, moto: Moto) -> str:
    bucket = moto.bucket()
    for name, value in {
        "BACKEND": "s3",
        "BUCKET": bucket,
        "REGION": REGION,
        "ENDPOINT_URL": moto.endpoint,
        "ACCESS_KEY_ID": ACCESS_KEY,
        "SECRET_ACCESS_KEY": SECRET_KEY,
    }.items():
        monkeypatch.setenv(f"GIGFORGE_STORAGE_{name}", value)
    return bucket


def test_check_round_trips_on_the_local_folder(local_env: Path) -> None:
    result = runner.invoke(app, ["storage", "check"])
    assert result.exit_code == 0, result.output
    assert "local storage at" in result.output
    for step in ("Write an object", "Read it back", "signed link", "Delete it"):
        assert step in result.output
    assert "FAIL" not in result.output


def test_check_round_trips_on_s3_and_reports_as_json(s3_env: str) -> None:
    result = runner.invoke(app, ["storage", "check", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["backend"] == "s3"
    assert report["bucket"] == s3_env
    assert report["versioning"] == "on"
    assert report["ok"] is True
    assert [step["ok"] for step in report["steps"]] == [True] * 5


def test_check_fails_with_a_reason_when_the_bucket_is_missing(
    s3_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIGFORGE_STORAGE_BUCKET", "gigforge-never-created")
    result = runner.invoke(app, ["storage", "check"])
    assert result.exit_code == 1
    assert "FAIL Reach the backend: The bucket gigforge-never-created does not exist." in (
        result.output
    )
    assert SECRET_KEY not in result.output


def test_put_get_versions_and_url_on_s3(s3_env: str, tmp_path: Path) -> None:
    source = tmp_path / "brief.txt"
    source.write_bytes(b"first brief")
    first = runner.invoke(app, ["storage", "put", KEY, str(source), "--json"])
    assert first.exit_code == 0, first.output
    first_version = json.loads(first.output)["version_id"]
    source.write_bytes(b"second brief")
    second = runner.invoke(
        app, ["storage", "put", KEY, str(source), "--content-type", "text/plain"]
    )
    assert second.exit_code == 0
    assert hashlib.sha256(b"second brief").hexdigest() in second.output

    fetched = runner.invoke(app, ["storage", "get", KEY, "--version", first_version])
    assert fetched.stdout_bytes == b"first brief"
    target = tmp_path / "out.txt"
    assert runner.invoke(app, ["storage", "get", KEY, "-o", str(target)]).exit_code == 0
    assert target.read_bytes() == b"second brief"

    listed = runner.invoke(app, ["storage", "versions", KEY, "--json"])
    assert [entry["version_id"] for entry in json.loads(listed.output)][1] == first_version

    link = runner.invoke(app, ["storage", "url", KEY, "--expires", "60", "--filename", "b.txt"])
    assert link.exit_code == 0, link.output
    assert "X-Amz-Expires=60" in link.output
    assert httpx.get(link.output.strip()).content == b"second brief"


def test_bad_keys_missing_objects_and_bad_settings_are_one_line_errors(
    local_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    climbing = runner.invoke(app, ["storage", "get", "users/../etc/passwd"])
    assert climbing.exit_code == 1
    assert "error:" in climbing.output
    missing = runner.invoke(app, ["storage", "url", KEY])
    assert missing.exit_code == 1
    assert f"No file is stored at {KEY}." in missing.output
    monkeypatch.setenv("GIGFORGE_STORAGE_BACKEND", "s3")
    unset = runner.invoke(app, ["storage", "check"])
    assert unset.exit_code == 2
    assert "GIGFORGE_STORAGE_BUCKET must be set" in unset.output


def test_put_reads_standard_input_and_get_writes_it_out(local_env: Path) -> None:
    stored = runner.invoke(app, ["storage", "put", KEY, "-"], input="from a pipe")
    assert stored.exit_code == 0, stored.output
    assert runner.invoke(app, ["storage", "get", KEY]).stdout_bytes == b"from a pipe"
    link = runner.invoke(app, ["storage", "url", KEY])
    assert link.output.startswith("http://127.0.0.1:8000/files/")
