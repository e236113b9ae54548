"""Vendors plug in through the `gigforge.integrations` entry point group.

Each entry point names a `Connector` subclass whose `spec.slug` equals the entry point's name.
A plugin that fails to import or is malformed is logged and skipped; the rest still load.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points

import structlog

from gigforge.integrations.framework.capabilities import Connector
from gigforge.integrations.framework.spec import Capability, IntegrationSpec
from gigforge.kit.errors import NotFound

ENTRY_POINT_GROUP = "gigforge.integrations"

logger = structlog.get_logger("gigforge.integrations")


class UnknownIntegration(NotFound):
    code = "unknown-integration"
    title = "No such integration"


class Registry:
    def __init__(self, connectors: Iterable[type[Connector]]) -> None:
        self._connectors = {connector.spec.slug: connector for connector in connectors}

    @classmethod
    def from_entry_points(cls, points: Iterable[EntryPoint] | None = None) -> Registry:
        loaded: list[type[Connector]] = []
        for point in points if points is not None else entry_points(group=ENTRY_POINT_GROUP):
            try:
                connector = point.load()
                if not (isinstance(connector, type) and issubclass(connector, Connector)):
                    raise TypeError(f"{point.value} is not a Connector subclass")
                if not isinstance(getattr(connector, "spec", None), IntegrationSpec):
                    raise TypeError(f"{point.value} declares no IntegrationSpec")
                if connector.spec.slug != point.name:
                    raise TypeError(
                        f"entry point {point.name!r} names spec slug {connector.spec.slug!r}"
                    )
            except Exception as exc:
                logger.warning("integration plugin skipped", entry_point=point.name, error=str(exc))
                continue
            loaded.append(connector)
        return cls(loaded)

    def get(self, slug: str) -> type[Connector]:
        try:
            return self._connectors[slug]
        except KeyError:
            raise UnknownIntegration(f"No integration is installed as {slug!r}") from None

    def specs(self) -> list[IntegrationSpec]:
        return sorted((c.spec for c in self._connectors.values()), key=lambda spec: spec.slug)

    def with_capability(self, capability: Capability) -> list[IntegrationSpec]:
        return [spec for spec in self.specs() if capability in spec.capabilities]
