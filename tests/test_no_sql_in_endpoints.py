"""Endpoints and dashboard pages call services; every query lives in a domain's repository.

An AST scan of the API routers (`*endpoints*.py`) and the dashboard (`web/`): none builds a
statement with SQLAlchemy or runs one on a session.
"""

from __future__ import annotations

import ast
from pathlib import Path

import gigforge

SOURCE = Path(gigforge.__file__).parent
SESSION_CALLS = {"execute", "scalar", "scalars", "get", "add", "delete", "merge", "flush", "stream"}


def _request_modules() -> list[Path]:
    return sorted(
        path
        for path in SOURCE.rglob("*.py")
        if "endpoints" in path.name or path.parent.name == "web"
    )


def sql_in(source: str) -> list[str]:
    """What in `source` builds or runs SQL: SQLAlchemy imports other than the session type,
    and calls like `session.execute(...)` on anything named session."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("sqlalchemy")
        ):
            if node.module != "sqlalchemy.ext.asyncio":
                found.append(f"line {node.lineno}: from {node.module} import ...")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            if name == "session" and node.func.attr in SESSION_CALLS:
                found.append(f"line {node.lineno}: session.{node.func.attr}(...)")
    return found


def test_the_scan_covers_the_api_and_the_dashboard() -> None:
    names = {path.relative_to(SOURCE).as_posix() for path in _request_modules()}
    assert {"proposals/endpoints.py", "web/pages_proposals.py", "web/rendering.py"} <= names


def test_the_scan_sees_statements_and_session_calls() -> None:
    source = (
        "from sqlalchemy import select\n"
        "from sqlalchemy.ext.asyncio import AsyncSession\n"
        "async def f(page):\n"
        "    await page.session.execute(select(1))\n"
        "    await session.get(object, 1)\n"
    )
    assert sql_in(source) == [
        "line 1: from sqlalchemy import ...",
        "line 4: session.execute(...)",
        "line 5: session.get(...)",
    ]


def test_no_endpoint_or_page_runs_sql() -> None:
    offenders = {
        path.relative_to(SOURCE).as_posix(): found
        for path in _request_modules()
        if (found := sql_in(path.read_text()))
    }
    assert offenders == {}, f"move these queries into the domain's repository: {offenders}"
