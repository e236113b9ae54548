"""Throughput and latency of an authenticated `GET /api/v1/users/me` under concurrent load.

Starts `gigforge serve` (SQLite, a temporary data directory) on a loopback port, once with one
API process and once with `--workers 2` (the embedded worker off), signs up one
account, then drives the endpoint from a separate process with N concurrent connections and
prints requests per second and p50/p99 latency beside a bare endpoint (`/healthz`) of the same
app. The load generator shares the machine's cores with the server, so absolute numbers are a
floor; compare the rows with each other.

`--rate-limits both` (the default) runs every configuration twice, with the API rate limits
off and on, so the rows show what counting and the RateLimit headers cost; "on" sets limits
far above the load so nothing is refused, and counts in memory, or in Redis with
`--redis-url`.

    python bench/api.py [--requests 3000] [--concurrency 32] [--workers 1 2]
                        [--rate-limits off|on|both] [--redis-url redis://127.0.0.1:6379/7]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import httpx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


UNREACHABLE_LIMIT = "1000000000/minute"


def _start_server(
    data_dir: Path, port: int, workers: int, *, limits: bool, redis_url: str | None
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "GIGFORGE_ENV": "development",
        "GIGFORGE_DATA_DIR": str(data_dir),
        "GIGFORGE_LOG_LEVEL": "WARNING",
        "GIGFORGE_CONFIG": str(data_dir / "none.toml"),
    }
    env.pop("GIGFORGE_DATABASE_URL", None)
    env.pop("GIGFORGE_BROKER_URL", None)
    env.pop("GIGFORGE_REDIS_URL", None)
    env["GIGFORGE_RATE_LIMITS_ENABLED"] = "true" if limits else "false"
    if limits:
        for group in ("READ", "WRITE", "AUTH"):
            env[f"GIGFORGE_RATE_LIMIT_{group}"] = UNREACHABLE_LIMIT
        if redis_url:
            env["GIGFORGE_REDIS_URL"] = redis_url
    if workers > 1:
        # Several API processes serve requests only (see docs/deployment.md).
        env["GIGFORGE_EMBEDDED_WORKER"] = "false"
    return subprocess.Popen(
        [sys.executable, "-m", "gigforge", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _wait_ready(base: str, deadline_seconds: float = 60) -> None:
    deadline = time.monotonic() + deadline_seconds
    async with httpx.AsyncClient(base_url=base) as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit("the server did not become ready")


async def _load(
    base: str, path: str, headers: dict[str, str], requests: int, concurrency: int
) -> tuple[float, list[float], int]:
    """aiohttp drives the load: httpx's pool, fine for the app, caps out far below the server."""
    latencies: list[float] = []
    failures = 0
    remaining = requests
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(base, headers=headers, connector=connector) as client:

        async def worker() -> None:
            nonlocal failures, remaining
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                async with client.get(path) as response:
                    await response.read()
                    latencies.append(time.perf_counter() - started)
                    if response.status != 200:
                        failures += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return elapsed, latencies, failures


def _row(name: str, elapsed: float, latencies: list[float], failures: int) -> str:
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    rps = len(latencies) / elapsed
    return f"{name:<66} {rps:>10.0f} {p50:>10.2f} {p99:>10.2f} {failures:>8}"


async def _credentials(base: str) -> tuple[str, str]:
    """A new account's access token and an API key with `users:read`."""
    async with httpx.AsyncClient(base_url=base) as client:
        registered = await client.post(
            "/api/v1/auth/register",
            json={
                "email": "bench@example.com",
                "password": "load test passphrase 7",
                "full_name": "Bench",
            },
        )
        registered.raise_for_status()
        token = registered.json()["access_token"]
        key = (
            await client.post(
                "/api/v1/api-keys",
                json={"name": "bench", "scopes": ["users:read"]},
                headers={"Authorization": f"Bearer {token}"},
            )
        ).json()["key"]
    return str(token), str(key)


async def _rows(
    workers: int, requests: int, concurrency: int, *, limits: bool, redis_url: str | None
) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    label = f"{workers} worker{'s' if workers > 1 else ''}"
    label += f", limits {'on' if limits else 'off'}"
    if limits and redis_url:
        label += " (Redis)"
    with tempfile.TemporaryDirectory() as tmp:
        server = _start_server(Path(tmp), port, workers, limits=limits, redis_url=redis_url)
        try:
            await _wait_ready(base)
            token, key = await _credentials(base)
            cases = [
                ("GET /healthz (bare)", "/healthz", {}),
                (
                    "GET /api/v1/users/me (JWT)",
                    "/api/v1/users/me",
                    {"Authorization": f"Bearer {token}"},
                ),
                ("GET /api/v1/users/me (API key)", "/api/v1/users/me", {"X-API-Key": key}),
            ]
            for name, path, headers in cases:
                await _load(base, path, headers, min(200, requests), concurrency)
                elapsed, latencies, failures = await _load(
                    base, path, headers, requests, concurrency
                )
                print(_row(f"{name}, {label}", elapsed, latencies, failures))
        finally:
            server.terminate()
            server.wait(timeout=30)


async def _limiter_cost(redis_url: str | None, calls: int = 20_000) -> str:
    """The limiter's own cost per request, in this process: one charge and its headers."""
    from gigforge.kit.ratelimit import Policy, RateLimiter, parse_limit, storage_from_url

    limiter = RateLimiter(
        storage_from_url(redis_url), [Policy("read", parse_limit(UNREACHABLE_LIMIT))]
    )
    samples: list[float] = []
    for number in range(calls):
        started = time.perf_counter()
        decision = await limiter.charge("read", f"user:{number % 100}")
        if decision is None or not decision.allowed:
            raise SystemExit(f"the limiter refused or could not count: {decision}")
        decision.headers()
        samples.append(time.perf_counter() - started)
    samples.sort()
    where = "Redis" if redis_url else "memory"
    return (
        f"rate limiter alone ({where}): median {statistics.median(samples) * 1e6:.1f} us, "
        f"p99 {samples[int(len(samples) * 0.99)] * 1e6:.1f} us per request ({calls} charges)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2], help="API processes, one run each"
    )
    parser.add_argument(
        "--rate-limits",
        choices=["off", "on", "both"],
        default="both",
        help="API rate limits off, on (limits nobody reaches), or one run of each",
    )
    parser.add_argument(
        "--redis-url", default=None, help="count the limits in this Redis instead of in memory"
    )
    args = parser.parse_args()
    print(
        f"{args.requests} requests per row, {args.concurrency} concurrent, "
        f"uvicorn (`gigforge serve --workers N`), SQLite, loopback"
    )
    print(f"{'endpoint':<66} {'req/s':>10} {'p50 ms':>10} {'p99 ms':>10} {'failed':>8}")
    modes = {"off": [False], "on": [True], "both": [False, True]}[args.rate_limits]
    if True in modes:
        print(await _limiter_cost(args.redis_url))
    for workers in args.workers:
        for limits in modes:
            await _rows(
                workers, args.requests, args.concurrency, limits=limits, redis_url=args.redis_url
            )


if __name__ == "__main__":
    asyncio.run(main())
