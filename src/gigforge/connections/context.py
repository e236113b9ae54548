"""What connection code needs from the process: settings, database, keys, the runtime."""

from __future__ import annotations

from dataclasses import dataclass, field

from gigforge.connections.vault import Keyring
from gigforge.integrations.framework import IntegrationRuntime, IntegrationSpec, Registry
from gigforge.kit.db import Database
from gigforge.kit.errors import Conflict
from gigforge.settings import OAuthClient, Settings


class OAuthNotConfigured(Conflict):
    code = "oauth-not-configured"
    title = "This server has no OAuth app registered for the integration"


@dataclass
class IntegrationContext:
    settings: Settings
    database: Database
    keyring: Keyring
    runtime: IntegrationRuntime
    registry: Registry
    sandbox_clients: dict[str, OAuthClient] = field(default_factory=dict)
    sandbox_urls: dict[str, str] = field(default_factory=dict)

    def spec_for(self, slug: str, base_url: str | None = None) -> IntegrationSpec:
        spec = self.registry.get(slug).spec
        return spec.rebased(base_url) if base_url else spec

    def default_base_url(self, slug: str) -> str | None:
        """In sandbox mode new connections point at the mounted sandbox."""
        return self.sandbox_urls.get(slug)

    def oauth_client(self, slug: str) -> OAuthClient:
        client = self.settings.oauth_clients.get(slug) or self.sandbox_clients.get(slug)
        if client is None:
            raise OAuthNotConfigured(
                f"Register an OAuth app with {slug} and set it in GIGFORGE_OAUTH_CLIENTS "
                f'(e.g. {{"{slug}": {{"client_id": "...", "client_secret": "..."}}}})'
            )
        return client
