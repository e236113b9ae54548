"""Settings > Webhooks: endpoints that receive signed events, their secrets and attempt log.

The signing secret is shown once, in the answer to the form that made or rotated it (never in
a URL or a redirect). Every action here calls the same service as the REST API.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, status
from pydantic import ValidationError
from starlette.responses import Response

from gigforge.accounts.scopes import Scope
from gigforge.connections.endpoints import ContextDep
from gigforge.events.service import events as event_service
from gigforge.kit.errors import GigforgeError, NotFound, ValidationFailed
from gigforge.kit.pagination import PageParams
from gigforge.web.pages_settings_base import (
    PostingPage,
    ReadingPage,
    SettingsPage,
    form_text,
    problem_lines,
    split_list,
)
from gigforge.web.rendering import DashboardRoute, error_page
from gigforge.webhooks.schemas import EndpointCreate, EndpointUpdate
from gigforge.webhooks.service import webhooks as webhook_service

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

LISTED = PageParams(limit=100, offset=0)
ATTEMPTS_SHOWN = 50
DONE = {
    "test": "Test message queued: its attempt shows in the log below in a moment.",
    "saved": "Endpoint saved.",
    "resent": "Queued again, with the same webhook-id as before.",
    "none": "Nothing failed since then: nothing was sent again.",
}


def _parse_id(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


def _missing(page: SettingsPage) -> Response:
    return error_page(
        page.request,
        status.HTTP_404_NOT_FOUND,
        "No such webhook endpoint",
        "It does not exist or belongs to someone else.",
    )


def _headers(text: str) -> dict[str, str]:
    """`Name: value` lines."""
    headers = {}
    for line in text.splitlines():
        if line.strip():
            name, separator, value = line.partition(":")
            if not separator:
                raise ValidationFailed(f"Write each header as Name: value, not {line[:60]!r}")
            headers[name.strip()] = value.strip()
    return headers


def _pydantic_message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", []))
    return f"{where.replace('_', ' ')}: {first.get('msg', 'not valid')}"


async def _list_page(
    page: SettingsPage,
    *,
    issued: tuple[Any, str] | None = None,
    form: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    endpoints, _ = await webhook_service.list(page.session, page.viewer.principal, page=LISTED)
    return await page.render(
        "webhooks.html",
        {
            "endpoints": endpoints,
            "issued": issued,
            "form": form or {},
            "error": error,
            "event_types": [info.name for info in event_service.types()],
            "can_write": page.can(Scope.webhooks_write),
        },
        status_code=status_code,
    )


async def _endpoint_page(
    page: SettingsPage,
    endpoint_id: uuid.UUID,
    *,
    secret: str | None = None,
    error: str | None = None,
    done: str | None = None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    principal = page.viewer.principal
    endpoint = await webhook_service.get(page.session, principal, endpoint_id=endpoint_id)
    attempts, more = await webhook_service.attempts(
        page.session, principal, endpoint_id=endpoint_id, before=None, limit=ATTEMPTS_SHOWN
    )
    counts = await webhook_service.delivery_counts(page.session, principal, endpoint_id=endpoint_id)
    return await page.render(
        "webhooks_endpoint.html",
        {
            "endpoint": endpoint,
            "attempts": attempts,
            "more_attempts": more,
            "counts": counts,
            "secret": secret,
            "error": error,
            "done": DONE.get(done or ""),
            "event_types": [info.name for info in event_service.types()],
            "can_write": page.can(Scope.webhooks_write),
        },
        status_code=status_code,
    )


@router.get("/settings/webhooks")
async def webhooks_page(page: ReadingPage) -> Response:
    if not page.can(Scope.webhooks_read):
        return page.forbidden("read webhook endpoints")
    return await _list_page(page)


@router.post("/settings/webhooks")
async def create_webhook(page: PostingPage, context: ContextDep) -> Response:
    if not page.can(Scope.webhooks_write):
        return page.forbidden("create webhook endpoints")
    form = await page.request.form()
    fields = {
        name: form_text(form, name)
        for name in ("url", "description", "event_types", "rate_limit", "headers")
    }
    try:
        data = EndpointCreate(
            url=fields["url"],
            description=fields["description"],
            event_types=split_list(fields["event_types"]),
            rate_limit=int(fields["rate_limit"]) if fields["rate_limit"] else None,
            headers=_headers(fields["headers"]),
        )
        endpoint, secret = await webhook_service.create(
            page.session,
            page.viewer.principal,
            data=data,
            keyring=context.keyring,
            guard=context.runtime.guard,
        )
    except (GigforgeError, ValidationError, ValueError) as exc:
        return await _list_page(page, form=fields, error=_message(exc), status_code=_status(exc))
    return await _list_page(page, issued=(endpoint, secret), status_code=status.HTTP_201_CREATED)


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return _pydantic_message(exc)
    if isinstance(exc, GigforgeError):
        return problem_lines(exc)[-1]
    return "Rate limit must be a whole number of deliveries a second"


def _status(exc: Exception) -> int:
    if isinstance(exc, GigforgeError) and exc.status_code != 500:
        return exc.status_code
    return status.HTTP_422_UNPROCESSABLE_ENTITY


@router.get("/settings/webhooks/{endpoint_id}")
async def endpoint_page(endpoint_id: str, page: ReadingPage, done: str = "") -> Response:
    if not page.can(Scope.webhooks_read):
        return page.forbidden("read webhook endpoints")
    parsed = _parse_id(endpoint_id)
    if parsed is None:
        return _missing(page)
    try:
        return await _endpoint_page(page, parsed, done=done)
    except NotFound:
        return _missing(page)


async def _act(page: SettingsPage, endpoint_id: str, work: Any) -> Response:
    """Run one change on an endpoint; its page again with the error when it fails."""
    if not page.can(Scope.webhooks_write):
        return page.forbidden("change webhook endpoints")
    parsed = _parse_id(endpoint_id)
    if parsed is None:
        return _missing(page)
    try:
        return await work(parsed)  # type: ignore[no-any-return]
    except NotFound:
        return _missing(page)
    except (GigforgeError, ValidationError, ValueError) as exc:
        return await _endpoint_page(page, parsed, error=_message(exc), status_code=_status(exc))


@router.post("/settings/webhooks/{endpoint_id}")
async def update_webhook(endpoint_id: str, page: PostingPage, context: ContextDep) -> Response:
    form = await page.request.form()

    async def work(parsed: uuid.UUID) -> Response:
        rate = form_text(form, "rate_limit")
        data = EndpointUpdate(
            url=form_text(form, "url"),
            description=form_text(form, "description"),
            event_types=split_list(form_text(form, "event_types")),
            rate_limit=int(rate) if rate else None,
            enabled=form_text(form, "enabled") == "on",
        )
        await webhook_service.update(
            page.session,
            page.viewer.principal,
            endpoint_id=parsed,
            data=data,
            keyring=context.keyring,
            guard=context.runtime.guard,
        )
        return page.redirect(f"/settings/webhooks/{parsed}?done=saved")

    return await _act(page, endpoint_id, work)


@router.post("/settings/webhooks/{endpoint_id}/rotate")
async def rotate_webhook(endpoint_id: str, page: PostingPage, context: ContextDep) -> Response:
    async def work(parsed: uuid.UUID) -> Response:
        _, secret = await webhook_service.rotate(
            page.session, page.viewer.principal, endpoint_id=parsed, keyring=context.keyring
        )
        return await _endpoint_page(page, parsed, secret=secret)

    return await _act(page, endpoint_id, work)


@router.post("/settings/webhooks/{endpoint_id}/test")
async def test_webhook(endpoint_id: str, page: PostingPage) -> Response:
    async def work(parsed: uuid.UUID) -> Response:
        await webhook_service.send_test(page.session, page.viewer.principal, endpoint_id=parsed)
        return page.redirect(f"/settings/webhooks/{parsed}?done=test")

    return await _act(page, endpoint_id, work)


@router.post("/settings/webhooks/{endpoint_id}/recover")
async def recover_webhook(endpoint_id: str, page: PostingPage) -> Response:
    form = await page.request.form()

    async def work(parsed: uuid.UUID) -> Response:
        raw = form_text(form, "since")
        try:
            since = datetime.fromisoformat(raw)
        except ValueError:
            raise ValueError("Give the time to recover from") from None
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
        resent = await webhook_service.recover(
            page.session, page.viewer.principal, endpoint_id=parsed, since=since
        )
        done = "resent" if resent else "none"
        return page.redirect(f"/settings/webhooks/{parsed}?done={done}")

    return await _act(page, endpoint_id, work)


@router.post("/settings/webhooks/{endpoint_id}/resend/{event_id}")
async def resend_webhook(endpoint_id: str, event_id: str, page: PostingPage) -> Response:
    async def work(parsed: uuid.UUID) -> Response:
        event = _parse_id(event_id)
        if event is None:
            raise NotFound()
        await webhook_service.resend(
            page.session, page.viewer.principal, event_id=event, endpoint_id=parsed
        )
        return page.redirect(f"/settings/webhooks/{parsed}?done=resent")

    return await _act(page, endpoint_id, work)


@router.post("/settings/webhooks/{endpoint_id}/delete")
async def delete_webhook(endpoint_id: str, page: PostingPage) -> Response:
    async def work(parsed: uuid.UUID) -> Response:
        await webhook_service.delete(page.session, page.viewer.principal, endpoint_id=parsed)
        return page.redirect("/settings/webhooks")

    return await _act(page, endpoint_id, work)
