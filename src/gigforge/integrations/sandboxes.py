"""Sandbox mode: every installed integration's sandbox served under /sandbox/<slug>.

A vendor package ships its sandbox as `<package>.sandbox.create_sandbox()`, returning an object
with `.app` (ASGI) and, for OAuth providers, `.oauth` (the authorization server). New
connections then point at the sandbox, OAuth uses the sandbox's own client, and the server
reaches its sandboxes in-process. Nothing leaves the machine.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

import httpx
import structlog
from fastapi import FastAPI
from pydantic import SecretStr

from gigforge.connections.context import IntegrationContext
from gigforge.settings import OAuthClient

logger = structlog.get_logger("gigforge.integrations")

SANDBOX_PREFIX = "/sandbox"


def mount_sandboxes(app: FastAPI, context: IntegrationContext) -> dict[str, Any]:
    mounted: dict[str, Any] = {}
    for spec in context.registry.specs():
        package = context.registry.get(spec.slug).__module__.rpartition(".")[0]
        try:
            module = import_module(f"{package}.sandbox")
        except ModuleNotFoundError:
            logger.debug("integration has no sandbox", integration=spec.slug)
            continue
        sandbox = module.create_sandbox()
        path = f"{SANDBOX_PREFIX}/{spec.slug}"
        app.mount(path, sandbox.app)
        base_url = f"{context.settings.public_url.rstrip('/')}{path}"
        context.sandbox_urls[spec.slug] = base_url
        # Through the app, so the mount strips the prefix exactly as it does for a browser.
        context.runtime.transports[base_url] = httpx.ASGITransport(app=app)
        oauth = getattr(sandbox, "oauth", None)
        if oauth is not None:
            context.sandbox_clients[spec.slug] = OAuthClient(
                client_id=oauth.client_id, client_secret=SecretStr(oauth.client_secret)
            )
        mounted[spec.slug] = sandbox
    return mounted


def sandbox_platform_config(context: IntegrationContext, slug: str) -> dict[str, Any] | None:
    """The configuration a sandbox publishes for an operator-level account on it (the
    platform's payment account: `PLATFORM_CONFIG` in the vendor's sandbox module), in sandbox
    mode only; None when the sandbox has none."""
    if not context.settings.sandbox:
        return None
    package = context.registry.get(slug).__module__.rpartition(".")[0]
    try:
        module = import_module(f"{package}.sandbox")
    except ModuleNotFoundError:
        return None
    config = getattr(module, "PLATFORM_CONFIG", None)
    return dict(config) if isinstance(config, dict) else None


def sandbox_base_url(context: IntegrationContext, slug: str) -> str:
    """Where this server mounts (or, seen from a worker process, mounted) a sandbox."""
    return context.sandbox_urls.get(slug) or (
        f"{context.settings.public_url.rstrip('/')}{SANDBOX_PREFIX}/{slug}"
    )
