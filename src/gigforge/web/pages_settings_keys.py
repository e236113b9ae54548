"""Settings: API keys and inbound webhook endpoints, the two places a secret is handed out.

A secret is shown once, in the answer to the form that made it (never in a URL or a redirect,
and the page is `no-store`); afterwards only its prefix or key id is listed.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, status
from pydantic import ValidationError
from starlette.responses import Response

from gigforge.accounts.api_keys_service import api_keys as api_key_service
from gigforge.accounts.schemas import APIKeyCreate, APIKeyCreated
from gigforge.accounts.scopes import Scope
from gigforge.connections.context import IntegrationContext
from gigforge.connections.endpoints import ContextDep
from gigforge.kit.clock import utcnow
from gigforge.kit.errors import GigforgeError, NotFound
from gigforge.kit.pagination import PageParams
from gigforge.opportunities.inbound_endpoints import (
    SIGNATURE_HELP,
    IssuedSecret,
    inbound_url,
)
from gigforge.opportunities.inbound_endpoints import inbound_endpoints as inbound_service
from gigforge.web.pages_settings_base import (
    PostingPage,
    ReadingPage,
    SettingsPage,
    form_text,
    problem_lines,
)
from gigforge.web.rendering import DashboardRoute, error_page

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

LISTED = PageParams(limit=100, offset=0)
NAME_MAX = 100
EXPIRY_CHOICES = (
    ("", "Never"),
    ("7", "In 7 days"),
    ("30", "In 30 days"),
    ("90", "In 90 days"),
    ("365", "In a year"),
)
SCOPE_LABELS = {
    Scope.users_read: "Read your account",
    Scope.users_write: "Change your account",
    Scope.api_keys_read: "List API keys",
    Scope.api_keys_write: "Create and revoke API keys",
    Scope.audit_read: "Read the audit log",
    Scope.connections_read: "Read connections",
    Scope.connections_write: "Add and change connections",
    Scope.jobs_read: "Read opportunities and proposals",
    Scope.jobs_write: "Draft, approve and submit proposals",
    Scope.events_read: "Read your events",
    Scope.webhooks_read: "Read webhook endpoints and their attempt log",
    Scope.webhooks_write: "Add, change and test webhook endpoints",
    Scope.certifications_read: "Read your certifications and courses",
    Scope.certifications_write: "Take and renew certification exams",
    Scope.payments_read: "Read your wallet, transactions, invoices and payouts",
    Scope.payments_write: "Issue invoices, request payouts, set up your payout account",
    Scope.admin: "Administer every user (admin)",
}


def _parse_id(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


def _missing(page: SettingsPage, what: str) -> Response:
    return error_page(
        page.request,
        status.HTTP_404_NOT_FOUND,
        f"No such {what}",
        "It does not exist or belongs to someone else.",
    )


# -- API keys --------------------------------------------------------------------------------


async def _keys_page(
    page: SettingsPage,
    *,
    created: APIKeyCreated | None = None,
    typed: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    problem: list[str] | None = None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    keys, _ = await api_key_service.list(page.session, page.viewer.principal, page=LISTED)
    now = utcnow()
    grantable = [scope for scope in Scope if scope in page.viewer.principal.scopes]
    return await page.render(
        "settings_api_keys.html",
        {
            "keys": keys,
            "now": now,
            "created": created,
            "typed": typed or {"name": "", "scopes": [], "expires": ""},
            "errors": errors or {},
            "problem": problem,
            "scopes": [(scope.value, SCOPE_LABELS[scope]) for scope in grantable],
            "scope_labels": {scope.value: label for scope, label in SCOPE_LABELS.items()},
            "expiry_choices": EXPIRY_CHOICES,
            "can_write": page.can(Scope.api_keys_write),
        },
        status_code=status_code,
    )


@router.get("/settings/api-keys")
async def api_keys_page(page: ReadingPage) -> Response:
    if not page.can(Scope.api_keys_read):
        return page.forbidden("read API keys")
    return await _keys_page(page)


@router.post("/settings/api-keys")
async def create_api_key(page: PostingPage) -> Response:
    if not page.can(Scope.api_keys_write):
        return page.forbidden("create API keys")
    form = await page.request.form()
    name = form_text(form, "name")
    scopes = [value for value in form.getlist("scopes") if isinstance(value, str)]
    expires = form_text(form, "expires")
    typed = {"name": name, "scopes": scopes, "expires": expires}
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "Give the key a name, such as the script that will use it."
    elif len(name) > NAME_MAX:
        errors["name"] = f"Keep the name under {NAME_MAX} characters."
    if not scopes:
        errors["scopes"] = "Choose at least one thing the key may do."
    if expires not in {value for value, _ in EXPIRY_CHOICES}:
        errors["expires"] = "Choose one of the listed expiry times."
    if errors:
        return await _keys_page(
            page, typed=typed, errors=errors, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT
        )
    try:
        data = APIKeyCreate.model_validate(
            {
                "name": name,
                "scopes": scopes,
                "expires_at": utcnow() + timedelta(days=int(expires)) if expires else None,
            }
        )
    except ValidationError:
        return await _keys_page(
            page,
            typed=typed,
            errors={"scopes": "One of the chosen permissions does not exist."},
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    try:
        created = await api_key_service.create(page.session, page.viewer.principal, data=data)
    except GigforgeError as exc:
        return await _keys_page(
            page, typed=typed, problem=problem_lines(exc), status_code=exc.status_code
        )
    return await _keys_page(page, created=created, status_code=status.HTTP_201_CREATED)


@router.post("/settings/api-keys/{key_id}/revoke")
async def revoke_api_key(key_id: str, page: PostingPage) -> Response:
    if not page.can(Scope.api_keys_write):
        return page.forbidden("revoke API keys")
    parsed = _parse_id(key_id)
    if parsed is None:
        return _missing(page, "API key")
    try:
        await api_key_service.revoke(page.session, page.viewer.principal, key_id=parsed)
    except NotFound:
        return _missing(page, "API key")
    return page.redirect("/settings/api-keys")


# -- inbound webhooks ------------------------------------------------------------------------


async def _inbound_page(
    page: SettingsPage,
    context: IntegrationContext,
    *,
    issued: IssuedSecret | None = None,
    rotated: bool = False,
    source: str = "",
    errors: dict[str, str] | None = None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    endpoints, _ = await inbound_service.list(page.session, page.viewer.principal, page=LISTED)
    public_url = context.settings.public_url
    return await page.render(
        "settings_inbound.html",
        {
            "endpoints": [
                (endpoint, inbound_url(public_url, endpoint.source)) for endpoint in endpoints
            ],
            "issued": issued,
            "rotated": rotated,
            "source": source,
            "errors": errors or {},
            "signature_help": SIGNATURE_HELP,
            "can_write": page.can(Scope.jobs_write),
        },
        status_code=status_code,
    )


@router.get("/settings/inbound")
async def inbound_page(page: ReadingPage, context: ContextDep) -> Response:
    if not page.can(Scope.jobs_read):
        return page.forbidden("read inbound webhooks")
    return await _inbound_page(page, context)


@router.post("/settings/inbound")
async def create_inbound(page: PostingPage, context: ContextDep) -> Response:
    if not page.can(Scope.jobs_write):
        return page.forbidden("create inbound webhooks")
    source = form_text(await page.request.form(), "source").lower()
    try:
        issued = await inbound_service.create(
            page.session,
            page.viewer.principal,
            keyring=context.keyring,
            public_url=context.settings.public_url,
            source=source,
        )
    except GigforgeError as exc:
        return await _inbound_page(
            page,
            context,
            source=source,
            errors={"source": problem_lines(exc)[-1]},
            status_code=exc.status_code,
        )
    return await _inbound_page(page, context, issued=issued, status_code=status.HTTP_201_CREATED)


@router.post("/settings/inbound/{endpoint_id}/rotate")
async def rotate_inbound(endpoint_id: str, page: PostingPage, context: ContextDep) -> Response:
    if not page.can(Scope.jobs_write):
        return page.forbidden("change inbound webhooks")
    parsed = _parse_id(endpoint_id)
    if parsed is None:
        return _missing(page, "inbound endpoint")
    try:
        issued = await inbound_service.rotate(
            page.session,
            page.viewer.principal,
            keyring=context.keyring,
            public_url=context.settings.public_url,
            endpoint_id=parsed,
        )
    except NotFound:
        return _missing(page, "inbound endpoint")
    return await _inbound_page(page, context, issued=issued, rotated=True)


@router.post("/settings/inbound/{endpoint_id}/delete")
async def delete_inbound(endpoint_id: str, page: PostingPage) -> Response:
    if not page.can(Scope.jobs_write):
        return page.forbidden("delete inbound webhooks")
    parsed = _parse_id(endpoint_id)
    if parsed is None:
        return _missing(page, "inbound endpoint")
    try:
        await inbound_service.delete(page.session, page.viewer.principal, endpoint_id=parsed)
    except NotFound:
        return _missing(page, "inbound endpoint")
    return page.redirect("/settings/inbound")
