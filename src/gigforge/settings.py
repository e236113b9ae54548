"""One validated configuration for the whole process, read from GIGFORGE_* and gigforge.toml."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Literal

from limits import parse as parse_limit
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


def _is_service_account_key(value: SecretStr | None) -> bool:
    import json

    if value is None:
        return False
    try:
        document = json.loads(value.get_secret_value())
    except ValueError:
        return False
    return isinstance(document, dict) and all(
        isinstance(document.get(name), str) for name in ("client_email", "private_key")
    )


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
        default=None,
        description=(
            "Shares integration rate budgets and API rate limits across processes (redis://...)"
        ),
    )
    rate_limits_enabled: bool = Field(
        default=True,
        description="Limit API calls per caller, with RateLimit headers on every API answer",
    )
    rate_limit_read: str = Field(
        default="600/minute", description="Each caller's GET/HEAD/OPTIONS API calls"
    )
    rate_limit_write: str = Field(
        default="120/minute",
        description="Each caller's other API calls and dashboard form submissions",
    )
    rate_limit_auth: str = Field(
        default="20/minute",
        description="Calls per client address to the sign-in, sign-up, reset and token routes",
    )
    rate_limit_auth_paths: list[str] = Field(
        default_factory=lambda: [
            "/api/v1/auth/",
            "/oauth/token",
            "/login",
            "/register",
            "/forgot-password",
            "/reset-password",
        ],
        description="The routes rate_limit_auth covers (an entry ending in / is a prefix)",
    )
    ai_task_budget_micro_usd: int = Field(
        default=50_000, ge=0, description="Hard cap on one AI request, in millionths of a dollar"
    )
    agent_task_budget_micro_usd: int = Field(
        default=500_000,
        ge=0,
        description="Cap on all one agent task spends: its steps, judges and retries (micro-USD)",
    )
    payments_provider: str = Field(
        default="stripe",
        description=(
            "The platform's payment provider (an integration with the payments capability): "
            "clients pay invoices through it and users are paid out through its connected accounts"
        ),
    )
    payments_secret_key: SecretStr | None = Field(
        default=None,
        description=(
            "The platform account's secret API key at the payment provider (Stripe: sk_...); "
            "unset in sandbox mode uses the sandbox's key, otherwise payments are off"
        ),
    )
    payments_webhook_secret: SecretStr | None = Field(
        default=None,
        description="The signing secret of the provider's webhook endpoint (Stripe: whsec_...)",
    )
    payments_base_url: str | None = Field(
        default=None,
        description="The provider's API address; unset is its documented one (or the sandbox)",
    )
    platform_fee_bps: int = Field(
        default=500,
        ge=0,
        le=5000,
        description="The platform's share of each client payment, in basis points (500 = 5 %)",
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

    # File storage (docs/storage.md): deliverables and other files go through gigforge.storage.
    storage_backend: Literal["local", "s3", "gcs", "b2"] = Field(
        default="local",
        description="Where files are kept: a local folder, Amazon S3, Google Cloud Storage or B2",
    )
    storage_local_dir: Path | None = Field(
        default=None, description="The local backend's folder; <data_dir>/storage when unset"
    )
    storage_bucket: str | None = Field(default=None, description="Bucket name (s3, gcs, b2)")
    storage_region: str | None = Field(
        default=None, description="Region: us-east-1 (s3), us-west-004 (b2)"
    )
    storage_endpoint_url: str | None = Field(
        default=None,
        description=(
            "Another S3-compatible or GCS endpoint (MinIO, a test server); b2 builds "
            "https://s3.<region>.backblazeb2.com when unset"
        ),
    )
    storage_prefix: str = Field(
        default="", description="Folder inside the bucket (or local folder) for every key"
    )
    storage_access_key_id: str | None = Field(
        default=None, description="S3 access key id or B2 application key id"
    )
    storage_secret_access_key: SecretStr | None = Field(
        default=None, description="S3 secret access key or B2 application key"
    )
    storage_gcs_credentials: SecretStr | None = Field(
        default=None, description="GCS service account key: the JSON document itself"
    )
    storage_encryption: Literal["provider-default", "sse-s3", "sse-kms"] = Field(
        default="provider-default",
        description=(
            "Server-side encryption: sse-s3 (S3 AES256, B2 SSE-B2) or sse-kms (S3 SSE-KMS, "
            "GCS customer-managed key)"
        ),
    )
    storage_kms_key_id: str | None = Field(
        default=None,
        description="KMS key id or ARN (s3) or key resource name (gcs) for sse-kms",
    )
    storage_signed_url_seconds: int = Field(
        default=900, ge=1, le=604_800, description="How long a download link stays valid"
    )
    storage_multipart_threshold_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=5 * 1024 * 1024,
        description="Uploads larger than this go in parts (S3, B2) or resumable chunks (GCS)",
    )
    storage_part_size_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=5 * 1024 * 1024,
        le=5 * 1024 * 1024 * 1024,
        description="The size of each part of a multipart upload",
    )

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

    @field_validator("rate_limit_read", "rate_limit_write", "rate_limit_auth")
    @classmethod
    def _rate_limit_parses(cls, value: str) -> str:
        try:
            item = parse_limit(value)
        except ValueError:
            item = None
        if item is None or item.amount < 1:
            raise ValueError(
                f"{value!r} is not a rate limit; write it as <count>/<second|minute|hour|day>"
            )
        return value

    @field_validator("allowed_private_hosts")
    @classmethod
    def _allow_list_parses(cls, value: list[str]) -> list[str]:
        AllowList.parse(value)
        return value

    @model_validator(mode="after")
    def _storage_is_complete(self) -> Settings:
        backend = self.storage_backend
        if backend != "local" and not self.storage_bucket:
            raise ValueError(f"GIGFORGE_STORAGE_BUCKET must be set for the {backend} backend")
        if backend == "b2" and not (self.storage_region or self.storage_endpoint_url):
            raise ValueError(
                "GIGFORGE_STORAGE_REGION (us-west-004, say) must be set for the b2 backend"
            )
        if backend in ("s3", "b2") and (
            bool(self.storage_access_key_id) != bool(self.storage_secret_access_key)
        ):
            raise ValueError(
                "GIGFORGE_STORAGE_ACCESS_KEY_ID and GIGFORGE_STORAGE_SECRET_ACCESS_KEY go together"
            )
        if backend == "b2" and not self.storage_access_key_id:
            raise ValueError("GIGFORGE_STORAGE_ACCESS_KEY_ID (a B2 application key id) must be set")
        if backend == "gcs" and not _is_service_account_key(self.storage_gcs_credentials):
            raise ValueError(
                "GIGFORGE_STORAGE_GCS_CREDENTIALS must be a service account key: the JSON "
                "document with client_email and private_key"
            )
        if self.storage_kms_key_id and self.storage_encryption != "sse-kms":
            raise ValueError(
                "GIGFORGE_STORAGE_KMS_KEY_ID is set: also set GIGFORGE_STORAGE_ENCRYPTION=sse-kms"
            )
        if self.storage_encryption == "sse-kms" and backend in ("local", "b2"):
            raise ValueError(f"the {backend} backend has no KMS encryption (sse-kms)")
        kms_without_key = self.storage_encryption == "sse-kms" and not self.storage_kms_key_id
        if backend == "gcs" and kms_without_key:
            raise ValueError("GIGFORGE_STORAGE_KMS_KEY_ID (a Cloud KMS key name) is needed on gcs")
        if self.storage_encryption == "sse-s3" and backend in ("local", "gcs"):
            raise ValueError(
                f"the {backend} backend has no sse-s3 option (gcs always encrypts at rest)"
            )
        if self.storage_part_size_bytes > self.storage_multipart_threshold_bytes:
            raise ValueError(
                "GIGFORGE_STORAGE_PART_SIZE_BYTES must not exceed "
                "GIGFORGE_STORAGE_MULTIPART_THRESHOLD_BYTES"
            )
        return self

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
    def storage_root(self) -> Path:
        return self.storage_local_dir or self.data_dir / "storage"

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
