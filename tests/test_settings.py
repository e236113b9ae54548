from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path

import pytest

from gigforge.settings import ConfigurationError, Settings, load_settings


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "GIGFORGE_ENV",
        "GIGFORGE_SECRET_KEY",
        "GIGFORGE_DATABASE_URL",
        "GIGFORGE_MASTER_KEY",
        "GIGFORGE_MASTER_PASSPHRASE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GIGFORGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GIGFORGE_CONFIG", str(tmp_path / "gigforge.toml"))


@pytest.mark.parametrize("env", ["production", "test"])
def test_refuses_to_start_without_a_secret_outside_development(
    monkeypatch: pytest.MonkeyPatch, env: str
) -> None:
    monkeypatch.setenv("GIGFORGE_ENV", env)
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    message = str(raised.value)
    assert "\n" not in message
    assert "GIGFORGE_SECRET_KEY" in message
    assert env in message


@pytest.mark.parametrize("weak", ["change-me", "short-but-random-1234"])
def test_refuses_default_or_short_secrets_in_production(
    monkeypatch: pytest.MonkeyPatch, weak: str
) -> None:
    monkeypatch.setenv("GIGFORGE_ENV", "production")
    monkeypatch.setenv("GIGFORGE_SECRET_KEY", weak)
    with pytest.raises(ConfigurationError):
        load_settings()


def test_production_with_a_strong_secret_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIGFORGE_ENV", "production")
    monkeypatch.setenv("GIGFORGE_SECRET_KEY", "k" * 8 + "0123456789abcdef0123456789abcdef")
    with pytest.raises(ConfigurationError, match="GIGFORGE_MASTER_KEY"):
        load_settings()
    monkeypatch.setenv("GIGFORGE_MASTER_KEY", "A" * 43)
    settings = load_settings()
    assert settings.effective_log_format == "json"
    assert settings.signing_key.endswith("abcdef")


def test_development_keeps_a_generated_key_in_the_data_dir(tmp_path: Path) -> None:
    first = Settings().signing_key
    key_file = tmp_path / "data" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert Settings().signing_key == first
    assert len(first) >= 32


def test_default_database_is_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    url = Settings().effective_database_url
    assert url == f"sqlite+aiosqlite:///{(tmp_path / 'data' / 'gigforge.db').resolve()}"


def test_toml_file_is_read_and_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "gigforge.toml").write_text(
        'log_level = "DEBUG"\naccess_token_ttl = 600\ncors_origins = ["https://app.example"]\n'
    )
    settings = Settings()
    assert settings.log_level == "DEBUG"
    assert settings.access_token_ttl == timedelta(minutes=10)
    assert settings.cors_origins == ["https://app.example"]
    monkeypatch.setenv("GIGFORGE_LOG_LEVEL", "ERROR")
    assert Settings().log_level == "ERROR"


def test_invalid_values_give_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIGFORGE_ENV", "staging")
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert str(raised.value).startswith("env:")
    assert "\n" not in str(raised.value)


def test_argon2_cost_that_cannot_work_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIGFORGE_PASSWORD_HASH_MEMORY_KIB", "8")
    monkeypatch.setenv("GIGFORGE_PASSWORD_HASH_PARALLELISM", "4")
    with pytest.raises(ConfigurationError, match="PARALLELISM"):
        load_settings()
