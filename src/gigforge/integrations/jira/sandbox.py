"""A local Jira Cloud for tests and demo mode.

One app serves, at the real paths: Atlassian's OAuth 2.0 (3LO) endpoints (`/authorize`,
`/oauth/token`) and `/oauth/token/accessible-resources`; and the REST API v3 calls the
connector makes, both on the site (`/rest/api/3/...`, HTTP Basic with an email and API token)
and through the gateway (`/ex/jira/{cloudid}/rest/api/3/...`, an OAuth bearer token). Errors use
Jira's `{"errorMessages": [...], "errors": {...}}` envelope and its status codes; responses
carry `X-RateLimit-*` headers over a per-credential window that answers 429 with `Retry-After`
once spent. Issues have Jira's keys (`GIG-1`), ADF descriptions, statuses changed only through
transitions, and issue properties searchable with JQL (see `_sandbox_jql`).

Every change, made through the API or by a test "as a person in Jira would"
(`edit_as_person`, `delete_as_person`), becomes the webhook Jira would send: to each dynamic
webhook an OAuth app registered (`POST /rest/api/3/webhook`) with a bearer JWT signed with the
app's client secret, and to each admin webhook (`add_admin_webhook`) signed with
`X-Hub-Signature`. Deliveries are kept in `outbox`; `webhook_target`, when set, is awaited with
each one.
"""

from __future__ import annotations

import base64
import itertools
import json
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from gigforge.integrations.framework.sandbox import FaultInjector, Faults, OAuthServer
from gigforge.integrations.jira._sandbox_issues import IssueApi
from gigforge.integrations.jira._sandbox_wire import (
    ACCOUNT_ID,
    ISSUE_TYPES,
    PROJECT_PAGE_MAX,
    SANDBOX_API_TOKEN,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_CLOUD_ID,
    SANDBOX_EMAIL,
    SANDBOX_SITE,
    STATUSES,
    TIME_ZONE,
    UNAUTHENTICATED,
    Caller,
    Handler,
    Issue,
    Webhook,
    WebhookDelivery,
    all_events,
    as_int,
    iso_minute,
    read_body,
    render_error,
    render_fault,
    status_json,
    webhook_filter,
)
from gigforge.integrations.jira.mapping import to_adf
from gigforge.integrations.jira.spec import SPEC
from gigforge.integrations.jira.webhooks import IDENTIFIER_HEADER, app_token, sign_body

__all__ = [
    "ACCOUNT_ID",
    "SANDBOX_API_TOKEN",
    "SANDBOX_CLIENT_ID",
    "SANDBOX_CLIENT_SECRET",
    "SANDBOX_CLOUD_ID",
    "SANDBOX_EMAIL",
    "SANDBOX_SITE",
    "JiraSandbox",
    "WebhookDelivery",
    "create_sandbox",
    "render_error",
]


class JiraOAuth(OAuthServer):
    """Atlassian's authorization server: `audience=api.atlassian.com` is required."""

    async def authorize(self, request: Request) -> Response:
        if request.query_params.get("audience") != "api.atlassian.com":
            return JSONResponse({"error": "invalid_request", "error_description": "audience"}, 400)
        return await super().authorize(request)


@dataclass
class _Window:
    started: float
    used: int = 0


