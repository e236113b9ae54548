"""An `httpx2` client whose every request rides on the policy layer's `httpx` client.

The `anthropic` SDK (1.0 and later) is built on `httpx2` and refuses an `httpx.AsyncClient` as
its `http_client` (`anthropic._base_client._reject_httpx_object`), so the runtime's client cannot
be handed over as it is for the `openai` SDK. Instead the SDK gets an `httpx2.AsyncClient` whose
transport re-sends each request through `self.client`: the PolicyTransport underneath still adds
the credentials, spends the rate budget, retries, trips the breaker and logs, exactly once per
call, and its framework errors reach the SDK's caller unchanged.
"""

from __future__ import annotations

import httpx
import httpx2

# Recomputed by httpx for the request it builds; the URL, not the SDK, decides the host.
_DROPPED_REQUEST_HEADERS = frozenset({"host", "content-length", "transfer-encoding"})


class PolicyLayerTransport(httpx2.AsyncBaseTransport):
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        content = await request.aread()
        headers = [
            (name, value)
            for name, value in request.headers.multi_items()
            if name.lower() not in _DROPPED_REQUEST_HEADERS
        ]
        timeout = request.extensions.get("timeout")
        outgoing = self.client.build_request(
            request.method,
            str(request.url),
            headers=headers,
            content=content,
            extensions={"timeout": timeout} if timeout is not None else None,
        )
        response = await self.client.send(outgoing, stream=True)
        try:
            # Raw bytes with their Content-Encoding header: httpx2 decodes them once, as usual.
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
        finally:
            await response.aclose()
        return httpx2.Response(
            response.status_code,
            headers=response.headers.multi_items(),
            content=raw,
            request=request,
        )

    async def aclose(self) -> None:
        """The policy layer's client belongs to the connection, which closes it."""


def sdk_http_client(client: httpx.AsyncClient) -> httpx2.AsyncClient:
    """An httpx2 client for the SDK with the policy client's timeouts and no settings of its
    own: no proxies or certificates from the environment, no redirects, no connection pool."""
    return httpx2.AsyncClient(
        transport=PolicyLayerTransport(client),
        timeout=httpx2.Timeout(**client.timeout.as_dict()),
        follow_redirects=False,
        trust_env=False,
    )
