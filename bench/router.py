"""Time the model router adds per call, against a direct call to the same provider.

Both paths call the OpenAI sandbox in-process: (a) the OpenAI connector (the official SDK over
the policy layer) directly, (b) the app's own router (`app.state.router`) `complete` for the
same prompts, inside the caller's unit of work (its commit included): candidate selection from
the user's connections and the models their specs declare, masking, the cache lookup, the
monthly budget reserved in the database (one short committed transaction before the call), the
call, and the usage and cache rows handed to the router's writer. Prompts differ call by call so
the cache never answers. Prints the median, p99 and mean of each and the differences.

The writer stores those rows in batches after the answers, settling each call's reservation to
its real cost in the same transaction (`gigforge.ai.usage.UsageWriter`); its batches run on the
same event loop between and during later calls, so their cost lands in the p99 and mean of
whichever path they interrupt rather than in the router's median. The bench closes the router
at the end and checks that every routed call left its usage row.

    python bench/router.py [--calls 300]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gigforge.connections.context import IntegrationContext


def _summary(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    return (
        statistics.median(ordered) * 1000,
        ordered[int(len(ordered) * 0.99)] * 1000,
        statistics.fmean(ordered) * 1000,
    )


async def _connected_user(context: IntegrationContext, email: str) -> tuple[uuid.UUID, uuid.UUID]:
    """A user with an OpenAI connection to the sandbox: (user id, connection id)."""
    from gigforge.accounts.models import User
    from gigforge.accounts.principal import Principal
    from gigforge.accounts.scopes import scopes_for
    from gigforge.connections.schemas import ConnectionCreate
    from gigforge.connections.service import connections as connection_service
    from gigforge.integrations.openai.sandbox import SANDBOX_API_KEY
    from gigforge.kit.db import unit_of_work

    async with unit_of_work(context.database) as session:
        user = User(email=email, full_name="Bench Person", password_hash="!")  # noqa: S106 - cannot sign in
        session.add(user)
        await session.flush()
        connection = await connection_service.create(
            session,
            Principal(user=user, scopes=frozenset(scopes_for(user.role))),
            context=context,
            data=ConnectionCreate(integration="openai", config={"api_key": SANDBOX_API_KEY}),
        )
        return user.id, connection.id


async def main(calls: int) -> None:
    from sqlalchemy import func, select

    from gigforge.ai.models import AIUsage
    from gigforge.ai.router import Budgets, Task
    from gigforge.app import create_app
    from gigforge.connections.models import Connection
    from gigforge.connections.service import connections as connection_service
    from gigforge.integrations.framework import LLM, ChatMessage, ChatRequest
    from gigforge.kit.db import unit_of_work
    from gigforge.migrations import upgrade
    from gigforge.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            env="development",
            data_dir=Path(tmp),
            sandbox=True,
            log_level="WARNING",
            embedded_worker=False,
        )
        app = create_app(settings)
        context = app.state.integrations
        router = app.state.router
        await upgrade(context.database.engine)
        # The sandbox's own 500 requests a minute would stall one call of a long run for the
        # rest of its minute; the policy layer paces each connection the same way, so each path
        # has its own connection (and user) to the same sandbox.
        app.state.sandboxes["openai"].requests_per_minute = 10**6
        user_id, _ = await _connected_user(context, "routed@bench.example.com")
        _, connection_id = await _connected_user(context, "direct@bench.example.com")
        budgets = Budgets(per_task_micro_usd=10**9, monthly_micro_usd=10**12)

        direct: list[float] = []
        routed: list[float] = []
        for index in range(calls + 20):
            prompt = f"Summarise job {uuid.uuid4().hex} number {index}"
            async with unit_of_work(context.database) as session:
                stored = await session.get(Connection, connection_id)
                assert stored is not None
                connector = await connection_service.connector(
                    session, context=context, connection=stored
                )
            assert isinstance(connector, LLM)
            started = time.perf_counter()
            async with connector.client:
                await connector.chat(
                    ChatRequest(
                        model="gpt-4.1-mini", messages=[ChatMessage(role="user", content=prompt)]
                    )
                )
            direct_time = time.perf_counter() - started
            started = time.perf_counter()
            async with unit_of_work(context.database) as session:
                await router.complete(
                    session,
                    user_id,
                    context=context,
                    task=Task.summary,
                    messages=[ChatMessage(role="user", content=prompt + " again")],
                    budgets=budgets,
                )
            routed_time = time.perf_counter() - started
            if index >= 20:
                direct.append(direct_time)
                routed.append(routed_time)
        await router.close()
        async with unit_of_work(context.database) as session:
            recorded = await session.scalar(select(func.count()).select_from(AIUsage))
        await context.database.dispose()
    if recorded != calls + 20:
        raise SystemExit(f"{calls + 20} routed calls but {recorded} usage rows")

    rows = {
        "direct connector call": _summary(direct),
        "through the router": _summary(routed),
    }
    added = tuple(r - d for d, r in zip(*rows.values(), strict=True))
    print(f"{calls} calls each, OpenAI sandbox in-process, SQLite; milliseconds")
    print(f"{'':<24} {'p50':>8} {'p99':>8} {'mean':>8}")
    for label, (p50, p99, mean) in {**rows, "added by the router": added}.items():
        print(f"{label:<24} {p50:>8.2f} {p99:>8.2f} {mean:>8.2f}")
    print(f"usage rows written: {recorded} of {calls + 20} routed calls (warm-up included)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    os.environ.setdefault("GIGFORGE_CONFIG", "/nonexistent/gigforge.toml")
    asyncio.run(main(parser.parse_args().calls))
    sys.exit(0)
