"""Small helpers that create real accounts through the API."""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from gigforge.certifications import catalog
from gigforge.certifications.models import Certification
from gigforge.integrations.openai.sandbox import SANDBOX_API_KEY
from gigforge.kit.clock import utcnow
from gigforge.kit.db import unit_of_work
from gigforge.kit.outbox import EventRow
from gigforge.settings import Settings

DEFAULT_PASSWORD = "correct horse battery staple"

# The `app_factory` fixture: `await app_factory(**settings_overrides)` builds the app.
AppFactory = Callable[..., Awaitable[FastAPI]]


@dataclass
class Account:
    user_id: str
    email: str
    password: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


async def register(
    client: httpx.AsyncClient,
    *,
    email: str | None = None,
    password: str = DEFAULT_PASSWORD,
    full_name: str = "Ada Lovelace",
) -> Account:
    email = email or f"user-{uuid.uuid4().hex[:8]}@example.com"
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": email, "password": password, "full_name": full_name},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return Account(body["user_id"], email, password, body["access_token"], body["refresh_token"])


def make_settings(tmp_path: Path, database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "test",
        "secret_key": secrets.token_urlsafe(48),
        "master_key": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "data_dir": tmp_path / "data",
        "database_url": database_url,
        # Argon2id at its cheapest keeps the suite fast; production costs are in Settings.
        "password_hash_time_cost": 1,
        "password_hash_memory_kib": 8,
        "password_hash_parallelism": 1,
        "log_format": "json",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


async def connect_oauth(client: httpx.AsyncClient, account: Account, integration: str) -> str:
    """A real connection through a sandbox's OAuth consent; returns the connection's id."""
    start = await client.get(
        f"/api/v1/connections/{integration}/authorize",
        params={"redirect": "false"},
        headers=account.headers,
    )
    assert start.status_code == 200, start.text
    url = urlsplit(start.json()["authorize_url"])
    consent = await client.get(f"{url.path}?{url.query}")
    back = parse_qs(urlsplit(consent.headers["location"]).query)
    done = await client.get(
        f"/api/v1/connections/{integration}/callback",
        params={"code": back["code"][0], "state": back["state"][0]},
        headers=account.headers,
    )
    assert done.status_code == 200, done.text
    return str(done.json()["id"])


async def connect_openai(client: httpx.AsyncClient, account: Account) -> None:
    """The OpenAI sandbox as the account's model (in sandbox mode it answers in-process)."""
    created = await client.post(
        "/api/v1/connections",
        json={"integration": "openai", "config": {"api_key": SANDBOX_API_KEY}},
        headers=account.headers,
    )
    assert created.status_code == 201, created.text


async def stored_events(app: FastAPI, type_prefix: str = "") -> list[EventRow]:
    """The durable events the app's database holds, oldest first (optionally of one family)."""
    async with unit_of_work(app.state.database) as session:
        rows = await session.execute(
            select(EventRow).where(EventRow.type.startswith(type_prefix)).order_by(EventRow.id)
        )
        return list(rows.scalars())


async def grant_certification(
    app: FastAPI, user_id: str, level: int = 1, *, expires_in: timedelta = timedelta(days=365)
) -> None:
    """Record `level` (and every level below it) as passed, as a passed exam leaves it; for
    tests of features that a certification level gates (auto-approve needs level 1)."""
    now = utcnow()
    async with unit_of_work(app.state.database) as session:
        for held in range(1, level + 1):
            session.add(
                Certification(
                    user_id=uuid.UUID(user_id),
                    level=held,
                    earned_at=now,
                    expires_at=now + expires_in,
                )
            )


def pass_exam_over_http(base_url: str, email: str, password: str, level: int = 1) -> None:
    """Take and pass a level's exam on a served Gigforge (a `serving` subprocess) through its
    API, with the right answers read from the question bank, as a browser test's setup."""
    course = catalog.course(level)
    assert course is not None
    with httpx.Client(base_url=base_url, timeout=30) as http:
        token = http.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert token.status_code == 200, token.text
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        attempt = http.post(f"/api/v1/certifications/exams/{level}/start", headers=headers)
        assert attempt.status_code == 201, attempt.text
        answers = []
        for question in attempt.json()["questions"]:
            banked = course.question(question["question_id"])
            assert banked is not None
            right = next(o for o in question["options"] if o["text"] == banked.options[0])
            answers.append(
                {"question_id": question["question_id"], "option_id": right["option_id"]}
            )
        graded = http.post(
            f"/api/v1/certifications/exams/{level}/submit",
            json={"attempt_id": attempt.json()["attempt_id"], "answers": answers},
            headers=headers,
        )
        assert graded.json()["status"] == "passed", graded.text


def cli_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **extra: str) -> Path:
    """What `gigforge` commands run in-process by a test read: a development server in a fresh
    data directory, cheap password hashing, nothing from the shell that started the tests, and
    `extra` (`GIGFORGE_<NAME>` values). Returns the data directory."""
    monkeypatch.setenv("GIGFORGE_ENV", "development")
    monkeypatch.setenv("GIGFORGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GIGFORGE_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("GIGFORGE_PASSWORD_HASH_MEMORY_KIB", "8")
    monkeypatch.setenv("GIGFORGE_PASSWORD_HASH_TIME_COST", "1")
    monkeypatch.setenv("GIGFORGE_PASSWORD_HASH_PARALLELISM", "1")
    for name in ("GIGFORGE_DATABASE_URL", "GIGFORGE_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in extra.items():
        monkeypatch.setenv(f"GIGFORGE_{name.upper()}", value)
    return tmp_path / "data"


def cli_user_ada() -> None:
    """`gigforge user create` for ada@example.com, the account the CLI tests act as."""
    from typer.testing import CliRunner

    from gigforge.cli import app as cli_app

    created = CliRunner().invoke(
        cli_app,
        [
            "user", "create", "--email", "ada@example.com", "--full-name", "Ada",
            "--password", "a long passphrase for ada",
        ],
    )  # fmt: skip
    assert created.exit_code == 0, created.output
