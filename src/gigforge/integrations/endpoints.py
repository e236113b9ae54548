"""The catalog of installed integrations, with the config schema that drives connect forms."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from gigforge.accounts.auth import CurrentPrincipal
from gigforge.accounts.errors import InvalidToken
from gigforge.integrations.framework import Registry, UnknownIntegration
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
    """Every installed integration: capabilities, auth, limits, terms and connect form schema."""
    return IntegrationCatalog(
        integrations=[
            IntegrationRead(**spec.catalog_entry()) for spec in get_registry(request).specs()
        ]
    )


@router.get(
    "/{slug}",
    response_model=IntegrationRead,
    responses=problem_responses(Unauthorized, InvalidToken, UnknownIntegration),
)
async def read_integration(
    slug: str, request: Request, principal: CurrentPrincipal
) -> IntegrationRead:
    return IntegrationRead(**get_registry(request).get(slug).spec.catalog_entry())
