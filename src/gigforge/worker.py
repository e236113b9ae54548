"""The worker process, and the pieces every process shares.

`Process` is the light context a process works from: settings, database, the integration
registry and runtime (the policy layer), the task engine with the broker the settings name, and
the scheduler. `gigforge serve` builds one inside the FastAPI app and, when embedded (the
default), runs tasks and the scheduler in the same process; `gigforge worker` builds one without
any web application and runs tasks and the scheduler until it is stopped.

No process keeps state that another needs: work is rows in the database, rates and quotas are
in Redis when configured, and the scheduler's leader lease is a row. Only the sandboxes of
`serve --sandbox` keep their state in the serving process.
"""

from __future__ import annotations

import asyncio
import importlib
import signal
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any

import structlog
import typer

from gigforge.ai.router import Router
from gigforge.certifications.tasks import EXPIRE_EVERY
from gigforge.certifications.tasks import EXPIRE_TASK as CERTIFICATIONS_EXPIRE_TASK
from gigforge.connections.context import IntegrationContext
from gigforge.connections.quota import QuotaNotices
from gigforge.connections.vault import keyring_from_settings
from gigforge.integrations.framework import IntegrationRuntime, Registry
from gigforge.jobs.awards import CHECK_EVERY as AWARDS_CHECK_EVERY
from gigforge.jobs.awards import PLAN_TASK as AWARDS_PLAN_TASK
from gigforge.jobs.messages import PLAN_TASK as MESSAGES_PLAN_TASK
from gigforge.jobs.messages import SYNC_EVERY as MESSAGES_SYNC_EVERY
from gigforge.kit.db import Database
from gigforge.kit.schedules import Schedule, Scheduler
from gigforge.kit.ssrf import AddressGuard
from gigforge.kit.task_engine import TaskEngine
from gigforge.kit.tasks import TaskRegistry, registry
from gigforge.oauth_server.tasks import PURGE_EVERY as OAUTH_PURGE_EVERY
from gigforge.oauth_server.tasks import PURGE_TASK as OAUTH_PURGE_TASK
from gigforge.opportunities.scheduler import PLAN_EVERY, PLAN_TASK
from gigforge.payments.billing import CATCH_UP_TASK
from gigforge.payments.platform import PaymentsPlatform
from gigforge.payments.rates import REFRESH_TASK as RATES_TASK
from gigforge.payments.reconciling import RECONCILE_TASK
from gigforge.payments.retainers import ISSUE_TASK as RETAINERS_TASK
from gigforge.payments.tasks import (
    CATCH_UP_EVERY,
    RATES_EVERY,
    RECONCILE_EVERY,
    RETAINERS_EVERY,
)
from gigforge.payments.tasks import SWEEP_EVERY as PAYMENTS_SWEEP_EVERY
from gigforge.payments.tasks import SWEEP_TASK as PAYMENTS_SWEEP_TASK
from gigforge.settings import ConfigurationError, Settings, load_settings
from gigforge.storage import Storage, storage_from_settings
from gigforge.webhooks.delivery import SWEEP_EVERY as WEBHOOKS_SWEEP_EVERY
from gigforge.webhooks.delivery import SWEEP_TASK as WEBHOOKS_SWEEP_TASK
from gigforge.webhooks.sending import WebhookSender

logger = structlog.get_logger("gigforge.worker")

#: Each domain's `tasks.py`; importing one registers its tasks.
TASK_MODULES = (
    "gigforge.opportunities.tasks",
    "gigforge.proposals.tasks",
    "gigforge.jobs.tasks",
    "gigforge.certifications.tasks",
    "gigforge.webhooks.tasks",
    "gigforge.oauth_server.tasks",
    "gigforge.payments.tasks",
)

SCHEDULES = [
    Schedule(name=PLAN_TASK, every=PLAN_EVERY, task=PLAN_TASK),
    Schedule(name=CERTIFICATIONS_EXPIRE_TASK, every=EXPIRE_EVERY, task=CERTIFICATIONS_EXPIRE_TASK),
    Schedule(name=WEBHOOKS_SWEEP_TASK, every=WEBHOOKS_SWEEP_EVERY, task=WEBHOOKS_SWEEP_TASK),
    Schedule(name=OAUTH_PURGE_TASK, every=OAUTH_PURGE_EVERY, task=OAUTH_PURGE_TASK),
    Schedule(name=AWARDS_PLAN_TASK, every=AWARDS_CHECK_EVERY, task=AWARDS_PLAN_TASK),
    Schedule(name=MESSAGES_PLAN_TASK, every=MESSAGES_SYNC_EVERY, task=MESSAGES_PLAN_TASK),
    Schedule(name=PAYMENTS_SWEEP_TASK, every=PAYMENTS_SWEEP_EVERY, task=PAYMENTS_SWEEP_TASK),
    Schedule(name=RETAINERS_TASK, every=RETAINERS_EVERY, task=RETAINERS_TASK),
    Schedule(name=RATES_TASK, every=RATES_EVERY, task=RATES_TASK),
    Schedule(name=CATCH_UP_TASK, every=CATCH_UP_EVERY, task=CATCH_UP_TASK),
    Schedule(name=RECONCILE_TASK, every=RECONCILE_EVERY, task=RECONCILE_TASK),
]


