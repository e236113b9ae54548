"""kill -9 of a real `gigforge worker` in the middle of a fan-out's deliveries: after a
restart every (event, endpoint) pair arrives at least once, a duplicate carries the same
webhook-id, and the attempt log has an entry for every request the receiver got.

SQLite runs with the in-process broker; PostgreSQL runs with RabbitMQ (GIGFORGE_TEST_AMQP_URL).
The receiver listens on a loopback port in a thread of this process and, until told, never
answers, so the first worker is caught holding its claims.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from standardwebhooks import Webhook
from webhooks_support import account_with_endpoint, create_endpoint, publish_submitted

from factories import AppFactory
from gigforge.kit.db import unit_of_work
from gigforge.webhooks.models import DeliveryState, WebhookAttempt, WebhookDelivery
from workers import start_worker, wait_for

AMQP_URL = os.environ.get("GIGFORGE_TEST_AMQP_URL")
LEASE_SECONDS = 3
ENDPOINTS = 4
EVENTS = 15


class SlowReceiver:
    """Records every request; holds each one unanswered while `hold` is set."""

    def __init__(self) -> None:
        self.hold = threading.Event()
        self.hold.set()
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                headers = {}
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if value:
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.received.append((headers, body))
                while self.hold.is_set():  # noqa: ASYNC110 (set from another thread)
                    await asyncio.sleep(0.05)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(10)

    def stop(self) -> None:
        self.hold.clear()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@pytest.fixture
def receiver() -> Iterator[SlowReceiver]:
    served = SlowReceiver()
    served.start()
    yield served
    served.stop()


def _worker(app: FastAPI, broker_url: str | None, port: int) -> subprocess.Popen[bytes]:
    return start_worker(
        app, broker_url=broker_url, allowed_ports=[port], lease_seconds=LEASE_SECONDS
    )


async def test_kill_9_mid_fan_out_delivers_every_pair_with_stable_webhook_ids(
    app_factory: AppFactory, database_url: str, receiver: SlowReceiver
) -> None:
    broker_url = None
    if database_url.startswith("postgresql"):
        if not AMQP_URL:
            pytest.skip("GIGFORGE_TEST_AMQP_URL is not set; the PostgreSQL run uses RabbitMQ")
        broker_url = AMQP_URL
    app = await app_factory(allowed_private_hosts=[f"127.0.0.1:{receiver.port}"])
    url = f"http://127.0.0.1:{receiver.port}/hooks"
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        account, first = await account_with_endpoint(client, url)
        secrets = [first.secret]
        for _ in range(ENDPOINTS - 1):
            secrets.append((await create_endpoint(client, account, url)).secret)
    await publish_submitted(app, account.user_id, EVENTS)

    async def deliveries() -> list[WebhookDelivery]:
        async with unit_of_work(app.state.database) as session:
            return list((await session.execute(select(WebhookDelivery))).scalars().all())

    worker = _worker(app, broker_url, receiver.port)
    try:

        async def caught() -> bool:
            return len(receiver.received) >= 3

        await wait_for(
            caught, "the worker to send while the receiver holds its answers", within=120
        )
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(30)
    sent_before_kill = len(receiver.received)
    receiver.hold.clear()

    restarted = _worker(app, broker_url, receiver.port)
    try:

        async def all_delivered() -> bool:
            rows = await deliveries()
            return len(rows) == ENDPOINTS * EVENTS and all(
                row.state is DeliveryState.succeeded for row in rows
            )

        await wait_for(all_delivered, "the restarted worker to deliver every pair", within=120)
    finally:
        restarted.terminate()
        restarted.wait(30)

    rows = await deliveries()
    message_of = {(row.event_id, row.endpoint_id): row.message_id for row in rows}
    assert len(message_of) == ENDPOINTS * EVENTS  # one delivery per (event, endpoint)
    received_ids = Counter(headers["webhook-id"] for headers, _ in receiver.received)
    assert set(received_ids) == set(message_of.values())  # every pair arrived
    assert len(receiver.received) > ENDPOINTS * EVENTS - 1 or sent_before_kill == 0
    assert any(count > 1 for count in received_ids.values())  # the held ones came twice
    for headers, body in receiver.received:  # duplicates are the same signed message
        for secret in secrets:
            try:
                Webhook(secret).verify(body, headers)
                break
            except Exception:  # noqa: S112 - another endpoint's secret
                continue
        else:
            raise AssertionError("a delivery no secret verifies")
    async with unit_of_work(app.state.database) as session:
        attempts = list((await session.execute(select(WebhookAttempt))).scalars().all())
    logged = Counter(attempt.msg_id for attempt in attempts)
    for msg_id, count in received_ids.items():
        assert logged[msg_id] >= count, msg_id  # every request the receiver got is logged
    assert any(attempt.error and "worker stopped" in attempt.error for attempt in attempts)
