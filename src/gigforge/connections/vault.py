"""The credential vault: envelope encryption of every stored secret, and key rotation.

Each secret gets its own random data key (DEK); AES-256-GCM encrypts the secret with it, and
the DEK is stored wrapped (AES-256-GCM again) by the key-encryption key (KEK) from the
settings. A row records only its KEK's id, so a new master key needs every row sealed again
(fresh DEK, new KEK), which `rotate` does while the server keeps running. Both ciphertexts
carry the row's id and the KEK id as associated data: a ciphertext copied onto another row, or
relabelled with another key id, fails authentication instead of decrypting.

Nonces are random: each DEK encrypts once, and a KEK wraps one DEK per write, far from the
2**32 encryptions per key at which random 96-bit GCM nonces become a risk.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.audit.service import audit as audit_service
from gigforge.connections.models import Envelope, VaultSecret
from gigforge.connections.repository import VaultSecretRepository
from gigforge.kit.actor import SYSTEM
from gigforge.kit.db import Database, unit_of_work
from gigforge.kit.errors import GigforgeError
from gigforge.settings import Settings

KEY_BYTES = 32
NONCE_BYTES = 12
SALT_BYTES = 16
PURPOSE_MAX_LENGTH = 64
# RFC 9106, section 4, second recommended option (for when 2 GiB per derivation is too much).
ARGON2_TIME_COST = 3
ARGON2_MEMORY_KIB = 65536
ARGON2_PARALLELISM = 4
MASTER_KEY_FILE = "master_key"
SALT_FILE = "vault_salt"
_MAKE_KEY_HINT = (
    'make one with: python -c "import base64, secrets; '
    'print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())"'
)


class VaultError(GigforgeError):
    """A secret could not be stored or read. Messages name ids only, never values or keys."""

    status_code = 500
    code = "vault-error"
    title = "A stored secret could not be read"


class SecretNotFound(VaultError):
    """Also what a secret of another user looks like, so ids cannot be probed across users."""

    status_code = 404
    code = "vault-secret-not-found"
    title = "No such stored secret"


class Secret:
    """Plaintext that does not print: repr, str and f-strings show a mask, reading is explicit."""

    __slots__ = ("_value",)

    def __init__(self, value: bytes) -> None:
        self._value = value

    def reveal(self) -> bytes:
        return self._value

    def reveal_text(self) -> str:
        try:
            return self._value.decode()
        except UnicodeDecodeError:
            # The default message quotes the offending byte.
            raise VaultError("The stored secret is not UTF-8 text") from None

    def __repr__(self) -> str:
        return "Secret('**********')"


def key_id(key: bytes) -> str:
    """A key's public name, stored with each secret so the right key is found to open it."""
    return hashlib.sha256(b"gigforge-kek:" + key).hexdigest()[:16]


class Keyring:
    """The current key-encryption key, which every write uses, and older ones kept for reading.

    `previous_ids` follows the order of GIGFORGE_PREVIOUS_MASTER_KEYS, so an id can be traced
    back to the entry that holds it.
    """

    __slots__ = ("_keys", "current_id", "previous_ids")

    def __init__(self, current: bytes, previous: Sequence[bytes] = ()) -> None:
        if any(len(key) != KEY_BYTES for key in (current, *previous)):
            raise ValueError(f"vault keys must be exactly {KEY_BYTES} bytes")
        self.current_id = key_id(current)
        self.previous_ids = tuple(key_id(key) for key in previous)
        self._keys = {key_id(key): key for key in (*previous, current)}

    @property
    def current(self) -> bytes:
        return self._keys[self.current_id]

    def get(self, kek_id: str) -> bytes:
        try:
            return self._keys[kek_id]
        except KeyError:
            raise VaultError(
                f"No configured master key has id {kek_id}; add it to "
                "GIGFORGE_PREVIOUS_MASTER_KEYS until `gigforge vault rotate` has run"
            ) from None

    def __repr__(self) -> str:
        return f"Keyring(current_id={self.current_id!r}, previous_ids={self.previous_ids!r})"


def _decode_key(value: str, name: str) -> bytes:
    value = value.strip()
    try:
        key = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_", validate=True)
    except binascii.Error:
        raise ValueError(f"{name} is not valid base64url; {_MAKE_KEY_HINT}") from None
    if len(key) != KEY_BYTES:
        raise ValueError(
            f"{name} must decode to exactly {KEY_BYTES} bytes, not {len(key)}; {_MAKE_KEY_HINT}"
        )
    return key


