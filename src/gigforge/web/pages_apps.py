"""Third-party apps in the dashboard: the consent page (/oauth/authorize), the developer's
registered apps, and the apps the user authorized.

A client secret is shown once, in the answer to the form that made it (never in a URL or a
redirect; the page is `no-store`). The consent page never redirects to an address the app did
not register: such a request gets an error page.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, status
from starlette.datastructures import FormData
from starlette.responses import Response

from gigforge.accounts.scopes import Scope
from gigforge.kit.errors import GigforgeError, NotFound
from gigforge.kit.pagination import PageParams
from gigforge.oauth_server.models import ClientType, OAuthApp
from gigforge.oauth_server.protocol import HttpRequest
from gigforge.oauth_server.schemas import GRANTABLE_SCOPES, AppCreate, AppCreated, AppUpdate
from gigforge.oauth_server.service import AuthorizationRequestInvalid, Consent, issuer_of
from gigforge.oauth_server.service import oauth_apps as oauth_app_service
from gigforge.oauth_server.service import oauth_server as oauth_server_service
from gigforge.web.pages_settings_base import (
    PostingPage,
    ReadingPage,
    SettingsPage,
    form_text,
    problem_lines,
    split_list,
)
from gigforge.web.pages_settings_keys import SCOPE_LABELS
from gigforge.web.rendering import DashboardRoute, error_page
from gigforge.web.session import CSRF_FIELD

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

LISTED = PageParams(limit=100, offset=0)
AUTHORIZE_PATH = "/oauth/authorize"
DECISION_FIELD = "decision"
CLIENT_TYPES = (
    (ClientType.confidential.value, "Confidential: a server that can keep a secret"),
    (ClientType.public.value, "Public: a mobile, desktop or single-page app (PKCE only)"),
)


def scope_words(scope: str) -> str:
    """A scope as a sentence for the person deciding."""
    try:
        known = SCOPE_LABELS.get(Scope(scope))
    except ValueError:
        known = None
    if known:
        return known
    area, _, access = scope.partition(":")
    noun = area.replace("_", " ")
    return f"Read your {noun}" if access == "read" else f"Change your {noun}"


def _scope_choices() -> list[tuple[str, str]]:
    return [(scope.value, scope_words(scope.value)) for scope in GRANTABLE_SCOPES]


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


# -- consent -------------------------------------------------------------------------------


def _invalid_request(page: SettingsPage, exc: AuthorizationRequestInvalid) -> Response:
    return error_page(
        page.request,
        status.HTTP_400_BAD_REQUEST,
        "This sign-in link is not valid",
        f"{exc.detail}. Gigforge did not send you back to the app, because it could not be "
        "sure where the app asked to go. Ask the app's developer to check its settings.",
    )


@router.get(AUTHORIZE_PATH)
async def authorize(page: ReadingPage) -> Response:
    """Ask the signed-in user whether the app may act for them (sign-in comes first)."""
    request = page.request
    query = list(request.query_params.multi_items())
    http = HttpRequest(
        method="GET",
        uri=issuer_of(page.settings) + AUTHORIZE_PATH + (f"?{request.url.query}" if query else ""),
        query=query,
    )
    try:
        outcome = await oauth_server_service.consent(
            page.session, page.viewer.principal, settings=page.settings, request=http
        )
    except AuthorizationRequestInvalid as exc:
        return _invalid_request(page, exc)
    if not isinstance(outcome, Consent):
        return page.redirect(outcome.location)
    return await page.render(
        "oauth_consent.html",
        {
            "consent": outcome,
            "scopes": [(scope, scope_words(scope)) for scope in outcome.scopes],
            "params": [(name, value) for name, value in query if name != CSRF_FIELD],
        },
    )


def _carried(form: FormData) -> list[tuple[str, str]]:
    return [
        (name, value)
        for name, value in form.multi_items()
        if isinstance(value, str) and name not in {CSRF_FIELD, DECISION_FIELD}
    ]


@router.post(AUTHORIZE_PATH)
async def decide(page: PostingPage) -> Response:
    """Allow or deny; either way the browser goes back to the app's registered address."""
    form = await page.request.form()
    http = HttpRequest(
        method="POST", uri=issuer_of(page.settings) + AUTHORIZE_PATH, query=_carried(form)
    )
    try:
        outcome = await oauth_server_service.decide(
            page.session,
            page.viewer.principal,
            settings=page.settings,
            request=http,
            allow=form_text(form, DECISION_FIELD) == "allow",
        )
    except AuthorizationRequestInvalid as exc:
        return _invalid_request(page, exc)
    return page.redirect(outcome.location)


