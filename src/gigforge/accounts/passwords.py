"""Argon2id hashing and the password policy (NIST SP 800-63B: length and blocklist, no rules)."""

from __future__ import annotations

import asyncio
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from gigforge.accounts.errors import WeakPassword
from gigforge.settings import Settings

MIN_LENGTH = 10
MAX_LENGTH = 128

# The most common passwords of at least MIN_LENGTH characters in public breach corpora.
COMMON_PASSWORDS = frozenset(
    {
        "1234567890",
        "12345678910",
        "123456789a",
        "0123456789",
        "1111111111",
        "0987654321",
        "1q2w3e4r5t",
        "qwertyuiop",
        "asdfghjkl;",
        "password12",
        "password123",
        "password1234",
        "iloveyou12",
        "qwerty1234",
        "qwerty12345",
        "1qaz2wsx3edc",
        "zaq12wsxcde3",
        "princess12",
        "football12",
        "baseball12",
        "welcome123",
        "letmein123",
        "abc1234567",
        "abcdefghij",
        "changeme123",
        "administrator",
        "passw0rd123",
        "superman123",
        "trustno1234",
        "sunshine123",
    }
)


@lru_cache(maxsize=4)
def _hasher(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


def hasher_for(settings: Settings) -> PasswordHasher:
    return _hasher(
        settings.password_hash_time_cost,
        settings.password_hash_memory_kib,
        settings.password_hash_parallelism,
    )


async def hash_password(settings: Settings, password: str) -> str:
    """Argon2id costs tens of milliseconds of CPU; run it off the event loop."""
    return await asyncio.to_thread(hasher_for(settings).hash, password)


async def verify_password(settings: Settings, password_hash: str, password: str) -> bool:
    try:
        return await asyncio.to_thread(hasher_for(settings).verify, password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(settings: Settings, password_hash: str) -> bool:
    return hasher_for(settings).check_needs_rehash(password_hash)


def check_policy(password: str, *, email: str, full_name: str = "") -> None:
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        problems.append(f"must be at most {MAX_LENGTH} characters")
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(lowered)) < 4:
        problems.append("is too common or repetitive")
    local_part = email.split("@", 1)[0].lower()
    if len(local_part) >= 4 and local_part in lowered:
        problems.append("must not contain your email address")
    name_parts = [part for part in full_name.lower().split() if len(part) >= 4]
    if any(part in lowered for part in name_parts):
        problems.append("must not contain your name")
    if problems:
        raise WeakPassword(
            "Password " + "; ".join(problems),
            errors=[
                {"loc": ["body", "password"], "msg": msg, "type": "password_policy"}
                for msg in problems
            ],
        )
