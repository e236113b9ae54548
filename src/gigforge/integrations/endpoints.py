"""The catalog of installed integrations, with the config schema that drives connect forms."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from gigforge.accounts.auth import CurrentPrincipal
from gigforge.accounts.errors import InvalidToken
from gigforge.integrations.framework import IntegrationSpec, Registry, UnknownIntegration
from gigforge.kit.errors import Unauthorized
from gigforge.kit.problems import problem_responses
from gigforge.kit.schemas import OutputSchema

router = APIRouter(prefix="/integrations", tags=["integrations"])


class IntegrationRead(OutputSchema):
    slug: str
    title: str
    description: str
    capabilities: list[str]
    auth_modes: list[str]
    base_url: str
    docs_url: str
    rate_limits: list[str]
    pagination: str
    idempotency_header: str | None
    oauth: dict[str, Any] | None
    terms: dict[str, Any]
    config_schema: dict[str, Any]
    available: bool = True
    how_to_enable: str | None = None


class IntegrationCatalog(OutputSchema):
    integrations: list[IntegrationRead]


def get_registry(request: Request) -> Registry:
    registry: Registry = request.app.state.registry
    return registry


@router.get(
    "",
    response_model=IntegrationCatalog,
    responses=problem_responses(Unauthorized, InvalidToken),
)
async def list_integrations(request: Request, principal: CurrentPrincipal) -> IntegrationCatalog:
    """Every shipped integration: capabilities, auth, limits, terms and connect form schema.

    Those that need an optional package this server lacks are listed with `available: false`
    and `how_to_enable`."""
    registry = get_registry(request)
    entries = [_entry(registry, spec) for spec in registry.specs()]
    entries += [_entry(registry, item.spec) for item in registry.unavailable()]
    return IntegrationCatalog(integrations=sorted(entries, key=lambda entry: entry.slug))


def _entry(registry: Registry, spec: IntegrationSpec) -> IntegrationRead:
    missing = registry.unavailable_one(spec.slug)
    if missing is None:
        return IntegrationRead(**spec.catalog_entry())
    return IntegrationRead(
        **spec.catalog_entry(), available=False, how_to_enable=missing.how_to_enable
    )


@router.get(
    "/{slug}",
    response_model=IntegrationRead,
    responses=problem_responses(Unauthorized, InvalidToken, UnknownIntegration),
)
async def read_integration(
    slug: str, request: Request, principal: CurrentPrincipal
) -> IntegrationRead:
    registry = get_registry(request)
    missing = registry.unavailable_one(slug)
    return _entry(registry, missing.spec if missing else registry.get(slug).spec)
