"""The ASGI application: routers, error handlers and middleware, built from one Settings."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import structlog
from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute

from gigforge import __version__
from gigforge.accounts.endpoints import api_keys_router, auth_router, users_router
from gigforge.admin.endpoints import router as admin_tasks_router
from gigforge.audit.endpoints import router as audit_router
from gigforge.certifications.endpoints import router as certifications_router
from gigforge.connections.endpoints import router as connections_router
from gigforge.events.catalog import import_event_types
from gigforge.events.endpoints import router as events_router
from gigforge.health import router as health_router
from gigforge.integrations.endpoints import router as integrations_router
from gigforge.integrations.sandboxes import mount_sandboxes
from gigforge.jobs.endpoints import agents_router
from gigforge.jobs.endpoints import router as jobs_router
from gigforge.kit.deprecation import EXPOSED_HEADERS as DEPRECATION_HEADERS
from gigforge.kit.deprecation import DeprecationHeadersMiddleware
from gigforge.kit.deps import client_ip
from gigforge.kit.email import email_sender_from_settings
from gigforge.kit.logging import configure_logging
from gigforge.kit.metrics import HttpMetrics
from gigforge.kit.middleware import (
    BodySizeLimitMiddleware,
    NulInUrlMiddleware,
    RequestContextMiddleware,
)
from gigforge.kit.problems import install_problem_handlers
from gigforge.kit.ratelimit import EXPOSED_HEADERS as RATE_LIMIT_HEADERS
from gigforge.kit.ratelimit import (
    RateLimitMiddleware,
    Routes,
    document_rate_limits,
    limiter_from_settings,
)
from gigforge.oauth_server.endpoints import apps_router as oauth_apps_router
from gigforge.oauth_server.endpoints import authorizations_router as oauth_authorizations_router
from gigforge.oauth_server.endpoints import protocol_router as oauth_protocol_router
from gigforge.opportunities.endpoints import profile_router
from gigforge.opportunities.endpoints import router as opportunities_router
from gigforge.opportunities.inbound import router as inbound_router
from gigforge.opportunities.inbound_endpoints_api import router as inbound_endpoints_router
from gigforge.payments.endpoints import router as payments_router
from gigforge.payments.platform import PaymentsPlatform
from gigforge.proposals.endpoints import router as proposals_router
from gigforge.settings import Settings, load_settings
from gigforge.storage.endpoints import router as files_router
from gigforge.web import STATIC_PATH, static_files
from gigforge.web import router as web_router
from gigforge.web.api_docs import docs_router
from gigforge.web.errors import render_error_page
from gigforge.web.session import ACCESS_COOKIE, REFRESH_COOKIE
from gigforge.webhooks.endpoints import router as webhooks_router
from gigforge.worker import Process

API_PREFIX = "/api/v1"


def _operation_id(route: APIRoute) -> str:
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


def freeze_startup_heap() -> None:
    """Leave what start-up built (modules, pydantic schemas, the app) out of every later
    garbage collection. Those objects live as long as the process, yet without this each full
    collection walks all of them again; a scan allocates fast enough to trigger one every few
    hundred listings. Long-running processes call it once they are ready to work; later calls
    in the same process do nothing."""
    if gc.get_freeze_count():
        return
    gc.collect()
    gc.freeze()


logger = structlog.get_logger("gigforge.app")


def _deliver_sandbox_webhooks(app: FastAPI, settings: Settings) -> None:
    """In sandbox mode the payment provider's sandbox posts its signed events to this app's
    own webhook endpoint, in process, as the real provider posts them over the internet."""
    sandbox = app.state.sandboxes.get(settings.payments_provider)
    if sandbox is None or not hasattr(sandbox, "webhook_target"):
        return
    path = f"{API_PREFIX}/payments/webhooks/{settings.payments_provider}"

    async def deliver(delivery: Any) -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            response = await client.post(path, content=delivery.body, headers=delivery.headers)
        if response.status_code >= 300:
            logger.warning(
                "sandbox webhook refused", status=response.status_code, body=response.text[:300]
            )

    sandbox.webhook_target = deliver


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    configure_logging(settings)
    import_event_types()
    process = Process.build(settings)
    database = process.database

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Embedded (the default): tasks, the sweeper and the scheduler run in this process.
        # Otherwise it only sends tasks, after each commit, for `gigforge worker` to run.
        await process.start(work=settings.embedded_worker)
        freeze_startup_heap()
        yield
        await process.stop()
        await database.dispose()

    app = FastAPI(
        title="Gigforge",
        version=__version__,
        summary="Operations hub for AI-assisted freelancing",
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
        # Served by docs_router from the package's own copies, not from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.metrics = HttpMetrics()
    app.state.email_sender = email_sender_from_settings(settings)
    app.state.process = process
    app.state.router = process.router
    app.state.registry = process.registry
    app.state.quota_notices = process.quota_notices
    app.state.integrations = process.integrations
    app.state.tasks = process.tasks
    app.state.storage = process.storage
    app.state.payments = process.resources[PaymentsPlatform]
    install_problem_handlers(app, html=render_error_page)

    api = APIRouter(prefix=API_PREFIX)
    api.include_router(auth_router)
    api.include_router(users_router)
    api.include_router(api_keys_router)
    api.include_router(audit_router)
    api.include_router(integrations_router)
    api.include_router(connections_router)
    api.include_router(opportunities_router)
    api.include_router(profile_router)
    api.include_router(inbound_router)
    api.include_router(inbound_endpoints_router)
    api.include_router(proposals_router)
    # After opportunities and proposals: their fixed /jobs/... paths match before /jobs/{job_id}.
    api.include_router(jobs_router)
    api.include_router(agents_router)
    api.include_router(events_router)
    api.include_router(webhooks_router)
    api.include_router(admin_tasks_router)
    api.include_router(oauth_apps_router)
    api.include_router(oauth_authorizations_router)
    api.include_router(certifications_router)
    api.include_router(payments_router)
    app.include_router(api)
    app.include_router(health_router)
    app.include_router(oauth_protocol_router)
    app.include_router(files_router)
    app.include_router(web_router)
    app.include_router(docs_router(title=app.title, openapi_url=app.openapi_url or "/openapi.json"))
    app.mount(STATIC_PATH, static_files(), name="static")
    app.state.sandboxes = mount_sandboxes(app, app.state.integrations) if settings.sandbox else {}
    _deliver_sandbox_webhooks(app, settings)

    # Innermost: CORS answers preflights before anything is charged, and decorates 429s.
    app.add_middleware(DeprecationHeadersMiddleware, base_url=settings.public_url)
    if settings.rate_limits_enabled:
        limited = Routes(
            auth_paths=tuple(settings.rate_limit_auth_paths),
            credential_cookies=(ACCESS_COOKIE, REFRESH_COOKIE),
        )
        app.add_middleware(
            RateLimitMiddleware,
            limiter=limiter_from_settings(settings),
            routes=limited,
            client_address=client_ip,
            html=render_error_page,
        )
        document_rate_limits(app, limited)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key", "X-Request-ID"],
            expose_headers=[
                "X-Request-ID",
                "Retry-After",
                *RATE_LIMIT_HEADERS,
                *DEPRECATION_HEADERS,
            ],
        )
    app.add_middleware(
        BodySizeLimitMiddleware, max_bytes=settings.max_request_body_bytes, html=render_error_page
    )
    app.add_middleware(NulInUrlMiddleware, html=render_error_page)
    app.add_middleware(RequestContextMiddleware, metrics=app.state.metrics)
    return app
