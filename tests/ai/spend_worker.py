"""One worker process spending a user's AI budget, for test_budget_across_processes.

    python tests/ai/spend_worker.py SETTINGS_PICKLE USER_ID BUDGET CALLS READY_FILE GO_FILE

It builds the process's light context (`worker.Process`, with its own database engine and
model router), points OpenAI connections at an in-process sandbox, creates READY_FILE and waits
until GO_FILE exists (so both processes start spending together), then drafts summaries until
CALLS are done, and prints a JSON line: how many calls were answered, how many refused for the
budget, and what they cost.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import sys
import time
import uuid
from pathlib import Path

import httpx

from gigforge.ai.router import BudgetExceeded, Budgets, Task
from gigforge.integrations.framework import ChatMessage, IntegrationRuntime, Registry
from gigforge.integrations.openai import OpenAIConnector
from gigforge.integrations.openai.sandbox import create_sandbox
from gigforge.settings import Settings
from gigforge.worker import Process

SANDBOX_URL = "http://spend.openai.test"


async def _no_wait(delay: float) -> None:
    return None


def _wait_for(go_file: Path) -> None:
    while not go_file.exists():
        time.sleep(0.01)


async def main(
    settings: Settings, user_id: str, budget: int, calls: int, ready_file: Path, go_file: Path
) -> None:
    process = Process.build(settings)
    sandbox = create_sandbox(requests_per_minute=10**6)
    context = process.integrations
    context.registry = Registry([OpenAIConnector])
    context.runtime = IntegrationRuntime(
        sleep=_no_wait, transports={SANDBOX_URL: httpx.ASGITransport(app=sandbox.app)}
    )
    budgets = Budgets(per_task_micro_usd=10**6, monthly_micro_usd=budget)
    await asyncio.to_thread(ready_file.touch)
    await asyncio.to_thread(_wait_for, go_file)
    answered, refused, cost = 0, 0, 0
    for index in range(calls):
        async with process.database.sessionmaker() as session:
            try:
                answer = await process.router.complete(
                    session,
                    uuid.UUID(user_id),
                    context=context,
                    task=Task.summary,
                    messages=[
                        ChatMessage(
                            role="user",
                            content=f"Summarise brief {uuid.uuid4().hex} number {index} "
                            + "with a few more words " * 20,
                        )
                    ],
                    budgets=budgets,
                )
            except BudgetExceeded:
                refused += 1
                continue
        answered += 1
        cost += answer.cost_micro_usd
    await process.router.close()
    await process.database.dispose()
    print(json.dumps({"answered": answered, "refused": refused, "cost": cost}))


if __name__ == "__main__":
    path, user, budget, calls, ready, go = sys.argv[1:7]
    loaded = pickle.loads(Path(path).read_bytes())  # noqa: S301 - the test's own file
    asyncio.run(main(loaded, user, int(budget), int(calls), Path(ready), Path(go)))
