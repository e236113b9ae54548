"""Credential strategies: each puts a secret onto a request at send time and nowhere else.

Secrets come from a `SecretSource`, an async callable that reads them (from the vault) when the
request is about to go out, so connectors and clients never hold plaintext credentials.
"""

from __future__ import annotations

import abc
import base64
from collections.abc import Awaitable, Callable

import httpx
from pydantic import SecretStr

SecretSource = Callable[[], Awaitable[str]]


def static_secret(secret: SecretStr | str) -> SecretSource:
    value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret

    async def source() -> str:
        return value

    return source


class Credentials(abc.ABC):
    @abc.abstractmethod
    async def apply(self, request: httpx.Request) -> None: ...

    async def refresh(self) -> bool:
        """Get fresh credentials after a 401; False when this kind cannot be refreshed."""
        return False


class NoCredentials(Credentials):
    async def apply(self, request: httpx.Request) -> None:
        return None


class HeaderCredentials(Credentials):
    """`Authorization: Bearer <token>`, `X-Api-Key: <key>`, `Freelancer-OAuth-V1: <token>`..."""

    def __init__(
        self, source: SecretSource, *, header: str = "Authorization", scheme: str = "Bearer"
    ) -> None:
        self.source = source
        self.header = header
        self.scheme = scheme

    async def apply(self, request: httpx.Request) -> None:
        secret = await self.source()
        request.headers[self.header] = f"{self.scheme} {secret}" if self.scheme else secret


class QueryCredentials(Credentials):
    def __init__(self, source: SecretSource, *, param: str) -> None:
        self.source = source
        self.param = param

    async def apply(self, request: httpx.Request) -> None:
        request.url = request.url.copy_set_param(self.param, await self.source())


class BasicCredentials(Credentials):
    def __init__(self, username: str, password: SecretSource) -> None:
        self.username = username
        self.password = password

    async def apply(self, request: httpx.Request) -> None:
        pair = f"{self.username}:{await self.password()}".encode()
        request.headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()


class TokenRefresher(abc.ABC):
    """Holds a connection's OAuth access token and renews it (implemented by connections)."""

    @abc.abstractmethod
    async def access_token(self) -> str:
        """A token valid for a while yet, refreshing first when it is close to expiry."""

    @abc.abstractmethod
    async def force_refresh(self, rejected_token: str) -> bool:
        """The provider refused `rejected_token`: renew it unless someone already did."""


class OAuth2Credentials(Credentials):
    def __init__(
        self, tokens: TokenRefresher, *, header: str = "Authorization", scheme: str = "Bearer"
    ) -> None:
        self.tokens = tokens
        self.header = header
        self.scheme = scheme
        self._last: str | None = None

    async def apply(self, request: httpx.Request) -> None:
        self._last = await self.tokens.access_token()
        request.headers[self.header] = f"{self.scheme} {self._last}" if self.scheme else self._last

    async def refresh(self) -> bool:
        return await self.tokens.force_refresh(self._last or "")
