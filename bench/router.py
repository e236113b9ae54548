"""Time the model router adds per call, against a direct call to the same provider.

Both paths call the OpenAI sandbox in-process: (a) the OpenAI connector (the official SDK over
the policy layer) directly, (b) `router.complete` for the same prompts: candidate selection
from the user's connections, the monthly budget query, masking, the cache lookup, the call,
and the usage and cache rows written to SQLite. Prompts differ call by call so the cache never
answers. Prints the median and p99 of each and the difference.

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


def _summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.99)] * 1000


async def main(calls: int) -> None:
    from gigforge.accounts.models import User
    from gigforge.ai.router import Budgets, Task, router
    from gigforge.app import create_app
    from gigforge.connections.models import Connection
    from gigforge.connections.schemas import ConnectionCreate
    from gigforge.connections.service import connections as connection_service
    from gigforge.db import unit_of_work
    from gigforge.integrations.framework import LLM, ChatMessage, ChatRequest
    from gigforge.integrations.openai.sandbox import SANDBOX_API_KEY
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
        await upgrade(context.database.engine)
        async with unit_of_work(context.database) as session:
            user = User(email="bench@example.com", full_name="Bench Person", password_hash="!")  # noqa: S106 - cannot sign in
            session.add(user)
            await session.flush()
            from gigforge.accounts.principal import Principal
            from gigforge.accounts.scopes import scopes_for

            principal = Principal(user=user, scopes=frozenset(scopes_for(user.role)))
            connection = await connection_service.create(
                session,
                principal,
                context=context,
                data=ConnectionCreate(integration="openai", config={"api_key": SANDBOX_API_KEY}),
            )
            user_id, connection_id = user.id, connection.id
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
        await context.database.dispose()

    direct_p50, direct_p99 = _summary(direct)
    routed_p50, routed_p99 = _summary(routed)
    print(f"{calls} calls each, OpenAI sandbox in-process, SQLite; milliseconds")
    print(f"{'':<34} {'p50':>8} {'p99':>8}")
    print(f"{'direct connector call':<34} {direct_p50:>8.2f} {direct_p99:>8.2f}")
    print(f"{'through the router (incl. writes)':<34} {routed_p50:>8.2f} {routed_p99:>8.2f}")
    print(
        f"{'added by the router':<34} {routed_p50 - direct_p50:>8.2f} "
        f"{routed_p99 - direct_p99:>8.2f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    os.environ.setdefault("GIGFORGE_CONFIG", "/nonexistent/gigforge.toml")
    asyncio.run(main(parser.parse_args().calls))
    sys.exit(0)
