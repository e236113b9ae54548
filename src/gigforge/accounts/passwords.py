"""Argon2id hashing and the password policy (NIST SP 800-63B: length and blocklist, no rules)."""

from __future__ import annotations

import asyncio
import os
import weakref
from collections.abc import Callable
from functools import lru_cache
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from gigforge.accounts.errors import WeakPassword
from gigforge.settings import Settings

T = TypeVar("T")

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


# Each Argon2id run holds its whole memory cost (64 MiB by default) while it works, and more
# runs than cores only queue for the CPU. A burst of sign-ups or sign-ins waits for a slot
# instead of allocating memory for every request at once.
MAX_HASHES_IN_FLIGHT = max(2, os.cpu_count() or 1)

_slots_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _slots() -> asyncio.Semaphore:
    """The process's hashing slots; one semaphore per event loop, as asyncio requires."""
    loop = asyncio.get_running_loop()
    slots = _slots_by_loop.get(loop)
    if slots is None:
        slots = _slots_by_loop[loop] = asyncio.Semaphore(MAX_HASHES_IN_FLIGHT)
    return slots


async def _in_a_slot(work: Callable[[], T]) -> T:
    """Run CPU- and memory-heavy Argon2id work off the event loop, at most
    MAX_HASHES_IN_FLIGHT at a time."""
    async with _slots():
        return await asyncio.to_thread(work)


async def hash_password(settings: Settings, password: str) -> str:
    hasher = hasher_for(settings)
    return await _in_a_slot(lambda: hasher.hash(password))


async def verify_password(settings: Settings, password_hash: str, password: str) -> bool:
    hasher = hasher_for(settings)
    try:
        return await _in_a_slot(lambda: hasher.verify(password_hash, password))
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
