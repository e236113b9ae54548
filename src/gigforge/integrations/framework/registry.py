"""Vendors plug in through the `gigforge.integrations` entry point group.

Each entry point names a `Connector` subclass whose `spec.slug` equals the entry point's name.
A connector whose optional dependency is not installed (ONNX Runtime, say) is not an error: it
is kept as an `UnavailableIntegration`, read from its package's `spec` module (which must import
without the vendor's SDK), so the catalog, the dashboard and the CLI can say how to enable it.
Any other plugin that fails to import or is malformed is logged and skipped; the rest still load.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, PackageNotFoundError, distribution, entry_points

import structlog

from gigforge.integrations.framework.capabilities import Connector
from gigforge.integrations.framework.spec import Capability, IntegrationSpec
from gigforge.kit.errors import Conflict, NotFound

ENTRY_POINT_GROUP = "gigforge.integrations"

logger = structlog.get_logger("gigforge.integrations")


class UnknownIntegration(NotFound):
    code = "unknown-integration"
    title = "No such integration"


class IntegrationUnavailable(Conflict):
    code = "integration-unavailable"
    title = "Integration not enabled on this server"


@dataclass(frozen=True)
class UnavailableIntegration:
    """An integration this server ships but cannot run until an optional package is installed."""

    spec: IntegrationSpec
    missing_module: str
    extra: str | None

    @property
    def how_to_enable(self) -> str:
        package = f"'gigforge[{self.extra}]'" if self.extra else self.missing_module
        return f"Install it with: pip install {package} (then restart Gigforge)"

    def error(self) -> IntegrationUnavailable:
        return IntegrationUnavailable(
            f"{self.spec.title} needs the optional package {self.missing_module!r}. "
            + self.how_to_enable
        )


_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)[^;]*;.*extra\s*==\s*[\"']([^\"']+)")


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def extra_providing(module: str, dist: str = "gigforge") -> str | None:
    """The optional extra of `dist` whose requirements include the distribution `module` is from."""
    try:
        requirements = distribution(dist).requires or []
    except PackageNotFoundError:
        return None
    extras = [
        match.group(2)
        for match in map(_REQUIREMENT.match, requirements)
        if match and _normalized(match.group(1)) == _normalized(module)
    ]
    # The dev extra repeats every other extra's requirements; name the one a user would install.
    return next((extra for extra in extras if extra != "dev"), None)


def _unavailable(point: EntryPoint, exc: ModuleNotFoundError) -> UnavailableIntegration | None:
    """The spec of a connector whose SDK is missing, if its package's `spec` module loads."""
    missing = (exc.name or "").split(".")[0]
    if not missing or missing == "gigforge":
        return None
    try:
        spec = importlib.import_module(point.module.rsplit(".", 1)[0] + ".spec").SPEC
    except Exception:
        return None
    if not isinstance(spec, IntegrationSpec) or spec.slug != point.name:
        return None
    return UnavailableIntegration(spec=spec, missing_module=missing, extra=extra_providing(missing))


class Registry:
    def __init__(
        self,
        connectors: Iterable[type[Connector]],
        unavailable: Iterable[UnavailableIntegration] = (),
    ) -> None:
        self._connectors = {connector.spec.slug: connector for connector in connectors}
        self._unavailable = {item.spec.slug: item for item in unavailable}

    @classmethod
    def from_entry_points(cls, points: Iterable[EntryPoint] | None = None) -> Registry:
        loaded: list[type[Connector]] = []
        unavailable: list[UnavailableIntegration] = []
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
            except ModuleNotFoundError as exc:
                item = _unavailable(point, exc)
                if item is None:
                    logger.warning(
                        "integration plugin skipped", entry_point=point.name, error=str(exc)
                    )
                else:
                    logger.debug(
                        "integration not enabled",
                        entry_point=point.name,
                        missing=item.missing_module,
                    )
                    unavailable.append(item)
                continue
            except Exception as exc:
                logger.warning("integration plugin skipped", entry_point=point.name, error=str(exc))
                continue
            loaded.append(connector)
        return cls(loaded, unavailable)

    def get(self, slug: str) -> type[Connector]:
        try:
            return self._connectors[slug]
        except KeyError:
            if slug in self._unavailable:
                raise self._unavailable[slug].error() from None
            raise UnknownIntegration(f"No integration is installed as {slug!r}") from None

    def unavailable(self) -> list[UnavailableIntegration]:
        """Shipped integrations that need an optional package this installation lacks."""
        return sorted(self._unavailable.values(), key=lambda item: item.spec.slug)

    def unavailable_one(self, slug: str) -> UnavailableIntegration | None:
        return self._unavailable.get(slug)

    def specs(self) -> list[IntegrationSpec]:
        return sorted((c.spec for c in self._connectors.values()), key=lambda spec: spec.slug)

    def with_capability(self, capability: Capability) -> list[IntegrationSpec]:
        return [spec for spec in self.specs() if capability in spec.capabilities]