# -- developer apps ----------------------------------------------------------------------


async def _apps_page(
    page: SettingsPage,
    *,
    issued: AppCreated | None = None,
    rotated: bool = False,
    typed: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    problem: list[str] | None = None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    apps, _ = await oauth_app_service.list(page.session, page.viewer.principal, page=LISTED)
    return await page.render(
        "settings_developer_apps.html",
        {
            "apps": apps,
            "issued": issued,
            "rotated": rotated,
            "typed": typed
            or {"name": "", "client_type": "confidential", "redirect_uris": "", "scopes": []},
            "errors": errors or {},
            "problem": problem,
            "scopes": _scope_choices(),
            "scope_words": scope_words,
            "client_types": CLIENT_TYPES,
            "metadata_url": issuer_of(page.settings) + "/.well-known/oauth-authorization-server",
            "can_write": page.can(Scope.api_keys_write),
        },
        status_code=status_code,
    )


def _typed_app(form: FormData) -> dict[str, Any]:
    return {
        "name": form_text(form, "name"),
        "client_type": form_text(form, "client_type") or ClientType.confidential.value,
        "redirect_uris": form_text(form, "redirect_uris"),
        "scopes": [value for value in form.getlist("scopes") if isinstance(value, str)],
    }


def _form_errors(typed: dict[str, Any], *, creating: bool) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not typed["name"]:
        errors["name"] = "Give the app a name; people see it when they are asked to allow it."
    elif len(typed["name"]) > 100:
        errors["name"] = "Keep the name under 100 characters."
    if not split_list(typed["redirect_uris"], "\n"):
        errors["redirect_uris"] = "Give at least one redirect URI, one per line."
    if not typed["scopes"]:
        errors["scopes"] = "Choose at least one thing the app may ask for."
    elif not set(typed["scopes"]) <= {scope.value for scope in GRANTABLE_SCOPES}:
        errors["scopes"] = "One of the chosen permissions can not be given to apps."
    if creating and typed["client_type"] not in {value for value, _ in CLIENT_TYPES}:
        errors["client_type"] = "Choose confidential or public."
    return errors


@router.get("/settings/developer-apps")
async def developer_apps_page(page: ReadingPage) -> Response:
    if not page.can(Scope.api_keys_read):
        return page.forbidden("read developer apps")
    return await _apps_page(page)


@router.post("/settings/developer-apps")
async def create_developer_app(page: PostingPage) -> Response:
    if not page.can(Scope.api_keys_write):
        return page.forbidden("register apps")
    typed = _typed_app(await page.request.form())
    errors = _form_errors(typed, creating=True)
    if errors:
        return await _apps_page(
            page, typed=typed, errors=errors, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT
        )
    try:
        issued = await oauth_app_service.create(
            page.session,
            page.viewer.principal,
            data=AppCreate(
                name=typed["name"],
                client_type=ClientType(typed["client_type"]),
                redirect_uris=split_list(typed["redirect_uris"], "\n"),
                scopes=[Scope(value) for value in typed["scopes"]],
            ),
        )
    except GigforgeError as exc:
        return await _apps_page(
            page, typed=typed, problem=problem_lines(exc), status_code=exc.status_code
        )
    return await _apps_page(page, issued=issued, status_code=status.HTTP_201_CREATED)


async def _owned_app(page: SettingsPage, app_id: str) -> OAuthApp | None:
    parsed = _parse_id(app_id)
    if parsed is None:
        return None
    try:
        return await oauth_app_service.get(page.session, page.viewer.principal, app_id=parsed)
    except NotFound:
        return None


async def _edit_page(
    page: SettingsPage,
    app: OAuthApp,
    *,
    typed: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    problem: list[str] | None = None,
    saved: bool = False,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    return await page.render(
        "settings_developer_app.html",
        {
            "app": app,
            "typed": typed
            or {
                "name": app.name,
                "redirect_uris": "\n".join(app.redirect_uris),
                "scopes": list(app.scopes),
            },
            "errors": errors or {},
            "problem": problem,
            "saved": saved,
            "scopes": _scope_choices(),
            "can_write": page.can(Scope.api_keys_write),
        },
        status_code=status_code,
    )


@router.get("/settings/developer-apps/{app_id}")
async def developer_app_page(app_id: str, page: ReadingPage) -> Response:
    if not page.can(Scope.api_keys_read):
        return page.forbidden("read developer apps")
    app = await _owned_app(page, app_id)
    if app is None:
        return _missing(page, "app")
    return await _edit_page(page, app)


@router.post("/settings/developer-apps/{app_id}")
async def update_developer_app(app_id: str, page: PostingPage) -> Response:
    if not page.can(Scope.api_keys_write):
        return page.forbidden("change apps")
    app = await _owned_app(page, app_id)
    if app is None:
        return _missing(page, "app")
    typed = _typed_app(await page.request.form())
    errors = _form_errors(typed, creating=False)
    if errors:
        return await _edit_page(
            page,
            app,
            typed=typed,
            errors=errors,
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    try:
        app = await oauth_app_service.update(
            page.session,
            page.viewer.principal,
            app_id=app.id,
            data=AppUpdate(
                name=typed["name"],
                redirect_uris=split_list(typed["redirect_uris"], "\n"),
                scopes=[Scope(value) for value in typed["scopes"]],
            ),
        )
    except GigforgeError as exc:
        return await _edit_page(
            page, app, typed=typed, problem=problem_lines(exc), status_code=exc.status_code
        )
    return await _edit_page(page, app, saved=True)


@router.post("/settings/developer-apps/{app_id}/rotate-secret")
async def rotate_developer_app_secret(app_id: str, page: PostingPage) -> Response:
    if not page.can(Scope.api_keys_write):
        return page.forbidden("change apps")
    app = await _owned_app(page, app_id)
    if app is None:
        return _missing(page, "app")
    if app.client_type != ClientType.confidential:
        return error_page(
            page.request,
            status.HTTP_409_CONFLICT,
            "No secret to rotate",
            "A public app has no client secret; it proves itself with PKCE alone.",
        )
    issued = await oauth_app_service.rotate_secret(
        page.session, page.viewer.principal, app_id=app.id
    )
    return await _apps_page(page, issued=issued, rotated=True)


@router.post("/settings/developer-apps/{app_id}/delete")
async def delete_developer_app(app_id: str, page: PostingPage) -> Response:
    if not page.can(Scope.api_keys_write):
        return page.forbidden("delete apps")
    app = await _owned_app(page, app_id)
    if app is None:
        return _missing(page, "app")
    await oauth_app_service.delete(page.session, page.viewer.principal, app_id=app.id)
    return page.redirect("/settings/developer-apps")


# -- authorized apps -----------------------------------------------------------------------


@router.get("/settings/authorized-apps")
async def authorized_apps_page(page: ReadingPage) -> Response:
    """Every signed-in user sees, and may revoke, the apps they let act for them."""
    authorizations = await oauth_server_service.authorizations(page.session, page.viewer.principal)
    return await page.render(
        "settings_authorized_apps.html",
        {"authorizations": authorizations, "scope_words": scope_words},
    )


@router.post("/settings/authorized-apps/{app_id}/revoke")
async def revoke_authorized_app(app_id: str, page: PostingPage) -> Response:
    parsed = _parse_id(app_id)
    if parsed is None:
        return _missing(page, "authorized app")
    try:
        await oauth_server_service.revoke_authorization(
            page.session, page.viewer.principal, app_id=parsed
        )
    except NotFound:
        return _missing(page, "authorized app")
    return page.redirect("/settings/authorized-apps")
