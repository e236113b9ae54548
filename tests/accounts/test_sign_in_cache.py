"""The per-process cache of checked sign-ins: expiry, bounds, and where it has no stamp."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

from gigforge.accounts.models import User
from gigforge.accounts.sign_in_cache import SignInCache, stamp_for
from gigforge.accounts.tokens import AccessClaims
from gigforge.kit.clock import utcnow


def _claims(expires_in: timedelta) -> AccessClaims:
    return AccessClaims(
        user_id=uuid.uuid4(),
        session_id=uuid.uuid4(),
        scopes=frozenset({"users:read"}),
        token_id="t",
        expires_at=utcnow() + expires_in,
    )


def _user() -> User:
    return User(
        id=uuid.uuid4(),
        email="a@example.com",
        full_name="A",
        password_hash="x",
        is_active=True,
        currency="USD",
    )


def test_an_expired_token_is_never_served_from_the_cache() -> None:
    cache = SignInCache(lambda: 1)
    cache.remember_claims("live", _claims(timedelta(minutes=5)))
    cache.remember_claims("gone", _claims(timedelta(seconds=-1)))
    assert cache.claims("live") is not None
    assert cache.claims("gone") is None


def test_a_moved_stamp_or_a_stale_entry_means_a_new_check() -> None:
    stamp = [1]
    cache = SignInCache(lambda: stamp[0])
    cache.remember("session", _user(), stamp=1)
    cache.remember("key", _user(), stamp=1, fresh_until=utcnow() - timedelta(seconds=1))
    assert cache.checked("session") is not None
    assert cache.checked("key") is None
    stamp[0] = 2
    assert cache.checked("session") is None


def test_without_a_stamp_nothing_is_remembered() -> None:
    cache = SignInCache(lambda: None)
    cache.remember("session", _user(), stamp=None)
    assert cache.checked("session") is None


def test_the_cache_holds_at_most_its_bound() -> None:
    cache = SignInCache(lambda: 1, max_entries=2)
    for name in ("a", "b", "c"):
        cache.remember(name, _user(), stamp=1)
    assert cache.checked("a") is None
    assert cache.checked("b") is not None
    assert cache.checked("c") is not None


def test_only_a_sqlite_file_has_a_change_counter(tmp_path: Path) -> None:
    assert stamp_for("postgresql+asyncpg://u@h/db")() is None
    assert stamp_for("sqlite+aiosqlite:///:memory:")() is None
    missing = stamp_for(f"sqlite+aiosqlite:///{tmp_path / 'absent' / 'x.db'}")
    assert missing() is None