def task_registry() -> TaskRegistry:
    """The one registry, with every domain's tasks declared."""
    for module in TASK_MODULES:
        importlib.import_module(module)
    return registry


@dataclass
class Process:
    settings: Settings
    database: Database
    registry: Registry
    quota_notices: QuotaNotices
    integrations: IntegrationContext
    tasks: TaskEngine
    scheduler: Scheduler
    router: Router
    resources: dict[type[Any], Any] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings, *, concurrency: int = 16) -> Process:
        database = Database.from_url(settings.effective_database_url)
        integration_registry = Registry.from_entry_points()
        quota_notices = QuotaNotices(database)
        integrations = IntegrationContext(
            settings=settings,
            database=database,
            keyring=keyring_from_settings(settings),
            runtime=IntegrationRuntime(
                rate_limit_storage_url=settings.redis_url,
                on_quota=quota_notices,
                guard=AddressGuard(allowed=settings.allowed_private_hosts),
                own_sandboxes=f"{settings.public_url.rstrip('/')}/sandbox/",
            ),
            registry=integration_registry,
        )
        router = Router(database)
        resources: dict[type[Any], Any] = {
            IntegrationContext: integrations,
            Router: router,
            WebhookSender: WebhookSender(integrations.runtime.guard),
        }
        resources[Storage] = storage_from_settings(settings)
        resources[PaymentsPlatform] = PaymentsPlatform.from_context(integrations)
        tasks = TaskEngine(
            database,
            task_registry(),
            broker_url=settings.broker_url,
            lease=timedelta(seconds=settings.task_lease_seconds),
            resources=resources,
            concurrency=concurrency,
        )
        scheduler = Scheduler(database, SCHEDULES, holder=tasks.worker_id)
        return cls(
            settings=settings,
            database=database,
            registry=integration_registry,
            quota_notices=quota_notices,
            integrations=integrations,
            tasks=tasks,
            scheduler=scheduler,
            router=router,
            resources=resources,
        )

    @property
    def storage(self) -> Storage:
        """The file storage the settings name; tasks get it as a resource too."""
        storage: Storage = self.resources[Storage]
        return storage

    async def start(self, *, work: bool) -> None:
        """Connect to the broker; `work` also runs tasks, the sweeper and the scheduler here."""
        await self.tasks.start(consume=work)
        if work:
            self.scheduler.start()

    async def stop(self) -> None:
        await self.scheduler.stop()
        await self.tasks.stop()
        await self.router.close()
        await self.resources[WebhookSender].close()
        await self.storage.aclose()
        await self.quota_notices.drain()


def worker(
    once: Annotated[
        bool,
        typer.Option("--once", help="Plan what is due, run every due task here, then exit"),
    ] = False,
    concurrency: Annotated[
        int, typer.Option(min=1, max=512, help="Tasks run at the same time in this process")
    ] = 16,
) -> None:
    """Run background work (submissions, scans, schedules) until SIGINT or SIGTERM. Many
    workers on many machines share the work through the database and GIGFORGE_BROKER_URL;
    with --once, a single pass, e.g. from cron."""
    from gigforge.kit.logging import configure_logging
    from gigforge.migrations import upgrade

    try:
        settings = load_settings()
    except ConfigurationError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    # The worker logs what `serve` logs, through the same redaction, level and format.
    configure_logging(settings)
    process = Process.build(settings, concurrency=concurrency)

    async def main() -> None:
        await upgrade(process.database.engine)
        if once:
            planned = await process.scheduler.tick()
            finished = await process.tasks.run_due()
            await process.router.close()
            await process.quota_notices.drain()
            await process.database.dispose()
            typer.echo(f"Worked once: {planned} schedule(s) due, {finished} task run(s) finished.")
            return
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await process.start(work=True)
        logger.info(
            "worker started",
            broker=process.tasks.broker.__class__.__name__,
            concurrency=concurrency,
            worker=process.tasks.worker_id,
        )
        await stop.wait()
        logger.info("worker stopping")
        await process.stop()
        await process.database.dispose()

    asyncio.run(main())
