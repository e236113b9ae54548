"""Services flush; the unit of work that owns the session commits or rolls back.

A service that commits splits its caller's unit of work in two: half of a change can stick
while the rest rolls back, and an event or task written with it escapes the transaction.
"""

from __future__ import annotations

import ast
from pathlib import Path

import gigforge

SOURCE = Path(gigforge.__file__).parent


def _service_modules() -> list[Path]:
    """Every `service.py` and `*_service.py`, and the token refresher (a service by role)."""
    return sorted(
        path
        for path in SOURCE.rglob("*.py")
        if path.name in {"service.py", "tokens.py"} or path.name.endswith("_service.py")
    )


def commits_in(source: str) -> list[int]:
    """The lines that call `.commit(` on anything."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "commit"
    ]


def test_the_scan_finds_services_in_every_domain() -> None:
    names = {path.relative_to(SOURCE).as_posix() for path in _service_modules()}
    assert {"accounts/service.py", "connections/service.py", "connections/tokens.py"} <= names
    assert {"proposals/service.py", "opportunities/service.py"} <= names


def test_the_scan_sees_a_commit_however_it_is_spelled() -> None:
    assert commits_in("async def f(session):\n    await session.commit()\n") == [2]
    assert commits_in("async def f(s):\n    x = s\n    await (x).commit()\n") == [3]
    assert commits_in("async def f(session):\n    await session.flush()\n") == []


def test_no_service_commits() -> None:
    offenders = {
        path.relative_to(SOURCE).as_posix(): lines
        for path in _service_modules()
        if (lines := commits_in(path.read_text()))
    }
    assert offenders == {}, f"services must flush, never commit: {offenders}"
