"""Fixtures for the jobs tests: the sandbox app, and a proposal the client chose."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from factories import Account, AppFactory, connect_openai, register


async def _no_wait(delay: float) -> None:
    return None


@pytest.fixture
async def app(app_factory: AppFactory) -> FastAPI:
    application = await app_factory(sandbox=True)
    application.state.integrations.runtime.sleep = _no_wait
    return application


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def account(http: httpx.AsyncClient) -> Account:
    account = await register(http)
    await connect_openai(http, account)
    return account
