"""Routes: list, rotate and delete inbound endpoints (creating one is `POST /inbound-endpoints`
in `opportunities.inbound`). The dashboard's /settings/inbound calls the same service."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, status

from gigforge.accounts.auth import RequireScope
from gigforge.accounts.errors import InsufficientScope, InvalidToken
from gigforge.accounts.principal import Principal
from gigforge.accounts.scopes import Scope
from gigforge.connections.endpoints import ContextDep
from gigforge.kit.deps import SessionDep
from gigforge.kit.errors import NotFound, Unauthorized
from gigforge.kit.pagination import Page, PageParamsDep, page_of
from gigforge.kit.problems import problem_responses
from gigforge.opportunities.inbound import InboundEndpointCreated, InboundEndpointRead
from gigforge.opportunities.inbound_endpoints import SIGNATURE_HELP
from gigforge.opportunities.inbound_endpoints import inbound_endpoints as inbound_service

router = APIRouter(prefix="/inbound-endpoints", tags=["inbound"])
Reader = Annotated[Principal, RequireScope(Scope.jobs_read)]
Writer = Annotated[Principal, RequireScope(Scope.jobs_write)]
_AUTHENTICATED = (Unauthorized, InvalidToken, InsufficientScope)


@router.get(
    "", response_model=Page[InboundEndpointRead], responses=problem_responses(*_AUTHENTICATED)
)
async def list_inbound_endpoints(
    session: SessionDep, page: PageParamsDep, principal: Reader
) -> Page[InboundEndpointRead]:
    """Your inbound endpoints, newest first; their secrets are never shown again."""
    rows, total = await inbound_service.list(session, principal, page=page)
    return page_of(InboundEndpointRead, rows, total, page)


@router.post(
    "/{endpoint_id}/rotate",
    response_model=InboundEndpointCreated,
    responses=problem_responses(*_AUTHENTICATED, NotFound),
)
async def rotate_inbound_endpoint(
    endpoint_id: uuid.UUID, session: SessionDep, context: ContextDep, principal: Writer
) -> InboundEndpointCreated:
    """A new secret for the same key id and URL; the old secret stops working at once."""
    issued = await inbound_service.rotate(
        session,
        principal,
        keyring=context.keyring,
        public_url=context.settings.public_url,
        endpoint_id=endpoint_id,
    )
    return InboundEndpointCreated(
        id=issued.endpoint.id,
        source=issued.endpoint.source,
        created_at=issued.endpoint.created_at,
        last_used_at=issued.endpoint.last_used_at,
        url=issued.url,
        secret=issued.secret,
        signature=SIGNATURE_HELP,
    )


@router.delete(
    "/{endpoint_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(*_AUTHENTICATED, NotFound),
)
async def delete_inbound_endpoint(
    endpoint_id: uuid.UUID, session: SessionDep, principal: Writer
) -> None:
    """Requests signed for it are refused from now on; listings it handed in stay."""
    await inbound_service.delete(session, principal, endpoint_id=endpoint_id)
