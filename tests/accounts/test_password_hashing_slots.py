"""Argon2id work is bounded process-wide: a burst of hashes waits for a slot instead of
allocating the hash's memory cost for every request at once."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

from factories import make_settings
from gigforge.accounts import passwords


class _SlowHasher:
    """Records how many hashes run at the same moment."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.running = 0
        self.most_at_once = 0

    def _work(self) -> None:
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        time.sleep(0.05)
        with self._lock:
            self.running -= 1

    def hash(self, password: str) -> str:
        self._work()
        return "$argon2id$fake"

    def verify(self, password_hash: str, password: str) -> bool:
        self._work()
        return True


async def test_a_burst_of_hashes_and_checks_runs_at_most_the_slot_count_at_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    hasher = _SlowHasher()
    monkeypatch.setattr(passwords, "hasher_for", lambda settings: hasher)
    settings = make_settings(tmp_path, "sqlite+aiosqlite://")
    burst = 3 * passwords.MAX_HASHES_IN_FLIGHT + 2
    results = await asyncio.gather(
        *(passwords.hash_password(settings, "correct horse battery") for _ in range(burst)),
        *(passwords.verify_password(settings, "$argon2id$fake", "x") for _ in range(burst)),
    )
    assert len(results) == 2 * burst
    assert hasher.most_at_once == passwords.MAX_HASHES_IN_FLIGHT