class JiraSandbox(IssueApi):
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        faults: Faults | None = None,
        window_limit: int = 500,
        window_seconds: int = 10,
    ) -> None:
        self.clock = clock
        self.faults = faults or Faults()
        self.window_limit = window_limit
        self.window_seconds = window_seconds
        self.oauth = JiraOAuth(
            client_id=SANDBOX_CLIENT_ID,
            client_secret=SANDBOX_CLIENT_SECRET,
            subject=ACCOUNT_ID,
            require_pkce=False,
            clock=clock,
        )
        self.api_tokens = {SANDBOX_EMAIL: SANDBOX_API_TOKEN}
        self.projects: dict[str, dict[str, Any]] = {
            key: {"id": str(10000 + index), "key": key, "name": name}
            for index, (key, name) in enumerate(
                [("GIG", "Gigforge work"), ("OPS", "Operations"), ("WEB", "Website")]
            )
        }
        self.issues: dict[str, Issue] = {}
        self.webhooks: dict[int, Webhook] = {}
        self.outbox: list[WebhookDelivery] = []
        self.webhook_target: Callable[[WebhookDelivery], Awaitable[None]] | None = None
        self.calls: list[tuple[str, str]] = []
        self._delivered = 0
        self._ids = itertools.count(10001)
        self._numbers: dict[str, itertools.count[int]] = {}
        self._webhook_ids = itertools.count(1000)
        self._windows: dict[str, _Window] = {}
        self.zone = ZoneInfo(TIME_ZONE)
        self.app: ASGIApp = FaultInjector(
            Starlette(routes=self._routes()), self.faults, render_fault
        )

    # Test controls: what a person in Jira would do

    async def edit_as_person(
        self,
        key: str,
        *,
        summary: str | None = None,
        description: str | None = None,
        status: str | None = None,
        duedate: str | None = None,
    ) -> Issue:
        issue = self.issues[key]
        if summary is not None:
            issue.summary = summary
        if description is not None:
            issue.description = to_adf(description)
        if status is not None:
            issue.status = status
        if duedate is not None:
            issue.duedate = duedate
        self._touch(issue)
        await self._emit("jira:issue_updated", issue)
        return issue

    async def delete_as_person(self, key: str) -> None:
        issue = self._delete(key)
        await self._emit("jira:issue_deleted", issue)

    async def create_as_person(self, epic_key: str, summary: str) -> Issue:
        epic = self.issues[epic_key]
        issue = self._new_issue(epic.project, "Task", summary, None, parent=epic_key)
        await self._emit("jira:issue_created", issue)
        return issue

    def add_admin_webhook(self, url: str, secret: str, *, project: str | None = None) -> Webhook:
        hook = Webhook(next(self._webhook_ids), url, all_events(), project, secret)
        self.webhooks[hook.id] = hook
        return hook

    async def flush_webhooks(self) -> None:
        """Hand each delivery not yet handed over to `webhook_target`, in order."""
        while self._delivered < len(self.outbox):
            delivery = self.outbox[self._delivered]
            self._delivered += 1
            if self.webhook_target is not None:
                await self.webhook_target(delivery)

    # Routing, authentication, pacing

    def _routes(self) -> list[Route]:
        api: list[tuple[str, Handler, str]] = [
            ("/myself", self._myself, "GET"),
            ("/project/search", self._project_search, "GET"),
            ("/project/{key}/statuses", self._project_statuses, "GET"),
            ("/issue", self._create_issue, "POST"),
            ("/issue/{key}", self._get_issue, "GET"),
            ("/issue/{key}", self._edit_issue, "PUT"),
            ("/issue/{key}", self._delete_issue, "DELETE"),
            ("/issue/{key}/transitions", self._transitions, "GET"),
            ("/issue/{key}/transitions", self._do_transition, "POST"),
            ("/issue/{key}/properties/{property}", self._get_property, "GET"),
            ("/issue/{key}/properties/{property}", self._set_property, "PUT"),
            ("/search/jql", self._search, "POST"),
            ("/webhook", self._register_webhooks, "POST"),
            ("/webhook", self._delete_webhooks, "DELETE"),
        ]
        oauth = SPEC.oauth
        if oauth is None:
            raise RuntimeError("the Jira spec declares its OAuth endpoints")
        routes = [
            *self.oauth.routes(
                authorize_path=urlsplit(oauth.authorize_url).path,
                token_path=urlsplit(oauth.token_url).path,
            ),
            Route(
                "/oauth/token/accessible-resources",
                self._endpoint(self._accessible_resources, oauth_only=True),
                methods=["GET"],
            ),
        ]
        for path, handler, method in api:
            endpoint = self._endpoint(handler)
            routes.append(Route(f"/rest/api/3{path}", endpoint, methods=[method]))
            routes.append(
                Route(f"/ex/jira/{{cloudid}}/rest/api/3{path}", endpoint, methods=[method])
            )
        return routes

    def _endpoint(
        self, handler: Handler, *, oauth_only: bool = False
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            self.calls.append((request.method, request.url.path))
            caller = self._authenticate(request)
            if caller is None or (oauth_only and not caller.oauth):
                response = render_error(401, UNAUTHENTICATED)
                response.headers["WWW-Authenticate"] = 'Basic realm="protected-by-api-token"'
                return response
            cloud = request.path_params.get("cloudid")
            if cloud is not None and cloud != SANDBOX_CLOUD_ID:
                return render_error(404, "No site with this cloud id is reachable")
            remaining, reset = self._spend(caller.credential)
            if remaining < 0:
                response = render_error(429, "Rate limit exceeded.")
                response.headers.update(
                    {
                        "Retry-After": str(max(1, int(reset - self.clock()))),
                        "X-RateLimit-Reset": iso_minute(reset),
                        "RateLimit-Reason": "jira-burst-based",
                    }
                )
                return response
            response = await handler(request, caller)
            response.headers["X-RateLimit-Limit"] = str(self.window_limit)
            response.headers["X-RateLimit-Remaining"] = str(remaining)
            return response

        return endpoint

    def _authenticate(self, request: Request) -> Caller | None:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            record = self.oauth.check(value.strip())
            return Caller(value.strip(), oauth=True) if record else None
        if scheme.lower() == "basic":
            try:
                email, _, token = base64.b64decode(value.strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            known = self.api_tokens.get(email)
            if known is not None and secrets.compare_digest(known, token):
                return Caller(email, oauth=False)
        return None

    def _spend(self, credential: str) -> tuple[int, float]:
        now = self.clock()
        window = self._windows.get(credential)
        if window is None or now - window.started >= self.window_seconds:
            window = self._windows[credential] = _Window(now)
        window.used += 1
        return self.window_limit - window.used, window.started + self.window_seconds

    # API

    async def _accessible_resources(self, request: Request, caller: Caller) -> Response:
        record = self.oauth.check(caller.credential)
        scopes = record.scope.split() if record else []
        return JSONResponse(
            [
                {
                    "id": SANDBOX_CLOUD_ID,
                    "url": SANDBOX_SITE,
                    "name": "gigforge-sandbox",
                    "scopes": [s for s in scopes if s != "offline_access"],
                    "avatarUrl": "https://site-admin-avatar-cdn.prod.public.atl-paas.net/avatars/240/rocket.png",
                }
            ]
        )

    async def _myself(self, request: Request, caller: Caller) -> Response:
        return JSONResponse(
            {
                "self": f"{SANDBOX_SITE}/rest/api/3/user?accountId={ACCOUNT_ID}",
                "accountId": ACCOUNT_ID,
                "accountType": "atlassian",
                "emailAddress": SANDBOX_EMAIL,
                "displayName": "Gigforge Dev",
                "active": True,
                "timeZone": TIME_ZONE,
                "locale": "en_US",
            }
        )

    async def _project_search(self, request: Request, caller: Caller) -> Response:
        start = as_int(request.query_params.get("startAt"), 0)
        size = min(
            as_int(request.query_params.get("maxResults"), PROJECT_PAGE_MAX), PROJECT_PAGE_MAX
        )
        ordered = sorted(self.projects.values(), key=lambda p: p["key"])
        page = ordered[start : start + size]
        return JSONResponse(
            {
                "self": f"{SANDBOX_SITE}/rest/api/3/project/search",
                "maxResults": size,
                "startAt": start,
                "total": len(ordered),
                "isLast": start + len(page) >= len(ordered),
                "values": [
                    {
                        **p,
                        "self": f"{SANDBOX_SITE}/rest/api/3/project/{p['id']}",
                        "projectTypeKey": "software",
                    }
                    for p in page
                ],
            }
        )

    async def _project_statuses(self, request: Request, caller: Caller) -> Response:
        key = request.path_params["key"]
        if key not in self.projects:
            return render_error(404, f"No project could be found with key '{key}'.")
        return JSONResponse(
            [
                {
                    "id": type_id,
                    "name": name,
                    "subtask": False,
                    "statuses": [status_json(status_id) for status_id, _, _ in STATUSES],
                }
                for name, (type_id, _) in ISSUE_TYPES.items()
            ]
        )

    async def _register_webhooks(self, request: Request, caller: Caller) -> Response:
        if not caller.oauth:
            return render_error(403, "Only Connect and OAuth 2.0 apps can use this operation.")
        body = await read_body(request)
        url = body.get("url") if isinstance(body, Mapping) else None
        hooks = body.get("webhooks") if isinstance(body, Mapping) else None
        if not isinstance(url, str) or not isinstance(hooks, list):
            return render_error(
                400, "Invalid request payload. Refer to the REST API documentation and try again."
            )
        results: list[dict[str, Any]] = []
        for hook in hooks:
            events = tuple(hook.get("events") or ()) if isinstance(hook, Mapping) else ()
            filter_text = hook.get("jqlFilter") if isinstance(hook, Mapping) else None
            project, problem = webhook_filter(filter_text, self.zone)
            if not events or problem:
                results.append({"errors": [problem or "The webhook must subscribe to events."]})
                continue
            created = Webhook(next(self._webhook_ids), url, events, project)
            self.webhooks[created.id] = created
            results.append({"createdWebhookId": created.id})
        return JSONResponse({"webhookRegistrationResult": results})

    async def _delete_webhooks(self, request: Request, caller: Caller) -> Response:
        if not caller.oauth:
            return render_error(403, "Only Connect and OAuth 2.0 apps can use this operation.")
        body = await read_body(request)
        ids = body.get("webhookIds") if isinstance(body, Mapping) else None
        if not isinstance(ids, list) or not ids:
            return render_error(400, "", {"webhookIds": "must not be empty"})
        for webhook_id in ids:
            hook = self.webhooks.get(int(webhook_id))
            if hook is not None and hook.secret is None:
                del self.webhooks[hook.id]
        return Response(status_code=202)

    # State

    async def _emit(self, event: str, issue: Issue) -> None:
        now = self.clock()
        payload = {
            "timestamp": int(now * 1000),
            "webhookEvent": event,
            "issue_event_type_name": event.removeprefix("jira:"),
            "user": {"accountId": ACCOUNT_ID, "displayName": "Gigforge Dev"},
            "issue": self._issue_json(issue, None),
        }
        for hook in list(self.webhooks.values()):
            if event not in hook.events or (hook.project and hook.project != issue.project):
                continue
            body = json.dumps({**payload, "matchedWebhookIds": [hook.id]}).encode()
            headers = {
                "Content-Type": "application/json",
                IDENTIFIER_HEADER: str(uuid.uuid4()),
                "X-Atlassian-Webhook-Retry": "0",
            }
            if hook.secret is not None:
                headers["X-Hub-Signature"] = sign_body(hook.secret, body)
            else:
                token = app_token(SANDBOX_CLIENT_SECRET, issued_at=int(now), iss=SANDBOX_CLIENT_ID)
                headers["Authorization"] = f"Bearer {token}"
            self.outbox.append(WebhookDelivery(hook.url, headers, body))
        await self.flush_webhooks()


def create_sandbox(
    *, clock: Callable[[], float] = time.time, faults: Faults | None = None, **options: Any
) -> JiraSandbox:
    return JiraSandbox(clock=clock, faults=faults, **options)
