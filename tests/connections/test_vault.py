from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import structlog
from argon2.low_level import Type, hash_secret_raw
from fastapi import FastAPI
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from factories import make_settings
from gigforge.accounts.models import User
from gigforge.audit.models import AuditRecord
from gigforge.cli import app as cli
from gigforge.connections.models import VaultSecret
from gigforge.connections.repository import VaultSecretRepository
from gigforge.connections.vault import (
    Keyring,
    RotationReport,
    Secret,
    SecretNotFound,
    VaultError,
    key_id,
    keyring_from_settings,
)
from gigforge.connections.vault import vault as vault_service
from gigforge.kit.db import Database, unit_of_work
from gigforge.settings import Settings

PLAINTEXT = "planted-vault-secret-5e1d9a"
MASK = "Secret('**********')"
# Settings only; these tests never open it.
UNUSED_DATABASE_URL = "sqlite+aiosqlite:///:memory:"
OLD_KEY, NEW_KEY, STRAY_KEY = (bytes([n]) * 32 for n in (1, 2, 3))


def _b64(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode()


@pytest.fixture
def database(app: FastAPI) -> Database:
    result: Database = app.state.database
    return result


@pytest.fixture
def keyring(settings: Settings) -> Keyring:
    return keyring_from_settings(settings)


async def make_user(database: Database) -> uuid.UUID:
    async with unit_of_work(database) as session:
        user = User(
            email=f"user-{uuid.uuid4().hex[:8]}@example.com",
            full_name="Ada Lovelace",
            password_hash="not-used-here",
        )
        session.add(user)
        await session.flush()
        return user.id


async def put(
    database: Database,
    keyring: Keyring,
    *,
    user_id: uuid.UUID | None,
    plaintext: bytes | str = PLAINTEXT,
) -> uuid.UUID:
    async with unit_of_work(database) as session:
        return await vault_service.put(
            session, keyring, user_id=user_id, purpose="connection:test", plaintext=plaintext
        )


async def read(
    database: Database, keyring: Keyring, secret_id: uuid.UUID, *, user_id: uuid.UUID | None
) -> Secret:
    async with unit_of_work(database) as session:
        return await vault_service.get(session, keyring, secret_id, user_id=user_id)


async def stored(session: AsyncSession, secret_id: uuid.UUID) -> VaultSecret | None:
    """The row as it is in the database now, not as this session last saw it."""
    session.expire_all()
    row = await session.get(VaultSecret, secret_id)
    await session.commit()
    return row


async def all_rows(session: AsyncSession) -> list[VaultSecret]:
    session.expire_all()
    rows = list((await session.execute(select(VaultSecret))).scalars())
    await session.commit()
    return rows


async def rotation_audit(session: AsyncSession) -> list[dict[str, object]]:
    records = await session.execute(
        select(AuditRecord).where(AuditRecord.action == "vault.rotated").order_by(AuditRecord.seq)
    )
    data = [record.data for record in records.scalars()]
    await session.commit()
    return data


async def test_a_secret_comes_back_as_it_was_stored(database: Database, keyring: Keyring) -> None:
    owner = await make_user(database)
    text_id = await put(database, keyring, user_id=owner, plaintext="pässwörd ✓")
    binary = secrets.token_bytes(64)
    binary_id = await put(database, keyring, user_id=None, plaintext=binary)

    assert (await read(database, keyring, text_id, user_id=owner)).reveal_text() == "pässwörd ✓"
    assert (await read(database, keyring, binary_id, user_id=None)).reveal() == binary


async def test_the_stored_row_holds_no_plaintext(
    database: Database, session: AsyncSession, keyring: Keyring
) -> None:
    secret_id = await put(database, keyring, user_id=None)
    row = await stored(session, secret_id)
    assert row is not None
    assert row.kek_id == keyring.current_id
    assert PLAINTEXT not in row.purpose
    for value in (row.wrapped_dek, row.dek_nonce, row.nonce, row.ciphertext):
        assert PLAINTEXT.encode() not in value


async def test_replace_keeps_the_id_and_draws_a_new_data_key(
    database: Database, session: AsyncSession, keyring: Keyring
) -> None:
    owner = await make_user(database)
    secret_id = await put(database, keyring, user_id=owner, plaintext="first")
    before = await stored(session, secret_id)
    assert before is not None
    first_envelope = before.envelope
    async with unit_of_work(database) as unit:
        await vault_service.replace(unit, keyring, secret_id, user_id=owner, plaintext="second")
    after = await stored(session, secret_id)

    assert after is not None
    assert after.wrapped_dek != first_envelope.wrapped_dek
    assert after.nonce != first_envelope.nonce
    assert (await read(database, keyring, secret_id, user_id=owner)).reveal_text() == "second"


async def test_a_deleted_secret_is_gone(database: Database, keyring: Keyring) -> None:
    owner = await make_user(database)
    secret_id = await put(database, keyring, user_id=owner)
    async with unit_of_work(database) as unit:
        await vault_service.delete(unit, secret_id, user_id=owner)
    with pytest.raises(SecretNotFound):
        await read(database, keyring, secret_id, user_id=owner)


async def test_deleting_a_user_deletes_their_secrets(
    database: Database, session: AsyncSession, keyring: Keyring
) -> None:
    owner = await make_user(database)
    secret_id = await put(database, keyring, user_id=owner)
    await session.execute(delete(User).where(User.id == owner))
    await session.commit()
    assert await stored(session, secret_id) is None


async def test_a_purpose_longer_than_its_column_is_refused(
    session: AsyncSession, keyring: Keyring
) -> None:
    with pytest.raises(ValueError, match="at most 64"):
        await vault_service.put(session, keyring, user_id=None, purpose="x" * 65, plaintext="v")


async def test_a_secret_is_read_only_under_its_owner(database: Database, keyring: Keyring) -> None:
    owner = await make_user(database)
    other = await make_user(database)
    secret_id = await put(database, keyring, user_id=owner)
    server_secret_id = await put(database, keyring, user_id=None)

    for reader in (other, None):
        with pytest.raises(SecretNotFound):
            await read(database, keyring, secret_id, user_id=reader)
    with pytest.raises(SecretNotFound):
        await read(database, keyring, server_secret_id, user_id=owner)
    async with unit_of_work(database) as unit:
        with pytest.raises(SecretNotFound):
            await vault_service.replace(unit, keyring, secret_id, user_id=other, plaintext="x")
        with pytest.raises(SecretNotFound):
            await vault_service.delete(unit, secret_id, user_id=other)

    assert (await read(database, keyring, secret_id, user_id=owner)).reveal_text() == PLAINTEXT
    assert (await read(database, keyring, server_secret_id, user_id=None)).reveal_text() == (
        PLAINTEXT
    )


async def test_a_revealed_secret_never_prints(
    database: Database, keyring: Keyring, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = await read(database, keyring, await put(database, keyring, user_id=None), user_id=None)

    assert repr(secret) == str(secret) == f"{secret}" == MASK
    assert PLAINTEXT not in repr([secret]) + repr({"value": secret})
    structlog.get_logger("gigforge.test").info("loaded", value=secret, nested={"v": secret})
    logging.getLogger("some.library").warning("loaded %s (%r)", secret, secret)
    output = capsys.readouterr().err
    assert MASK in output
    assert PLAINTEXT not in output


def test_a_keyring_never_prints_its_keys() -> None:
    keyring = Keyring(NEW_KEY, [OLD_KEY])
    shown = repr(keyring)
    assert keyring.current_id in shown
    assert _b64(NEW_KEY) not in shown
    assert _b64(OLD_KEY) not in shown
    assert repr(NEW_KEY) not in shown


async def test_text_that_is_not_utf8_is_refused_without_showing_it(
    database: Database, keyring: Keyring
) -> None:
    secret_id = await put(database, keyring, user_id=None, plaintext=b"\xff\xfe\xfd")
    secret = await read(database, keyring, secret_id, user_id=None)
    assert secret.reveal() == b"\xff\xfe\xfd"
    with pytest.raises(VaultError) as raised:
        secret.reveal_text()
    assert "xff" not in str(raised.value)


def _flip_last_byte(value: bytes) -> bytes:
    return value[:-1] + bytes([value[-1] ^ 0x01])


@pytest.mark.parametrize(
    ("column", "change"),
    [
        ("ciphertext", _flip_last_byte),
        ("ciphertext", lambda value: value[:-1]),
        ("wrapped_dek", _flip_last_byte),
        ("wrapped_dek", lambda value: value[: len(value) // 2]),
        ("nonce", _flip_last_byte),
        ("nonce", lambda value: b""),
        ("dek_nonce", _flip_last_byte),
    ],
    ids=[
        "ciphertext-flipped",
        "ciphertext-truncated",
        "wrapped-key-flipped",
        "wrapped-key-truncated",
        "nonce-flipped",
        "nonce-emptied",
        "key-nonce-flipped",
    ],
)
async def test_an_altered_row_is_refused(
    database: Database,
    session: AsyncSession,
    keyring: Keyring,
    column: str,
    change: Callable[[bytes], bytes],
) -> None:
    secret_id = await put(database, keyring, user_id=None)
    row = await stored(session, secret_id)
    assert row is not None
    await session.execute(
        update(VaultSecret)
        .where(VaultSecret.id == secret_id)
        .values({column: change(getattr(row, column))})
    )
    await session.commit()

    with pytest.raises(VaultError, match="integrity check") as raised:
        await read(database, keyring, secret_id, user_id=None)
    assert PLAINTEXT not in str(raised.value)


@pytest.mark.parametrize(
    "columns",
    [("ciphertext",), ("ciphertext", "nonce"), ("wrapped_dek", "dek_nonce", "nonce", "ciphertext")],
    ids=["ciphertext", "ciphertext-and-nonce", "whole-envelope"],
)
async def test_a_ciphertext_moved_to_another_row_is_refused(
    database: Database, session: AsyncSession, keyring: Keyring, columns: tuple[str, ...]
) -> None:
    victim = await put(database, keyring, user_id=None, plaintext="victim")
    donor = await put(database, keyring, user_id=None, plaintext="donor")
    donor_row = await stored(session, donor)
    assert donor_row is not None
    await session.execute(
        update(VaultSecret)
        .where(VaultSecret.id == victim)
        .values({column: getattr(donor_row, column) for column in columns})
    )
    await session.commit()

    with pytest.raises(VaultError, match="integrity check"):
        await read(database, keyring, victim, user_id=None)


async def test_a_row_relabelled_with_another_key_id_is_refused(
    database: Database, session: AsyncSession
) -> None:
    keyring = Keyring(NEW_KEY, [OLD_KEY])
    secret_id = await put(database, keyring, user_id=None)
    await session.execute(
        update(VaultSecret).where(VaultSecret.id == secret_id).values(kek_id=key_id(OLD_KEY))
    )
    await session.commit()
    with pytest.raises(VaultError, match="integrity check"):
        await read(database, keyring, secret_id, user_id=None)


async def test_rotation_moves_every_secret_to_the_current_key(
    database: Database, session: AsyncSession
) -> None:
    old, new, new_only = Keyring(OLD_KEY), Keyring(NEW_KEY, [OLD_KEY]), Keyring(NEW_KEY)
    owner = await make_user(database)
    expected: dict[uuid.UUID, tuple[uuid.UUID | None, str]] = {}
    for number in range(5):
        user_id = owner if number % 2 else None
        expected[await put(database, old, user_id=user_id, plaintext=f"s-{number}")] = (
            user_id,
            f"s-{number}",
        )
    first_id, (first_owner, first_text) = next(iter(expected.items()))

    with pytest.raises(VaultError, match=old.current_id):
        await read(database, new_only, first_id, user_id=first_owner)
    # Until its batch is done, a row still opens with the old key kept in the keyring.
    assert (await read(database, new, first_id, user_id=first_owner)).reveal_text() == first_text

    report = await vault_service.rotate(database, new, batch_size=2)

    assert report == RotationReport(
        rotated=5, to_key=new.current_id, retired_keys=(old.current_id,)
    )
    assert {row.kek_id for row in await all_rows(session)} == {new.current_id}
    for secret_id, (user_id, text) in expected.items():
        assert (await read(database, new_only, secret_id, user_id=user_id)).reveal_text() == text
    assert await rotation_audit(session) == [{"rotated": 5, "to_key": new.current_id}]


async def test_rotation_run_again_has_nothing_to_do(
    database: Database, session: AsyncSession
) -> None:
    old, new = Keyring(OLD_KEY), Keyring(NEW_KEY, [OLD_KEY])
    for _ in range(4):
        await put(database, old, user_id=None)

    first = await vault_service.rotate(database, new, batch_size=2)
    second = await vault_service.rotate(database, new, batch_size=2)

    assert (first.rotated, second.rotated) == (4, 0)
    assert second.retired_keys == (old.current_id,)
    assert [data["rotated"] for data in await rotation_audit(session)] == [4, 0]


async def test_an_interrupted_rotation_resumes_where_it_stopped(
    database: Database, session: AsyncSession
) -> None:
    old, new = Keyring(OLD_KEY), Keyring(NEW_KEY, [OLD_KEY])
    old_ids = [await put(database, old, user_id=None) for _ in range(6)]
    stray_id = await put(database, Keyring(STRAY_KEY), user_id=None)

    with pytest.raises(VaultError, match=key_id(STRAY_KEY)):
        await vault_service.rotate(database, new, batch_size=1)
    done = {row.id for row in await all_rows(session) if row.kek_id == new.current_id}
    # Batches go in id order and each commits, so the run stopped exactly at the stray row.
    assert done == {secret_id for secret_id in old_ids if secret_id < stray_id}

    resumed = await vault_service.rotate(
        database, Keyring(NEW_KEY, [OLD_KEY, STRAY_KEY]), batch_size=1
    )

    assert resumed.rotated == 7 - len(done)
    assert set(resumed.retired_keys) == {old.current_id, key_id(STRAY_KEY)}
    assert {row.kek_id for row in await all_rows(session)} == {new.current_id}


async def test_rotation_never_overwrites_a_secret_replaced_meanwhile(
    database: Database, session: AsyncSession
) -> None:
    keyring = Keyring(NEW_KEY, [OLD_KEY])
    secret_id = await put(database, Keyring(OLD_KEY), user_id=None, plaintext="first")
    row = await stored(session, secret_id)
    assert row is not None
    seen_by_rotation = row.envelope
    async with unit_of_work(database) as unit:
        await vault_service.replace(unit, keyring, secret_id, user_id=None, plaintext="second")

    async with unit_of_work(database) as unit:
        written = await VaultSecretRepository(unit).reseal(
            secret_id,
            expected_nonce=seen_by_rotation.nonce,
            envelope=seen_by_rotation,
        )

    assert not written
    assert (await read(database, keyring, secret_id, user_id=None)).reveal_text() == "second"


def test_a_passphrase_derives_one_key_per_salt_file(tmp_path: Path) -> None:
    passphrase = "correct horse battery staple"
    settings = make_settings(
        tmp_path, UNUSED_DATABASE_URL, master_key=None, master_passphrase=passphrase
    )

    first = keyring_from_settings(settings)
    again = keyring_from_settings(
        make_settings(tmp_path, UNUSED_DATABASE_URL, master_key=None, master_passphrase=passphrase)
    )
    elsewhere = keyring_from_settings(
        make_settings(
            tmp_path / "other", UNUSED_DATABASE_URL, master_key=None, master_passphrase=passphrase
        )
    )

    salt_file = settings.data_dir / "vault_salt"
    assert salt_file.stat().st_mode & 0o777 == 0o600
    assert first.current_id == again.current_id
    assert elsewhere.current_id != first.current_id
    # The derivation is pinned: changing its parameters would silently lose every secret.
    expected = hash_secret_raw(
        secret=passphrase.encode(),
        salt=bytes.fromhex(salt_file.read_text()),
        time_cost=3,
        memory_cost=65536,
        parallelism=4,
        hash_len=32,
        type=Type.ID,
    )
    assert first.current_id == key_id(expected)


def test_development_keeps_a_generated_master_key(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, UNUSED_DATABASE_URL, env="development", master_key=None)

    first = keyring_from_settings(settings)
    again = keyring_from_settings(settings)

    key_file = settings.data_dir / "master_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert (
        first.current_id
        == again.current_id
        == key_id(base64.urlsafe_b64decode(key_file.read_text()))
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (_b64(secrets.token_bytes(16)), "exactly 32 bytes, not 16"),
        (_b64(secrets.token_bytes(33)), "exactly 32 bytes, not 33"),
        ("not base64 at all!", "not valid base64url"),
    ],
    ids=["too-short", "too-long", "not-base64"],
)
def test_a_malformed_master_key_is_refused_by_name(
    tmp_path: Path, value: str, message: str
) -> None:
    settings = make_settings(tmp_path, UNUSED_DATABASE_URL, master_key=value)
    with pytest.raises(ValueError, match=message) as raised:
        keyring_from_settings(settings)
    assert "GIGFORGE_MASTER_KEY" in str(raised.value)
    assert value not in str(raised.value)


def test_a_malformed_previous_key_is_refused_by_position(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, UNUSED_DATABASE_URL, previous_master_keys=[_b64(OLD_KEY), _b64(b"short")]
    )
    with pytest.raises(ValueError, match="GIGFORGE_PREVIOUS_MASTER_KEYS entry 2"):
        keyring_from_settings(settings)


def test_a_key_and_a_passphrase_together_are_refused(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, UNUSED_DATABASE_URL, master_passphrase="also set")
    with pytest.raises(ValueError, match="not both"):
        keyring_from_settings(settings)


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> pytest.MonkeyPatch:
    monkeypatch.setenv("GIGFORGE_ENV", "development")
    monkeypatch.setenv("GIGFORGE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("GIGFORGE_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("GIGFORGE_CONFIG", str(Path(settings.data_dir) / "absent.toml"))
    monkeypatch.delenv("GIGFORGE_MASTER_PASSPHRASE", raising=False)
    return monkeypatch


async def test_cli_vault_rotate_re_encrypts_and_names_the_key_to_remove(
    cli_env: pytest.MonkeyPatch,
    settings: Settings,
    database: Database,
    session: AsyncSession,
    keyring: Keyring,
) -> None:
    for number in range(3):
        await put(database, keyring, user_id=None, plaintext=f"cli-{number}")
    assert settings.master_key is not None
    old_key = settings.master_key.get_secret_value()
    new_key = _b64(secrets.token_bytes(32))
    new_id = key_id(base64.urlsafe_b64decode(new_key))
    cli_env.setenv("GIGFORGE_MASTER_KEY", new_key)
    cli_env.setenv("GIGFORGE_PREVIOUS_MASTER_KEYS", json.dumps([old_key]))

    # The CLI runs its own event loop, so it gets a thread of its own.
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["vault", "rotate", "--batch-size", "2"]
    )

    assert result.exit_code == 0, result.output
    assert f"re-encrypted 3 secrets under key {new_id}" in result.output
    assert (
        f"keys no longer needed: {keyring.current_id} (entry 1 of GIGFORGE_PREVIOUS_MASTER_KEYS)"
        in result.output
    )
    assert "remove the old key from GIGFORGE_PREVIOUS_MASTER_KEYS" in result.output
    assert old_key not in result.output
    assert new_key not in result.output
    assert {row.kek_id for row in await all_rows(session)} == {new_id}


async def test_cli_vault_rotate_refuses_a_malformed_key(
    cli_env: pytest.MonkeyPatch, app: FastAPI
) -> None:
    cli_env.setenv("GIGFORGE_MASTER_KEY", _b64(b"too short"))
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["vault", "rotate"])
    assert result.exit_code == 2
    assert "GIGFORGE_MASTER_KEY must decode to exactly 32 bytes" in result.output
