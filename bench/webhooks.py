"""Webhook deliveries per second, and end-to-end latency, to 100 endpoints on a loopback
receiver running in another process.

End to end is what a receiver sees: from the commit of the transaction that published the
event to the moment the receiver has read the signed request. In between: the fan-out task
turns the event into one delivery row per endpoint, delivery runs claim batches of rows, send
them concurrently over one pooled client (through the SSRF guard, which allow-lists the
loopback receiver here), and record every attempt. The worker is this process, with the
in-process broker, as `gigforge serve` runs embedded; the receiver counts distinct
`webhook-id`s, so a lost delivery shows as a shortfall and a duplicate as an excess.

    python bench/webhooks.py [--endpoints 100] [--events 100] [--batch 10]

GIGFORGE_BENCH_POSTGRES_URL runs on PostgreSQL instead of SQLite in a temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from gigforge.accounts.models import User
from gigforge.kit.db import unit_of_work
from gigforge.kit.outbox import publish_many
from gigforge.migrations import upgrade
from gigforge.proposals.events import ProposalSubmitted
from gigforge.settings import Settings
from gigforge.webhooks.models import WebhookEndpoint
from gigforge.worker import Process

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def _receiver(port_out: Any, results: Any, expected: int) -> None:
    """Another process: answer 200 to every POST and note when each message arrived."""
    arrivals: dict[str, float] = {}
    events: dict[str, str] = {}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                msg_id = ""
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        length = int(value)
                    elif name == b"webhook-id":
                        msg_id = value.strip().decode()
                body = await reader.readexactly(length)
                arrivals.setdefault(msg_id, time.time())
                events.setdefault(msg_id, json.loads(body)["data"]["external_id"])
                writer.write(RESPONSE)
                if len(arrivals) >= expected:
                    done.set()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
        port_out.send(server.sockets[0].getsockname()[1])
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), timeout=600)
        results.send({"arrivals": arrivals, "events": events})
        server.close()

    done = asyncio.Event()
    asyncio.run(main())


async def run(arguments: argparse.Namespace, folder: Path) -> None:
    url = os.environ.get("GIGFORGE_BENCH_POSTGRES_URL") or f"sqlite+aiosqlite:///{folder}/bench.db"
    url = url.replace("postgresql://", "postgresql+asyncpg://")
    expected = arguments.endpoints * arguments.events
    port_in, port_out = multiprocessing.Pipe(duplex=False)
    results_in, results_out = multiprocessing.Pipe(duplex=False)
    receiver = multiprocessing.Process(
        target=_receiver, args=(port_out, results_out, expected), daemon=True
    )
    receiver.start()
    port = port_in.recv()
    settings = Settings(
        env="test",
        secret_key="b" * 48,
        master_key="bWFzdGVyLWtleS1mb3ItdGhlLWJlbmNobWFyay0zMmI=",
        data_dir=folder / "data",
        database_url=url,
        allowed_private_hosts=[f"127.0.0.1:{port}"],
        log_level="WARNING",
    )
    process = Process.build(settings, concurrency=16)
    if url.startswith("postgresql"):
        from sqlalchemy import text

        async with process.database.engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    await upgrade(process.database.engine)

    from gigforge.connections.vault import vault

    keyring = process.integrations.keyring
    user_id = uuid.uuid4()
    async with unit_of_work(process.database) as session:
        session.add(
            User(id=user_id, email="bench@example.com", full_name="Bench", password_hash="!")  # noqa: S106 (no one signs in)
        )
        await session.flush()
        secret = await vault.put(
            session,
            keyring,
            user_id=user_id,
            purpose="webhook.secret",
            plaintext="whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        )
        for index in range(arguments.endpoints):
            session.add(
                WebhookEndpoint(
                    user_id=user_id,
                    url=f"http://127.0.0.1:{port}/hooks/{index}",
                    description=f"bench {index}",
                    event_types=[],
                    secret_id=secret,
                )
            )
    await process.start(work=True)
    committed: dict[str, float] = {}
    started = time.time()
    cpu_started = time.process_time()
    sent = 0
    while sent < arguments.events:
        count = min(arguments.batch, arguments.events - sent)
        payloads = [
            (
                ProposalSubmitted(
                    proposal_id=uuid.uuid4(),
                    opportunity_id=uuid.uuid4(),
                    platform="freelancer",
                    via="api",
                    external_id=str(sent + index),
                ),
                user_id,
            )
            for index in range(count)
        ]
        async with unit_of_work(process.database) as session:
            await publish_many(session, payloads)
        now = time.time()
        for index in range(count):
            committed[str(sent + index)] = now
        sent += count
        await asyncio.sleep(arguments.pause)
    loop = asyncio.get_running_loop()
    result: dict[str, Any] = await loop.run_in_executor(None, results_in.recv)
    cpu = time.process_time() - cpu_started
    await process.stop()
    await process.database.dispose()
    receiver.join(10)

    arrivals: dict[str, float] = result["arrivals"]
    events: dict[str, str] = result["events"]
    finished = max(arrivals.values()) if arrivals else time.time()
    latencies = sorted(arrivals[msg] - committed[events[msg]] for msg in arrivals)
    elapsed = finished - started
    print(f"database: {url.split(':', 1)[0]}")
    print(
        f"endpoints: {arguments.endpoints}, events: {arguments.events} "
        f"(published {arguments.batch} per transaction)"
    )
    print(f"deliveries expected: {expected}, received (distinct webhook-id): {len(arrivals)}")
    print(f"lost: {expected - len(arrivals)}")
    print(f"deliveries/s: {len(arrivals) / elapsed:,.0f} over {elapsed:.2f} s")
    if latencies:
        p50 = statistics.median(latencies)
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(f"end-to-end latency: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")
    print(f"worker CPU: {cpu:.2f} s ({cpu / max(len(arrivals), 1) * 1e6:.0f} µs per delivery)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoints", type=int, default=100)
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--batch", type=int, default=10, help="events per transaction")
    parser.add_argument("--pause", type=float, default=0.0, help="seconds between transactions")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(arguments, Path(folder)))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
