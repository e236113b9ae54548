"""The Trello sandbox in-process, and connectors wired to it through the policy layer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr
from trello_support import Clock, ConnectorFactory, PassingSleep

from gigforge.integrations.framework import IntegrationRuntime, QueryCredentials, static_secret
from gigforge.integrations.trello import SPEC, TrelloConfig, TrelloConnector
from gigforge.integrations.trello.sandbox import (
    SANDBOX_API_KEY,
    SANDBOX_APP_SECRET,
    SANDBOX_TOKEN,
    TrelloSandbox,
    create_sandbox,
)

SANDBOX_URL = "http://sandbox"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock: Clock) -> TrelloSandbox:
    return create_sandbox(clock=clock)


@pytest.fixture
def sleep(clock: Clock) -> PassingSleep:
    return PassingSleep(clock)


@pytest.fixture
def runtime(sleep: PassingSleep) -> IntegrationRuntime:
    return IntegrationRuntime(sleep=sleep)


def trello_config(**overrides: object) -> TrelloConfig:
    values: dict[str, object] = {
        "api_key": SANDBOX_API_KEY,
        "token": SecretStr(SANDBOX_TOKEN),
        "app_secret": SecretStr(SANDBOX_APP_SECRET),
    }
    values.update(overrides)
    return TrelloConfig.model_validate(values)


@pytest.fixture
async def make_connector(
    sandbox: TrelloSandbox, runtime: IntegrationRuntime
) -> AsyncIterator[ConnectorFactory]:
    """Connectors built as `connections` builds them: the token added by the policy layer as
    `token=`, the connector holding only the public config (plus what a test passes)."""
    clients: list[httpx.AsyncClient] = []

    def build(token: str = SANDBOX_TOKEN, **config: object) -> TrelloConnector:
        client = runtime.client(
            SPEC.rebased(SANDBOX_URL),
            connection="test",
            credentials=QueryCredentials(
                static_secret(token), param=SPEC.credential_query_param or ""
            ),
            inner=httpx.ASGITransport(app=sandbox.app),
        )
        clients.append(client)
        return TrelloConnector(client, trello_config(**config))

    yield build
    for client in clients:
        await client.aclose()


@pytest.fixture
def connector(make_connector: ConnectorFactory) -> TrelloConnector:
    return make_connector()
