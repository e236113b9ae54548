"""Time added by the policy layer per third-party call.

Runs a minimal HTTP/1.1 server in a child process on a loopback port (server and client pinned
to different cores) and times sequential GETs, interleaved call by call, through (a) a bare
`httpx.AsyncClient` and (b) a client from `IntegrationRuntime` (rate
budget with two limits, credentials, breaker, retry bookkeeping, metrics, one structured log
record per call at INFO, redacted and written to /dev/null). Prints median and p99 of each and
the difference. A second pair uses an in-process transport, which removes the network and shows
the layer's own cost.

    python bench/gateway.py [--calls 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import socket
import statistics
import sys
import time
from collections.abc import Awaitable, Callable

import httpx
from pydantic import BaseModel

from gigforge.integrations.framework import (
    AuthMode,
    Capability,
    HeaderCredentials,
    IntegrationRuntime,
    IntegrationSpec,
    TermsOfUse,
    static_secret,
)
from gigforge.kit.logging import configure_logging
from gigforge.settings import Settings

RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n"
    b'connection: keep-alive\r\n\r\n{"ok":true}'
)


def _pin(cpu: int) -> None:
    """Keep server and client on separate cores so they do not queue behind each other."""
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {cpu})


def _serve(port: int) -> None:
    _pin(1)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(RESPONSE)
                await writer.drain()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


class _Config(BaseModel):
    pass


SPEC = IntegrationSpec(
    slug="bench",
    title="Bench",
    description="A loopback server",
    capabilities=frozenset({Capability.crm}),
    auth_modes=(AuthMode.bearer_token,),
    base_url="http://127.0.0.1",
    docs_url="http://127.0.0.1/docs",
    terms=TermsOfUse(url="http://127.0.0.1/terms", summary="benchmark"),
    config_model=_Config,
    rate_limits=("1000000/second", "100000000/day"),
)


async def _time_interleaved(
    calls: int,
    first: Callable[[], Awaitable[httpx.Response]],
    second: Callable[[], Awaitable[httpx.Response]],
) -> tuple[list[float], list[float]]:
    """Alternate the two clients call by call, so both see the same machine noise."""
    for _ in range(200):
        await first()
        await second()
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(calls):
        for send, into in ((first, samples[0]), (second, samples[1])):
            started = time.perf_counter()
            response = await send()
            into.append(time.perf_counter() - started)
            assert response.status_code == 200
    return samples


def _summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1e6, ordered[int(len(ordered) * 0.99)] * 1e6


ROUNDS = 5


async def _pair(calls: int, base: str, inner: Callable[[], httpx.AsyncBaseTransport]) -> None:
    """ROUNDS rounds of `calls` interleaved calls; the median round is reported."""
    runtime = IntegrationRuntime()
    bare = httpx.AsyncClient(base_url=base, transport=inner())
    policy = runtime.client(
        SPEC,
        connection="bench",
        base_url=base,
        inner=inner(),
        credentials=HeaderCredentials(static_secret("bench-token")),
    )
    rounds: list[tuple[float, float, float, float]] = []
    async with bare, policy:
        for _ in range(ROUNDS):
            bare_samples, policy_samples = await _time_interleaved(
                calls, lambda: bare.get("/ping"), lambda: policy.get("/ping")
            )
            rounds.append((*_summary(bare_samples), *_summary(policy_samples)))
    rounds.sort(key=lambda row: row[2] - row[0])
    bare_p50, bare_p99, policy_p50, policy_p99 = rounds[len(rounds) // 2]
    print(f"{'bare httpx':<28} {bare_p50:>10.1f} {bare_p99:>10.1f}")
    print(f"{'through the policy layer':<28} {policy_p50:>10.1f} {policy_p99:>10.1f}")
    print(
        f"{'added by the policy layer':<28} {policy_p50 - bare_p50:>10.1f} "
        f"{policy_p99 - bare_p99:>10.1f}"
    )


def _mock() -> httpx.AsyncBaseTransport:
    return httpx.MockTransport(lambda request: httpx.Response(200, json={"ok": True}))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per round and client")
    args = parser.parse_args()

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = multiprocessing.Process(target=_serve, args=(port,), daemon=True)
    server.start()
    _pin(0)
    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                break
            await asyncio.sleep(0.05)
        stderr = sys.stderr
        with open(os.devnull, "w") as devnull:  # noqa: ASYNC230 - before any timing
            sys.stderr = devnull
            configure_logging(Settings(env="development", log_format="json", log_level="INFO"))
            try:
                print(
                    f"{ROUNDS} rounds of {args.calls} interleaved sequential calls per client; "
                    "the median round, in microseconds"
                )
                print(f"{'loopback HTTP server':<28} {'p50':>10} {'p99':>10}")
                await _pair(args.calls, f"http://127.0.0.1:{port}", httpx.AsyncHTTPTransport)
                print(f"{'in-process transport':<28} {'p50':>10} {'p99':>10}")
                await _pair(args.calls, "http://bench.local", _mock)
            finally:
                sys.stderr = stderr
    finally:
        server.terminate()


if __name__ == "__main__":
    asyncio.run(main())
