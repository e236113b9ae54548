"""Routes: webhook endpoints, their secrets, test messages, resends, recovery and attempts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, status

from gigforge.accounts.auth import RequireScope
from gigforge.accounts.errors import InsufficientScope, InvalidToken
from gigforge.accounts.principal import Principal
from gigforge.accounts.scopes import Scope
from gigforge.connections.endpoints import ContextDep
from gigforge.kit.deps import SessionDep
from gigforge.kit.errors import Unauthorized, ValidationFailed
from gigforge.kit.pagination import Page, PageParamsDep, page_of
from gigforge.kit.problems import problem_responses
from gigforge.webhooks.errors import (
    EndpointDisabled,
    EndpointNotFound,
    InvalidEventFilter,
    InvalidHeader,
    MessageNotFound,
    ReservedHeader,
)
from gigforge.webhooks.schemas import (
    AttemptPage,
    AttemptRead,
    DeliveryList,
    DeliveryRead,
    EndpointCreate,
    EndpointRead,
    EndpointUpdate,
    EndpointWithSecret,
    RecoverResult,
)
from gigforge.webhooks.service import webhooks as webhook_service

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
Reader = Annotated[Principal, RequireScope(Scope.webhooks_read)]
Writer = Annotated[Principal, RequireScope(Scope.webhooks_write)]
_AUTHENTICATED = (Unauthorized, InvalidToken, InsufficientScope)
_INVALID = (ValidationFailed, InvalidEventFilter, ReservedHeader, InvalidHeader)
MAX_ATTEMPTS_PER_PAGE = 200


def _with_secret(endpoint: object, secret: str) -> EndpointWithSecret:
    read = EndpointRead.model_validate(endpoint)
    return EndpointWithSecret(**read.model_dump(), secret=secret)


@router.post(
    "/endpoints",
    response_model=EndpointWithSecret,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(*_AUTHENTICATED, *_INVALID),
)
async def create_endpoint(
    data: EndpointCreate, session: SessionDep, principal: Writer, context: ContextDep
) -> EndpointWithSecret:
    """Register an endpoint. The answer holds its signing secret, shown only this once."""
    endpoint, secret = await webhook_service.create(
        session, principal, data=data, keyring=context.keyring, guard=context.runtime.guard
    )
    return _with_secret(endpoint, secret)


@router.get(
    "/endpoints", response_model=Page[EndpointRead], responses=problem_responses(*_AUTHENTICATED)
)
async def list_endpoints(
    session: SessionDep, page: PageParamsDep, principal: Reader
) -> Page[EndpointRead]:
    """Your endpoints, newest first; secrets and header values are never shown again."""
    rows, total = await webhook_service.list(session, principal, page=page)
    return page_of(EndpointRead, rows, total, page)


@router.get(
    "/endpoints/{endpoint_id}",
    response_model=EndpointRead,
    responses=problem_responses(*_AUTHENTICATED, EndpointNotFound),
)
async def get_endpoint(endpoint_id: uuid.UUID, session: SessionDep, principal: Reader) -> object:
    return await webhook_service.get(session, principal, endpoint_id=endpoint_id)


@router.patch(
    "/endpoints/{endpoint_id}",
    response_model=EndpointRead,
    responses=problem_responses(*_AUTHENTICATED, EndpointNotFound, *_INVALID),
)
async def update_endpoint(
    endpoint_id: uuid.UUID,
    data: EndpointUpdate,
    session: SessionDep,
    principal: Writer,
    context: ContextDep,
) -> object:
    """Change the URL, description, event filter, rate limit, headers, or enable/disable."""
    return await webhook_service.update(
        session,
        principal,
        endpoint_id=endpoint_id,
        data=data,
        keyring=context.keyring,
        guard=context.runtime.guard,
    )


@router.delete(
    "/endpoints/{endpoint_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(*_AUTHENTICATED, EndpointNotFound),
)
async def delete_endpoint(endpoint_id: uuid.UUID, session: SessionDep, principal: Writer) -> None:
    """Delete an endpoint with its secrets, deliveries and attempt log."""
    await webhook_service.delete(session, principal, endpoint_id=endpoint_id)


@router.post(
    "/endpoints/{endpoint_id}/rotate",
    response_model=EndpointWithSecret,
    responses=problem_responses(*_AUTHENTICATED, EndpointNotFound),
)
async def rotate_secret(
    endpoint_id: uuid.UUID, session: SessionDep, principal: Writer, context: ContextDep
) -> EndpointWithSecret:
    """A new signing secret, shown this once. The old one stays valid for 24 hours; until
    then every delivery carries both signatures."""
    endpoint, secret = await webhook_service.rotate(
        session, principal, endpoint_id=endpoint_id, keyring=context.keyring
    )
    return _with_secret(endpoint, secret)


@router.post(
    "/endpoints/{endpoint_id}/test",
    response_model=DeliveryRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(*_AUTHENTICATED, EndpointNotFound, EndpointDisabled),
)
async def send_test(endpoint_id: uuid.UUID, session: SessionDep, principal: Writer) -> object:
    """Queue a `webhook.test` message for this endpoint; its attempts show in the log."""
    return await webhook_service.send_test(session, principal, endpoint_id=endpoint_id)


@router.post(
    "/endpoints/{endpoint_id}/recover",
    response_model=RecoverResult,
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(*_AUTHENTICATED, EndpointNotFound, ValidationFailed),
)
async def recover(
    endpoint_id: uuid.UUID,
    session: SessionDep,
    principal: Writer,
    since: Annotated[datetime, Query(description="Resend what failed since this ISO 8601 time")],
) -> RecoverResult:
    """Send again every message to this endpoint that failed for good since `since`."""
    resent = await webhook_service.recover(session, principal, endpoint_id=endpoint_id, since=since)
    return RecoverResult(resent=resent)


@router.get(
    "/endpoints/{endpoint_id}/attempts",
    response_model=AttemptPage,
    responses=problem_responses(*_AUTHENTICATED, EndpointNotFound, ValidationFailed),
)
async def list_attempts(
    endpoint_id: uuid.UUID,
    session: SessionDep,
    principal: Reader,
    after: Annotated[
        uuid.UUID | None,
        Query(description="The `next_cursor` of the previous page: older attempts than it"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_ATTEMPTS_PER_PAGE)] = 50,
) -> AttemptPage:
    """Every attempt to this endpoint, newest first: status, duration, response excerpt."""
    rows, has_more = await webhook_service.attempts(
        session, principal, endpoint_id=endpoint_id, before=after, limit=limit
    )
    return AttemptPage(
        attempts=[AttemptRead.model_validate(row) for row in rows],
        next_cursor=rows[-1].id if rows else None,
        has_more=has_more,
    )


@router.post(
    "/messages/{event_id}/resend",
    response_model=DeliveryList,
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(*_AUTHENTICATED, MessageNotFound),
)
async def resend_message(
    event_id: uuid.UUID,
    session: SessionDep,
    principal: Writer,
    endpoint_id: Annotated[
        uuid.UUID | None, Query(description="Only to this endpoint (default: every one)")
    ] = None,
) -> DeliveryList:
    """Send an event again, with the same `webhook-id`, to the endpoints it went to."""
    rows = await webhook_service.resend(
        session, principal, event_id=event_id, endpoint_id=endpoint_id
    )
    return DeliveryList(deliveries=[DeliveryRead.model_validate(row) for row in rows])


__all__ = ["router"]
