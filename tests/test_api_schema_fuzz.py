"""Every API operation, fuzzed from the app's own `/openapi.json` (schemathesis): no answer is
a 5xx, and every answer's status, content type and body are ones the document declares.

It runs twice, signed in with a bearer access token and with an API key holding every scope,
on a fresh SQLite database in sandbox mode: a connection the fuzzer manages to create talks to
the in-process sandboxes, so nothing leaves the process. Examples are
few and derandomized: the same cases every run, in a couple of minutes on two cores.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.schemas import BaseSchema

from factories import DEFAULT_PASSWORD, make_settings
from gigforge.accounts.scopes import Scope
from gigforge.app import create_app
from gigforge.kit.db import create_engine
from gigforge.migrations import upgrade

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Signing out would revoke the very token the rest of the run signs in with. (The sandboxes'
# own /sandbox/* routes are mounted apps, outside the schema, so they need no exclusion.)
EXCLUDED_PATHS = ["/api/v1/auth/logout"]


@pytest.fixture(scope="module")
def fuzzed_app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    tmp_path: Path = tmp_path_factory.mktemp("fuzz")
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'gigforge.db'}"

    async def migrate() -> None:
        engine = create_engine(database_url)
        await upgrade(engine)
        await engine.dispose()

    asyncio.run(migrate())
    # Rate limits off: a spent budget would answer 429 (documented, so still conformant) in
    # place of the operations under test. tests/kit/test_ratelimit.py covers the limits.
    return create_app(
        make_settings(
            tmp_path, database_url, sandbox=True, embedded_worker=False, rate_limits_enabled=False
        )
    )


@pytest.fixture(scope="module")
def api_schema(fuzzed_app: FastAPI) -> BaseSchema:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app)
    schema.config.generation.update(
        max_examples=MAX_EXAMPLES, deterministic=True, with_security_parameters=False
    )
    return schema.exclude(path=EXCLUDED_PATHS)


@pytest.fixture(scope="module")
def credentials(api_schema: BaseSchema) -> dict[str, dict[str, str]]:
    """A signed-up account (the server's first, so an admin) and an API key with every scope."""
    registered = (
        api_schema["/api/v1/auth/register"]["POST"]
        .Case(
            body={
                "email": "fuzz@example.com",
                "password": DEFAULT_PASSWORD,
                "full_name": "Fuzz Tester",
            }
        )
        .call()
    )
    assert registered.status_code == 201, registered.text
    bearer = {"Authorization": f"Bearer {registered.json()['access_token']}"}
    created = (
        api_schema["/api/v1/api-keys"]["POST"]
        .Case(body={"name": "fuzz", "scopes": [scope.value for scope in Scope]})
        .call(headers=bearer)
    )
    assert created.status_code == 201, created.text
    return {"bearer": bearer, "api_key": {"X-API-Key": created.json()["key"]}}


def _fuzz(schema: BaseSchema, headers: dict[str, str]) -> list[str]:
    """Run every operation with valid and with invalid inputs; one line per failing case."""
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in GenerationMode:

            @given(case=operation.as_strategy(mode, headers=dict(headers)))
            @settings(
                max_examples=MAX_EXAMPLES,
                derandomize=True,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.explicit, Phase.generate],
            )
            def check(case: Case) -> None:
                case.call_and_validate(headers=dict(headers), checks=CHECKS)

            try:
                check()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing in the request can be invalid
            except (Exception, BaseExceptionGroup) as exc:  # report every operation's failure
                failures.append(f"{operation.label} ({mode.value}): {type(exc).__name__}: {exc}")
    return failures


def test_every_operation_answers_as_documented_with_a_bearer_token(
    api_schema: BaseSchema, credentials: dict[str, dict[str, str]]
) -> None:
    failures = _fuzz(api_schema, credentials["bearer"])
    assert not failures, "\n\n".join(failures)


def test_every_operation_answers_as_documented_with_an_api_key(
    api_schema: BaseSchema, credentials: dict[str, dict[str, str]]
) -> None:
    failures = _fuzz(api_schema, credentials["api_key"])
    assert not failures, "\n\n".join(failures)
