"""One validated configuration for the whole process, read from GIGFORGE_* and gigforge.toml."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from gigforge.kit.ssrf import DEFAULT_ALLOWED_PRIVATE_HOSTS, AllowList

# Values that ship in docs and examples; never acceptable outside development.
KNOWN_DEFAULT_SECRETS = frozenset({"", "change-me", "changeme", "secret", "dev", "development"})
MIN_SECRET_LENGTH = 32


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class ConfigurationError(Exception):
    """Raised at start when the configuration cannot be used; the message is one line."""


def _config_file() -> Path:
    return Path(os.environ.get("GIGFORGE_CONFIG", "gigforge.toml"))


class OAuthClient(BaseModel):
    """This server's registered OAuth app at one provider."""

    client_id: str
    client_secret: SecretStr


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GIGFORGE_",
        extra="ignore",
        frozen=True,
    )

    env: Environment = Environment.development
    data_dir: Path = Path("var")
    local_files_dir: Path | None = Field(
        default=None,
        description=(
            "The only folder connections may read server files from (local ONNX models, "
            "template folders); <data_dir>/files when unset. Set / on a single-user machine "
            "to allow any path."
        ),
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy async URL; a SQLite file in data_dir when unset"
    )
    secret_key: SecretStr | None = Field(
        default=None, description="Signs access tokens; at least 32 characters outside development"
    )
    master_key: SecretStr | None = Field(
        default=None,
        description="Vault key-encryption key (32 random bytes, base64url); made in development",
    )
    master_passphrase: SecretStr | None = Field(
        default=None, description="Alternative to master_key: the key is derived with Argon2id"
    )
    previous_master_keys: list[SecretStr] = Field(
        default_factory=list,
        description="Keys still accepted for decryption while `gigforge vault rotate` runs",
    )
    public_url: str = "http://127.0.0.1:8000"
    oauth_clients: dict[str, OAuthClient] = Field(
        default_factory=dict,
        description='OAuth apps by integration slug: {"upwork": {"client_id": ..., ...}}',
    )
    redis_url: str | None = Field(
        default=None, description="Shares rate budgets across processes (redis://...)"
    )
    ai_task_budget_micro_usd: int = Field(
        default=50_000, ge=0, description="Hard cap on one AI request, in millionths of a dollar"
    )
    ai_monthly_budget_micro_usd: int = Field(
        default=5_000_000, ge=0, description="Each user's AI spend per calendar month (micro-USD)"
    )
    embedded_worker: bool = Field(
        default=True,
        description=(
            "Run tasks and the scheduler inside `serve`; turn off when `gigforge worker` "
            "processes do the work"
        ),
    )
    task_lease_seconds: int = Field(
        default=60,
        ge=2,
        le=3600,
        description=(
            "How long a background task may go without its worker's heartbeat before it is "
            "taken as abandoned and run again"
        ),
    )
    broker_url: str | None = Field(
        default=None,
        description=(
            "The task broker: unset is in-process (one process); amqp://... is RabbitMQ, "
            "redis://... a Redis stream, for API and worker processes on many machines"
        ),
    )
    sandbox: bool = Field(
        default=False,
        description="Mount every integration's sandbox under /sandbox/<slug> and connect to it",
    )
    allowed_private_hosts: list[str] = Field(
        default_factory=lambda: list(DEFAULT_ALLOWED_PRIVATE_HOSTS),
        description=(
            "Private or local destinations connections may reach anyway, as a JSON list of "
            '"host:port" or CIDR entries; everything else on loopback, private, link-local '
            "or metadata addresses is refused"
        ),
    )
    allow_registration: bool = Field(
        default=True, description="Let anyone sign up; the first account becomes the admin"
    )

    access_token_ttl: timedelta = timedelta(minutes=15)
    refresh_token_ttl: timedelta = timedelta(days=30)
    password_reset_ttl: timedelta = timedelta(minutes=30)

    login_failure_window: timedelta = timedelta(minutes=15)
    login_max_failures_per_account: int = Field(default=5, ge=1)
    login_max_failures_per_ip: int = Field(default=20, ge=1)
    registrations_per_ip: int = Field(
        default=5, ge=1, description="Sign-ups one client address may make per window"
    )
    registration_window: timedelta = Field(
        default=timedelta(hours=1), description="The window of registrations_per_ip"
    )

    # Argon2id cost (RFC 9106 second recommended option is 64 MiB, t=3, p=4).
    password_hash_time_cost: int = Field(default=3, ge=1)
    password_hash_memory_kib: int = Field(default=65536, ge=8)
    password_hash_parallelism: int = Field(default=4, ge=1)

    max_request_body_bytes: int = Field(default=1_048_576, ge=1024)
    cors_origins: list[str] = Field(default_factory=list)
    trusted_proxies: int = Field(
        default=0, ge=0, description="How many X-Forwarded-For hops to trust for the client IP"
    )

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] | None = Field(
        default=None, description="json in production, console otherwise, when unset"
    )

    email_backend: Literal["outbox", "smtp"] = "outbox"
    email_from: str = "Gigforge <no-reply@localhost>"
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_timeout_seconds: float = 10.0

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_config_file())
        return (init_settings, env_settings, toml, file_secret_settings)

    @field_validator("broker_url")
    @classmethod
    def _known_broker(cls, value: str | None) -> str | None:
        if value and not value.startswith(("amqp://", "amqps://", "redis://", "rediss://")):
            raise ValueError(
                "GIGFORGE_BROKER_URL must be an amqp://, amqps://, redis:// or rediss:// URL"
            )
        return value or None

    @field_validator("allowed_private_hosts")
    @classmethod
    def _allow_list_parses(cls, value: list[str]) -> list[str]:
        AllowList.parse(value)
        return value

    @model_validator(mode="after")
    def _argon2_memory_fits_lanes(self) -> Settings:
        if self.password_hash_memory_kib < 8 * self.password_hash_parallelism:
            raise ValueError(
                "GIGFORGE_PASSWORD_HASH_MEMORY_KIB must be at least 8 x "
                "GIGFORGE_PASSWORD_HASH_PARALLELISM (an Argon2 rule)"
            )
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_secrets(self) -> Settings:
        if self.env is Environment.development:
            return self
        for name in ("secret_key",):
            value = getattr(self, name)
            raw = value.get_secret_value() if value is not None else ""
            if raw.lower() in KNOWN_DEFAULT_SECRETS or len(raw) < MIN_SECRET_LENGTH:
                raise ValueError(
                    f"GIGFORGE_{name.upper()} must be set to a random value of at least "
                    f"{MIN_SECRET_LENGTH} characters when GIGFORGE_ENV={self.env.value}"
                )
        if self.master_key is None and self.master_passphrase is None:
            raise ValueError(
                "GIGFORGE_MASTER_KEY (or GIGFORGE_MASTER_PASSPHRASE) must be set when "
                f"GIGFORGE_ENV={self.env.value}; it encrypts stored credentials"
            )
        return self

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'gigforge.db').resolve()}"

    @property
    def local_files_root(self) -> Path:
        return self.local_files_dir or self.data_dir / "files"

    @property
    def effective_log_format(self) -> Literal["json", "console"]:
        if self.log_format is not None:
            return self.log_format
        return "json" if self.env is Environment.production else "console"

    @cached_property
    def signing_key(self) -> str:
        """The access-token key; in development a random one is kept in the data directory."""
        if self.secret_key is not None and self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value()
        key_file = self.data_dir / "secret_key"
        if key_file.exists():
            return key_file.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
        return key


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning a validation failure into one readable line. Overrides win over
    the environment and the file (a command that needs sandbox mode, say)."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigurationError(f"{where}: {message}" if where else message) from None
