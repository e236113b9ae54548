"""Background work of the authorization server: forgetting codes and tokens that expired."""

from __future__ import annotations

from datetime import timedelta

import structlog

from gigforge.kit.db import unit_of_work
from gigforge.kit.tasks import TaskContext, task
from gigforge.oauth_server.service import oauth_server as oauth_server_service

PURGE_TASK = "oauth.purge_expired"
PURGE_EVERY = timedelta(hours=1)

logger = structlog.get_logger("gigforge.oauth_server")


@task(PURGE_TASK, max_attempts=3, backoff=timedelta(minutes=5))
async def purge_expired_tokens(context: TaskContext) -> None:
    """Delete expired codes and dead tokens; safe to run twice (a delete by expiry)."""
    async with unit_of_work(context.database) as session:
        purged = await oauth_server_service.purge_expired(session)
    if purged:
        logger.info("oauth.purged", rows=purged)
