"""Ingest throughput: postings per second scanned, normalized, deduped, scored and stored.

A child process serves the Freelancer.com sandbox, seeded with N generated projects, over HTTP
on a loopback port. This process scans it with the real pipeline (connector through the policy
layer, normalize, SimHash dedupe, analysis, batched inserts) into SQLite in a temporary
directory, and prints postings per second and the peak memory (max RSS) of the process.
With GIGFORGE_BENCH_POSTGRES_URL (or GIGFORGE_TEST_POSTGRES_URL) set it repeats on PostgreSQL.

The bench's Freelancer spec drops the provider's 50/minute pacing (it measures the pipeline,
not Freelancer's quota); everything else is the production code path.

    python bench/ingest.py [--postings 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import resource
import socket
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ACCESS_TOKEN = "bench-access-token"  # noqa: S105 - a sandbox token for this run only
WORDS = (  # noqa: SIM905 - one readable block of words
    "python django api react dashboard data pipeline etl scraper automation mobile app "
    "flutter ios android backend frontend devops aws docker kubernetes design logo brand "
    "copywriting seo article blog translation video editing shopify wordpress payment "
    "integration analytics machine learning model chatbot crm migration testing qa"
).split()
SKILLS = [(i + 1, name) for i, name in enumerate(WORDS[:30])]


def _vocabulary(generator: random.Random, size: int = 5000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return [
        "".join(generator.choice(letters) for _ in range(generator.randrange(3, 10)))
        for _ in range(size)
    ]


def _projects(count: int) -> dict[int, dict[str, Any]]:
    """Listings as varied as real ones: no shared template text, so near-duplicates are rare
    (as on a real board) rather than everywhere."""
    generator = random.Random(7)
    vocabulary = _vocabulary(generator)
    epoch = 1_767_225_600
    projects: dict[int, dict[str, Any]] = {}
    for index in range(count):
        project_id = 50_000_000 + index
        words = generator.sample(WORDS, 4)
        title = " ".join(words).capitalize() + f" {index}"
        skills = generator.sample(SKILLS, 3)
        low = generator.randrange(30, 3000)
        submitted = epoch - index * 7
        description = " ".join(generator.choices(vocabulary, k=generator.randrange(40, 120)))
        projects[project_id] = {
            "id": project_id,
            "owner_id": (72001, 72002, 72003)[index % 3],
            "title": title,
            "status": "active",
            "seo_url": f"{skills[0][1]}/{title.lower().replace(' ', '-')}",
            "currency": {"code": "USD"},
            "description": description,
            "preview_description": description[:60],
            "type": "fixed" if index % 3 else "hourly",
            "budget": {"minimum": low, "maximum": low * 2},
            "jobs": [
                {"id": i, "name": n, "category": {"id": 1, "name": "Websites, IT & Software"}}
                for i, n in skills
            ],
            "bid_stats": {"bid_count": index % 40, "bid_avg": None},
            "time_submitted": submitted,
            "time_updated": submitted,
            "hidebids": False,
        }
    return projects


def _serve(port: int, count: int) -> None:
    import uvicorn

    from gigforge.integrations.framework.sandbox import TokenRecord
    from gigforge.integrations.freelancer._seed import SANDBOX_USER_ID
    from gigforge.integrations.freelancer.sandbox import create_sandbox

    sandbox = create_sandbox(window_limit=10**9)
    sandbox.projects = _projects(count)
    sandbox.oauth.access_tokens[ACCESS_TOKEN] = TokenRecord(
        subject=str(SANDBOX_USER_ID), scope="basic", expires=time.time() + 86_400
    )
    uvicorn.run(sandbox.app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def _ingest(database_url: str, sandbox_url: str, count: int, data_dir: Path) -> float:
    from sqlalchemy import text

    from gigforge.accounts.models import User
    from gigforge.app import create_app, freeze_startup_heap
    from gigforge.connections.models import Connection
    from gigforge.connections.vault import vault
    from gigforge.integrations.framework import Registry
    from gigforge.integrations.freelancer import FreelancerConnector
    from gigforge.kit.db import unit_of_work
    from gigforge.migrations import upgrade
    from gigforge.opportunities.scanning import Scanner
    from gigforge.settings import Settings

    class UnpacedFreelancer(FreelancerConnector):
        spec = FreelancerConnector.spec.model_copy(update={"rate_limits": ()})

    settings = Settings(
        env="development",
        data_dir=data_dir,
        database_url=database_url,
        log_level="WARNING",
        embedded_worker=False,
    )
    app = create_app(settings)
    freeze_startup_heap()  # as `gigforge worker` and `gigforge scan` do once started
    context = app.state.integrations
    context.registry = Registry([UnpacedFreelancer])
    database = context.database
    if database.engine.dialect.name == "postgresql":
        async with database.engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    await upgrade(database.engine)
    async with unit_of_work(database) as session:
        user = User(
            email=f"bench-{uuid.uuid4().hex[:6]}@example.com",
            full_name="Bench",
            password_hash="!",  # noqa: S106 - no password: this account cannot sign in
        )
        session.add(user)
        await session.flush()
        connection_id = uuid.uuid4()
        secret_id = await vault.put(
            session,
            context.keyring,
            user_id=user.id,
            purpose=f"connection:{connection_id}",
            plaintext=json.dumps(
                {
                    "config": {},
                    "tokens": {
                        "access_token": ACCESS_TOKEN,
                        "refresh_token": None,
                        "expires_at": None,
                    },
                }
            ),
        )
        session.add(
            Connection(
                id=connection_id,
                user_id=user.id,
                integration="freelancer",
                name="bench",
                auth_mode="oauth2_authorization_code",
                config={},
                base_url=sandbox_url,
                secret_id=secret_id,
            )
        )
    scanner = Scanner(context, max_postings=count)
    started = time.perf_counter()
    report = await scanner.scan(connection_id)
    elapsed = time.perf_counter() - started
    await database.dispose()
    if report.error or report.seen != count:
        raise SystemExit(f"scan incomplete: {report}")
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postings", type=int, default=100_000)
    args = parser.parse_args()

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = multiprocessing.Process(target=_serve, args=(port, args.postings), daemon=True)
    server.start()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        sandbox_url = f"http://127.0.0.1:{port}"
        print(f"{args.postings} postings from the Freelancer sandbox over loopback HTTP")
        with tempfile.TemporaryDirectory() as tmp:
            rate = asyncio.run(
                _ingest(
                    f"sqlite+aiosqlite:///{tmp}/bench.db", sandbox_url, args.postings, Path(tmp)
                )
            )
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"SQLite:     {rate:>8.0f} postings/s   peak memory {peak_mb:.0f} MB")
        postgres = os.environ.get("GIGFORGE_BENCH_POSTGRES_URL") or os.environ.get(
            "GIGFORGE_TEST_POSTGRES_URL"
        )
        if postgres:
            from sqlalchemy.engine import make_url

            url = make_url(postgres).set(drivername="postgresql+asyncpg")
            with tempfile.TemporaryDirectory() as tmp:
                rate = asyncio.run(
                    _ingest(
                        url.render_as_string(hide_password=False),
                        sandbox_url,
                        args.postings,
                        Path(tmp),
                    )
                )
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"PostgreSQL: {rate:>8.0f} postings/s   peak memory {peak_mb:.0f} MB")
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
