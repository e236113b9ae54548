"""A real S3-compatible server for the storage tests: moto in server mode on a loopback port,
started here (nothing for CI to start), with KMS beside it for SSE-KMS. What tests import
(`Moto`, the credentials) lives in tests/storage_support.py."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from gigforge.storage.s3 import S3Storage
from serving import free_port
from storage_support import Moto, moto_server


@pytest.fixture(scope="session")
def moto() -> Iterator[Moto]:
    # moto's server logs every request through werkzeug; keep that out of captured CLI output.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield Moto(f"http://127.0.0.1:{port}")
    finally:
        server.stop()


@pytest.fixture
async def s3(moto: Moto) -> Any:
    storage = S3Storage(moto.config(moto.bucket()))
    try:
        yield storage
    finally:
        await storage.aclose()
