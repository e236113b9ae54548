from __future__ import annotations

import re
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import httpx

from factories import register
from gigforge.settings import Settings

NEW_PASSWORD = "a brand new passphrase"


def _outbox(settings: Settings) -> list[Message]:
    folder = settings.data_dir / "outbox"
    files = sorted(folder.glob("*.eml")) if folder.exists() else []
    return [message_from_bytes(Path(path).read_bytes()) for path in files]


def _code(message: Message) -> str:
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    match = re.search(r"gfp_[A-Za-z0-9_-]+", body.decode())
    assert match is not None
    return match.group(0)


async def test_reset_by_emailed_code(client: httpx.AsyncClient, settings: Settings) -> None:
    account = await register(client)
    requested = await client.post("/api/v1/auth/reset-password", json={"email": account.email})
    assert requested.status_code == 202
    [message] = _outbox(settings)
    assert message["To"] == account.email

    confirm = await client.post(
        "/api/v1/auth/reset-password/confirm",
        json={"token": _code(message), "new_password": NEW_PASSWORD},
    )
    assert confirm.status_code == 204
    old = await client.post(
        "/api/v1/auth/login", json={"email": account.email, "password": account.password}
    )
    assert old.status_code == 401
    new = await client.post(
        "/api/v1/auth/login", json={"email": account.email, "password": NEW_PASSWORD}
    )
    assert new.status_code == 200
    # Sessions from before the reset are over.
    assert (await client.get("/api/v1/users/me", headers=account.headers)).status_code == 401


async def test_reset_code_is_single_use(client: httpx.AsyncClient, settings: Settings) -> None:
    account = await register(client)
    await client.post("/api/v1/auth/reset-password", json={"email": account.email})
    code = _code(_outbox(settings)[0])
    body = {"token": code, "new_password": NEW_PASSWORD}
    assert (await client.post("/api/v1/auth/reset-password/confirm", json=body)).status_code == 204
    again = await client.post(
        "/api/v1/auth/reset-password/confirm", json={**body, "new_password": "yet another one!"}
    )
    assert again.status_code == 401
    assert again.headers["content-type"] == "application/problem+json"


async def test_unknown_email_gets_the_same_answer_and_no_mail(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await register(client)
    known = await client.post("/api/v1/auth/reset-password", json={"email": "nobody@example.com"})
    assert known.status_code == 202
    assert _outbox(settings) == []


async def test_reset_rejects_a_weak_password_and_keeps_the_code(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    account = await register(client)
    await client.post("/api/v1/auth/reset-password", json={"email": account.email})
    code = _code(_outbox(settings)[0])
    weak = await client.post(
        "/api/v1/auth/reset-password/confirm", json={"token": code, "new_password": "short"}
    )
    assert weak.status_code == 422
    assert weak.json()["errors"][0]["loc"] == ["body", "password"]
    ok = await client.post(
        "/api/v1/auth/reset-password/confirm", json={"token": code, "new_password": NEW_PASSWORD}
    )
    assert ok.status_code == 204


async def test_reset_requests_are_capped_per_account(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    account = await register(client)
    for _ in range(5):
        await client.post("/api/v1/auth/reset-password", json={"email": account.email})
    assert len(_outbox(settings)) == 3
