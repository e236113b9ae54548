"""A webhook receiver on a loopback port: records each request (headers and body) and answers
from a script of responses, then 200 once the script runs out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from standardwebhooks import Webhook


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def msg_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Receiver:
    host: str = "127.0.0.1"
    port: int = 0
    script: list[Reply] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    connections: set[asyncio.StreamWriter] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hooks"

    def verified(self, *secrets: str) -> list[dict[str, object]]:
        """Every body, each verified with the official library under one of `secrets`."""
        bodies = []
        for item in self.received:
            for secret in secrets:
                try:
                    bodies.append(Webhook(secret).verify(item.body, item.headers))
                    break
                except Exception:  # noqa: S112 - another secret may verify it
                    continue
            else:
                raise AssertionError(f"no secret verifies {item.msg_id}")
        return bodies

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections.add(writer)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.received.append(Received(headers, body))
                self.arrived.set()
                reply = self.script.pop(0) if self.script else Reply()
                extra = "".join(f"{name}: {value}\r\n" for name, value in reply.headers.items())
                writer.write(
                    f"HTTP/1.1 {reply.status} X\r\nContent-Length: {len(reply.body)}\r\n"
                    f"{extra}\r\n".encode()
                    + reply.body
                )
                await writer.drain()
        finally:
            self.connections.discard(writer)
            writer.close()


@asynccontextmanager
async def receiving(*script: Reply, host: str = "127.0.0.1") -> AsyncIterator[Receiver]:
    receiver = Receiver(host=host, script=list(script))
    server = await asyncio.start_server(receiver._handle, host, 0)
    receiver.port = server.sockets[0].getsockname()[1]
    try:
        yield receiver
    finally:
        server.close()
        # Python 3.12's wait_closed also waits for open connections: a sender's kept-alive
        # connection would hold it forever, so this side hangs up first.
        for writer in list(receiver.connections):
            writer.close()
        await asyncio.wait_for(server.wait_closed(), timeout=10)
