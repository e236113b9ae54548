"""Keys live in one owner's namespace and are plain relative paths on every backend."""

from __future__ import annotations

import uuid

import pytest

from gigforge.storage import InvalidKey, owner_of, system_key, user_key, validate_key
from gigforge.storage.keys import validate_prefix

USER = uuid.UUID("0193a1c2-0000-7000-8000-0000000000aa")


def test_user_keys_are_namespaced_by_the_owner() -> None:
    key = user_key(USER, "jobs/7/report.md")
    assert key == f"users/{USER}/jobs/7/report.md"
    assert owner_of(key) == USER
    assert owner_of(system_key("checks/x.txt")) is None


@pytest.mark.parametrize(
    "path",
    [
        "../other-user/secret.txt",
        "jobs/../../x",
        "jobs/./x",
        "/etc/passwd",
        "jobs//x",
        "jobs/x/",
        "jobs\\x",
        "jobs/.hidden",
        "jobs/\x00x",
        "jobs/ x",
        "",
        "x" * 1100,
    ],
)
def test_paths_that_climb_or_are_absolute_are_refused(path: str) -> None:
    with pytest.raises(InvalidKey):
        user_key(USER, path)


@pytest.mark.parametrize(
    "key",
    [
        "report.md",
        "users/not-a-uuid/report.md",
        f"users/{USER}",
        "other/thing.txt",
        "/users/x",
        "C:/users/x",
    ],
)
def test_keys_outside_a_namespace_are_refused(key: str) -> None:
    with pytest.raises(InvalidKey):
        validate_key(key)


def test_prefixes_lose_their_slashes_and_may_not_climb() -> None:
    assert validate_prefix("/gigforge/files/") == "gigforge/files"
    assert validate_prefix("") == ""
    with pytest.raises(InvalidKey):
        validate_prefix("a/../b")