def _read_or_create(path: Path, make: Callable[[], str]) -> str:
    """Read a generated file, writing it first (mode 0600) when absent.

    The content goes to a temporary file that is then hard-linked into place, so a process
    starting at the same moment reads either nothing or the whole value, and the first writer
    wins.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(make())
                handle.flush()
                os.fsync(handle.fileno())
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


def _derive_from_passphrase(passphrase: str, salt_file: Path) -> bytes:
    """Argon2id over the passphrase and a salt kept in the data directory.

    The salt is not secret but it is irreplaceable: without the same salt file the same
    passphrase derives another key, and every stored secret is lost.
    """
    if not passphrase:
        raise ValueError("GIGFORGE_MASTER_PASSPHRASE is empty")
    stored = _read_or_create(salt_file, lambda: secrets.token_bytes(SALT_BYTES).hex())
    try:
        salt = bytes.fromhex(stored)
    except ValueError:
        salt = b""
    if len(salt) != SALT_BYTES:
        raise ValueError(
            f"{salt_file} is damaged (expected {2 * SALT_BYTES} hex characters); restore it "
            "from a backup, or no stored secret can be read"
        )
    return hash_secret_raw(
        secret=passphrase.encode(),
        salt=salt,
        time_cost=ARGON2_TIME_COST,
        memory_cost=ARGON2_MEMORY_KIB,
        parallelism=ARGON2_PARALLELISM,
        hash_len=KEY_BYTES,
        type=Type.ID,
    )


def _current_key(settings: Settings) -> bytes:
    if settings.master_key is not None and settings.master_passphrase is not None:
        raise ValueError("set GIGFORGE_MASTER_KEY or GIGFORGE_MASTER_PASSPHRASE, not both")
    if settings.master_key is not None:
        return _decode_key(settings.master_key.get_secret_value(), "GIGFORGE_MASTER_KEY")
    if settings.master_passphrase is not None:
        return _derive_from_passphrase(
            settings.master_passphrase.get_secret_value(), settings.data_dir / SALT_FILE
        )
    # Settings demands a key outside development; here one is made and kept like signing_key.
    key_file = settings.data_dir / MASTER_KEY_FILE
    stored = _read_or_create(
        key_file, lambda: base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode()
    )
    return _decode_key(stored, str(key_file))


def keyring_from_settings(settings: Settings) -> Keyring:
    """Build once per process: a passphrase costs 64 MiB and a good part of a second to derive.

    Raises ValueError, naming the setting, when a key is malformed.
    """
    previous = [
        _decode_key(value.get_secret_value(), f"GIGFORGE_PREVIOUS_MASTER_KEYS entry {position}")
        for position, value in enumerate(settings.previous_master_keys, start=1)
    ]
    return Keyring(_current_key(settings), previous)


def _associated_data(secret_id: uuid.UUID, kek_id: str) -> bytes:
    return f"{secret_id}:{kek_id}".encode()


def _seal(keyring: Keyring, secret_id: uuid.UUID, plaintext: bytes) -> Envelope:
    associated = _associated_data(secret_id, keyring.current_id)
    dek = AESGCM.generate_key(bit_length=8 * KEY_BYTES)
    dek_nonce = os.urandom(NONCE_BYTES)
    nonce = os.urandom(NONCE_BYTES)
    return Envelope(
        kek_id=keyring.current_id,
        wrapped_dek=AESGCM(keyring.current).encrypt(dek_nonce, dek, associated),
        dek_nonce=dek_nonce,
        nonce=nonce,
        ciphertext=AESGCM(dek).encrypt(nonce, plaintext, associated),
    )


def _open(keyring: Keyring, secret_id: uuid.UUID, envelope: Envelope) -> bytes:
    kek = keyring.get(envelope.kek_id)
    associated = _associated_data(secret_id, envelope.kek_id)
    try:
        dek = AESGCM(kek).decrypt(envelope.dek_nonce, envelope.wrapped_dek, associated)
        return AESGCM(dek).decrypt(envelope.nonce, envelope.ciphertext, associated)
    except (InvalidTag, ValueError):
        # ValueError: a nonce or unwrapped key of impossible length, i.e. also an altered row.
        raise VaultError(
            f"Secret {secret_id} failed its integrity check: the row was altered or its "
            "ciphertext belongs to another row"
        ) from None


def _as_bytes(plaintext: bytes | str) -> bytes:
    return plaintext.encode() if isinstance(plaintext, str) else plaintext


@dataclass(frozen=True)
class RotationReport:
    """`retired_keys`: previous keys no stored secret uses any more, safe to drop from settings."""

    rotated: int
    to_key: str
    retired_keys: tuple[str, ...]


class Vault:
    async def put(
        self,
        session: AsyncSession,
        keyring: Keyring,
        *,
        user_id: uuid.UUID | None,
        purpose: str,
        plaintext: bytes | str,
    ) -> uuid.UUID:
        """Store a secret of a user (or of the server, when `user_id` is None); returns its id."""
        if len(purpose) > PURPOSE_MAX_LENGTH:
            raise ValueError(f"a secret's purpose is at most {PURPOSE_MAX_LENGTH} characters")
        secret = VaultSecret(id=uuid.uuid4(), user_id=user_id, purpose=purpose)
        secret.store(_seal(keyring, secret.id, _as_bytes(plaintext)))
        await VaultSecretRepository(session).create(secret)
        return secret.id

    async def get(
        self,
        session: AsyncSession,
        keyring: Keyring,
        secret_id: uuid.UUID,
        *,
        user_id: uuid.UUID | None,
    ) -> Secret:
        secret = await self._owned(session, secret_id, user_id=user_id)
        return Secret(_open(keyring, secret.id, secret.envelope))

    async def replace(
        self,
        session: AsyncSession,
        keyring: Keyring,
        secret_id: uuid.UUID,
        *,
        user_id: uuid.UUID | None,
        plaintext: bytes | str,
    ) -> None:
        """New value under a new data key, keeping the id that other rows point to."""
        secret = await self._owned(session, secret_id, user_id=user_id)
        secret.store(_seal(keyring, secret.id, _as_bytes(plaintext)))
        await session.flush()

    async def delete(
        self, session: AsyncSession, secret_id: uuid.UUID, *, user_id: uuid.UUID | None
    ) -> None:
        secret = await self._owned(session, secret_id, user_id=user_id)
        await VaultSecretRepository(session).delete(secret)

    async def rotate(
        self, database: Database, keyring: Keyring, *, batch_size: int = 100
    ) -> RotationReport:
        """Re-encrypt every secret that is not yet under the current key.

        Each batch commits on its own, so requests keep reading throughout (a row opens with
        the previous key before its batch and with the current one after) and a run that stops
        part way resumes where it stopped. A secret that cannot be opened (its key is missing
        or the row was altered) stops the run with a VaultError naming it; the batches before
        it stay done.
        """
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        rotated = 0
        while True:
            async with unit_of_work(database) as session:
                repository = VaultSecretRepository(session)
                batch = await repository.not_under(keyring.current_id, limit=batch_size)
                rotated_in_batch = 0
                for secret in batch:
                    plaintext = _open(keyring, secret.id, secret.envelope)
                    if await repository.reseal(
                        secret.id,
                        expected_nonce=secret.nonce,
                        envelope=_seal(keyring, secret.id, plaintext),
                    ):
                        rotated_in_batch += 1
            rotated += rotated_in_batch
            if len(batch) < batch_size:
                break
        async with unit_of_work(database) as session:
            in_use = await VaultSecretRepository(session).kek_ids_in_use()
            await audit_service.record(
                session,
                SYSTEM,
                action="vault.rotated",
                data={"rotated": rotated, "to_key": keyring.current_id},
            )
        retired = tuple(
            previous_id
            for previous_id in dict.fromkeys(keyring.previous_ids)
            if previous_id != keyring.current_id and previous_id not in in_use
        )
        return RotationReport(rotated=rotated, to_key=keyring.current_id, retired_keys=retired)

    async def _owned(
        self, session: AsyncSession, secret_id: uuid.UUID, *, user_id: uuid.UUID | None
    ) -> VaultSecret:
        secret = await VaultSecretRepository(session).get_owned(user_id, secret_id)
        if secret is None:
            raise SecretNotFound(f"No stored secret {secret_id}")
        return secret


vault = Vault()
