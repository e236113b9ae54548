"""A local Asana for tests and demo mode.

It serves, at Asana's paths under `/api/1.0`, the calls the connector makes (the user, the
workspaces, projects and their sections, tasks by gid or `external:` reference, the project's
tasks modified since a time, moving a task to a section, webhooks) with Asana's `{"data": ...}`
envelopes, `opt_fields` (compact records unless fields are asked for), `limit`/`offset` paging
with `next_page`, the `{"errors": [{"message", "help"}]}` envelope, Bearer checks for personal
access tokens and OAuth tokens, and a per-token minute window answering 429 with
`Retry-After`. Its OAuth endpoints sit at `/-/oauth_authorize` and `/-/oauth_token`.

Webhooks behave as Asana's do: creating one sends the `X-Hook-Secret` handshake to
`webhook_target` while the create call waits, and refuses the webhook unless the target answers
200 or 204 echoing the secret. Changes record Asana's events for the project's webhooks;
`flush_webhooks()` signs them (`X-Hook-Signature`, hex HMAC-SHA256 of the body) one delivery
per webhook into `outbox` and awaits `webhook_target` with each. Test controls (`edit_task`,
`move_task`, `delete_task`, `create_task`, `add_section`) change things as a person in Asana
would, and deliver at once; changes made through the API wait for `flush_webhooks()`, as
Asana's own deliveries come a little after the change.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from gigforge.integrations.asana._sandbox_store import (
    SEED_PROJECT_GID,
    Params,
    Refusal,
    Store,
    seed,
)
from gigforge.integrations.asana.errors import AsanaPayloadError
from gigforge.integrations.asana.mapping import parse_time
from gigforge.integrations.asana.spec import SPEC
from gigforge.integrations.asana.webhooks import SECRET_HEADER, SIGNATURE_HEADER, sign
from gigforge.integrations.framework.sandbox import FaultInjector, Faults, OAuthServer

SANDBOX_PAT = "2/1200000000000001/1200000000000099:sandboxpersonalaccesstoken"
HELP = (
    "For more information on API status codes and how to handle them, read the docs on "
    "errors: https://developers.asana.com/docs/errors"
)
MAX_LIMIT = 100
Handler = Callable[[Request], Awaitable[Response]]


def render_error(status: int, message: str) -> Response:
    return JSONResponse({"errors": [{"message": message, "help": HELP}]}, status_code=status)


@dataclass(frozen=True)
class WebhookDelivery:
    """One POST Asana makes to a webhook's target (the handshake has an empty body)."""

    url: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class HookReply:
    """What the target answered: Asana reads only the status and, on a handshake, the echo."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


WebhookTarget = Callable[[WebhookDelivery], Awaitable[HookReply]]


@dataclass
class AsanaSandbox:
    oauth: OAuthServer
    faults: Faults
    clock: Callable[[], float]
    window_limit: int
    personal_access_tokens: set[str]
    store: Store
    webhook_target: WebhookTarget | None = None
    outbox: list[WebhookDelivery] = field(default_factory=list)
    handshakes: list[WebhookDelivery] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)
    app: ASGIApp = field(init=False)
    _windows: dict[str, tuple[float, int]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        oauth = SPEC.oauth
        if oauth is None:
            raise RuntimeError("the Asana spec declares its OAuth endpoints")
        api = urlsplit(SPEC.base_url).path
        routes = [
            *self.oauth.routes(
                authorize_path=urlsplit(oauth.authorize_url).path,
                token_path=urlsplit(oauth.token_url).path,
            ),
            Route(f"{api}/users/me", self._api(self._me), methods=["GET"]),
            Route(f"{api}/workspaces", self._api(self._workspaces), methods=["GET"]),
            Route(f"{api}/workspaces/{{gid}}", self._api(self._workspace), methods=["GET"]),
            Route(f"{api}/projects", self._api(self._list_projects), methods=["GET"]),
            Route(f"{api}/projects", self._api(self._create_project), methods=["POST"]),
            Route(
                f"{api}/projects/{{gid}}",
                self._api(self._project),
                methods=["GET", "PUT", "DELETE"],
            ),
            Route(f"{api}/projects/{{gid}}/sections", self._api(self._sections), methods=["GET"]),
            Route(f"{api}/sections/{{gid}}/addTask", self._api(self._add_task), methods=["POST"]),
            Route(f"{api}/tasks", self._api(self._list_tasks), methods=["GET"]),
            Route(f"{api}/tasks", self._api(self._create_task), methods=["POST"]),
            Route(f"{api}/tasks/{{gid}}", self._api(self._task), methods=["GET", "PUT", "DELETE"]),
            Route(f"{api}/webhooks", self._api(self._create_webhook), methods=["POST"]),
            Route(f"{api}/webhooks/{{gid}}", self._api(self._delete_webhook), methods=["DELETE"]),
        ]
        self.app = FaultInjector(Starlette(routes=routes), self.faults, render=render_error)

    # Test controls: what a person does in Asana, delivered at once

    async def create_task(self, project_gid: str, name: str, section_gid: str | None = None) -> str:
        task = self.store.add_task(
            name=name, notes="", project_gid=project_gid, section_gid=section_gid
        )
        await self.flush_webhooks()
        return str(task["gid"])

    async def edit_task(self, task_gid: str, **changes: Any) -> None:
        """Change `name`, `notes`, `due_on` or `completed` of a task."""
        self.store.change_task(self.store.tasks[task_gid], changes)
        await self.flush_webhooks()

    async def move_task(self, task_gid: str, section_gid: str) -> None:
        self.store.move_task(self.store.tasks[task_gid], self.store.sections[section_gid])
        await self.flush_webhooks()

    async def delete_task(self, task_gid: str) -> None:
        self.store.remove_task(self.store.tasks[task_gid])
        await self.flush_webhooks()

    async def add_section(self, project_gid: str, name: str) -> str:
        section = self.store.add_section(project_gid, name)
        await self.flush_webhooks()
        return str(section["gid"])

    async def flush_webhooks(self) -> None:
        """Sign the events waiting for each webhook into one delivery and hand it over."""
        pending, self.store.pending_events = self.store.pending_events, []
        batches: dict[str, list[Params]] = {}
        for webhook_gid, event in pending:
            batches.setdefault(webhook_gid, []).append(event)
        for webhook_gid, events in batches.items():
            webhook = self.store.webhooks.get(webhook_gid)
            if webhook is None:
                continue
            body = json.dumps({"events": events}).encode()
            delivery = WebhookDelivery(
                url=webhook["target"],
                headers={
                    "Content-Type": "application/json",
                    SIGNATURE_HEADER: sign(webhook["secret"], body),
                },
                body=body,
            )
            self.outbox.append(delivery)
            if self.webhook_target is not None:
                reply = await self.webhook_target(delivery)
                webhook["last_success_at" if reply.status < 300 else "last_failure_at"] = (
                    self.store.now()
                )

    # The API surface

    def _api(self, handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            self.calls.append((request.method, request.url.path))
            header = request.headers.get("authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not self._known(token):
                return render_error(401, "Not Authorized")
            wait = self._spend(token)
            if wait is not None:
                response = render_error(
                    429,
                    "You have made too many requests recently. Please, be chill.",
                )
                response.headers["Retry-After"] = str(wait)
                return response
            try:
                return await handler(request)
            except Refusal as refusal:
                return render_error(refusal.status, refusal.message)

        return endpoint

    def _known(self, token: str) -> bool:
        return token in self.personal_access_tokens or self.oauth.check(token) is not None

    def _spend(self, token: str) -> int | None:
        """Seconds until the window resets once this token has spent it, else None."""
        now = self.clock()
        started, used = self._windows.get(token, (now, 0))
        if now - started >= 60:
            started, used = now, 0
        self._windows[token] = (started, used + 1)
        if used + 1 > self.window_limit:
            return max(1, int(started + 60 - now))
        return None

    async def _me(self, request: Request) -> Response:
        return _data(_fields(self.store.user(), request))

    async def _workspaces(self, request: Request) -> Response:
        return _paged(request, list(self.store.workspaces.values()))

    async def _workspace(self, request: Request) -> Response:
        workspace = self.store.workspaces.get(request.path_params["gid"])
        if workspace is None:
            raise _unknown(request.path_params["gid"])
        return _data(_fields(workspace, request))

    async def _list_projects(self, request: Request) -> Response:
        params = request.query_params
        workspace, team = params.get("workspace"), params.get("team")
        if workspace is None and team is None:
            raise Refusal(400, "Must specify exactly one of workspace or team")
        archived = params.get("archived")
        projects = [
            self.store.project_view(p)
            for p in self.store.projects.values()
            if (workspace is None or p["workspace"] == workspace)
            and (team is None or p["team"] == team)
            and (archived is None or str(p["archived"]).lower() == archived.lower())
        ]
        return _paged(request, projects)

    async def _create_project(self, request: Request) -> Response:
        body = await _body(request)
        workspace_gid = body.get("workspace")
        if not workspace_gid:
            raise Refusal(400, "workspace: Missing input")
        workspace = self.store.workspaces.get(str(workspace_gid))
        if workspace is None:
            raise _unknown(str(workspace_gid))
        team = body.get("team")
        if workspace["is_organization"] and not team:
            raise Refusal(
                400, "You should specify a team when creating a project in an organization"
            )
        if team and team not in self.store.teams:
            raise _unknown(str(team))
        project = self.store.add_project(
            name=str(body.get("name") or ""),
            notes=str(body.get("notes") or ""),
            workspace=workspace["gid"],
            team=str(team) if team else None,
        )
        return _data(_fields(self.store.project_view(project), request), status=201)

    async def _project(self, request: Request) -> Response:
        gid = request.path_params["gid"]
        project = self.store.projects.get(gid)
        if project is None:
            raise _unknown(gid)
        if request.method == "DELETE":
            self.store.remove_project(project)
            return _data({})
        if request.method == "PUT":
            body = await _body(request)
            changes: Params = {k: str(body[k] or "") for k in ("name", "notes") if k in body}
            self.store.touch_project(project, changes)
        return _data(_fields(self.store.project_view(project), request))

    async def _sections(self, request: Request) -> Response:
        gid = request.path_params["gid"]
        if gid not in self.store.projects:
            raise _unknown(gid)
        sections = [self.store.compact(s) for s in self.store.project_sections(gid)]
        return _paged(request, sections)

    async def _add_task(self, request: Request) -> Response:
        section = self.store.sections.get(request.path_params["gid"])
        if section is None:
            raise _unknown(request.path_params["gid"])
        task = self._find_task(str((await _body(request)).get("task") or ""))
        self.store.move_task(task, section)
        if task["completed"]:
            self.store.change_task(task, {"completed": False})
        return _data({})

    async def _list_tasks(self, request: Request) -> Response:
        params = request.query_params
        project = params.get("project")
        if project is None:
            raise Refusal(400, "Must specify exactly one of project, tag, section or assignee")
        if project not in self.store.projects:
            raise _unknown(project)
        since = params.get("modified_since")
        tasks = [
            self.store.task_view(t)
            for t in self.store.tasks.values()
            if any(p == project for p, _ in t["memberships"])
            and (since is None or _after(t["modified_at"], since))
        ]
        return _paged(request, tasks)

    async def _create_task(self, request: Request) -> Response:
        body = await _body(request)
        memberships = body.get("memberships") or []
        projects = list(body.get("projects") or [])
        section = None
        if memberships:
            first = memberships[0] if isinstance(memberships[0], dict) else {}
            projects = [first.get("project")]
            section = first.get("section")
        if not projects or not projects[0]:
            raise Refusal(400, "You should specify one of workspace, parent, projects")
        project = self.store.projects.get(str(projects[0]))
        if project is None:
            raise _unknown(str(projects[0]))
        if (
            section is not None
            and self.store.sections.get(str(section), {}).get("project") != (project["gid"])
        ):
            raise Refusal(400, "memberships: section must be in the membership's project")
        external = body.get("external")
        if (
            isinstance(external, dict)
            and external.get("gid")
            and self.store.find_external(project["workspace"], str(external["gid"])) is not None
        ):
            raise Refusal(400, "external: gid is already in use by another object")
        task = self.store.add_task(
            name=str(body.get("name") or ""),
            notes=str(body.get("notes") or ""),
            project_gid=project["gid"],
            section_gid=str(section) if section else None,
            due_on=body.get("due_on"),
            completed=bool(body.get("completed")),
            external=dict(external) if isinstance(external, dict) else None,
        )
        return _data(_fields(self.store.task_view(task), request), status=201)

    async def _task(self, request: Request) -> Response:
        task = self._find_task(unquote(request.path_params["gid"]))
        if request.method == "DELETE":
            self.store.remove_task(task)
            return _data({})
        if request.method == "PUT":
            body = await _body(request)
            keys = ("name", "notes", "due_on", "completed")
            changes: Params = {k: body[k] for k in keys if k in body}
            self.store.change_task(task, changes)
        return _data(_fields(self.store.task_view(task), request))

    def _find_task(self, gid: str) -> Params:
        if gid.startswith("external:"):
            reference = gid.removeprefix("external:")
            task = next(
                (
                    t
                    for t in self.store.tasks.values()
                    if t["external"] is not None and t["external"].get("gid") == reference
                ),
                None,
            )
        else:
            task = self.store.tasks.get(gid)
        if task is None:
            raise _unknown(gid)
        return task

    async def _create_webhook(self, request: Request) -> Response:
        body = await _body(request)
        resource, target = str(body.get("resource") or ""), str(body.get("target") or "")
        if not resource:
            raise Refusal(400, "resource: Missing input")
        if not target:
            raise Refusal(400, "target: Missing input")
        if resource not in self.store.projects:
            raise _unknown(resource)
        if urlsplit(target).hostname in {"localhost", "127.0.0.1"}:
            raise Refusal(403, "Invalid hostname for the webhook target")
        secret = secrets.token_hex(32)
        handshake = WebhookDelivery(url=target, headers={SECRET_HEADER: secret}, body=b"")
        self.handshakes.append(handshake)
        reply = await self.webhook_target(handshake) if self.webhook_target else None
        echoed = {k.lower(): v for k, v in (reply.headers if reply else {}).items()}
        if (
            reply is None
            or reply.status not in (200, 204)
            or echoed.get(SECRET_HEADER.lower()) != secret
        ):
            raise Refusal(400, "The remote server did not respond with the handshake secret.")
        webhook: Params = {
            "gid": self.store.new_gid(),
            "resource_type": "webhook",
            "resource": resource,
            "target": target,
            "secret": secret,
            "active": True,
            "created_at": self.store.now(),
            "last_success_at": None,
            "last_failure_at": None,
        }
        self.store.webhooks[webhook["gid"]] = webhook
        view = {
            **{k: v for k, v in webhook.items() if k != "secret"},
            "resource": self.store.compact(self.store.projects[resource]),
        }
        return JSONResponse({"data": view, SECRET_HEADER: secret}, status_code=201)

    async def _delete_webhook(self, request: Request) -> Response:
        gid = request.path_params["gid"]
        if self.store.webhooks.pop(gid, None) is None:
            raise _unknown(gid)
        return _data({})


def _data(data: Any, *, status: int = 200) -> Response:
    return JSONResponse({"data": data}, status_code=status)


def _unknown(gid: str) -> Refusal:
    return Refusal(404, f"Unknown object: {gid}")


async def _body(request: Request) -> Params:
    try:
        payload = await request.json()
    except ValueError:
        raise Refusal(400, "Could not parse request data, invalid JSON") from None
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict):
        raise Refusal(400, "Request data must be a JSON object, not null")
    return data


def _fields(record: Params, request: Request) -> Params:
    """The record as `opt_fields` asks for it: compact without, else those fields."""
    asked = request.query_params.get("opt_fields")
    if asked is None:
        keep = {"gid", "resource_type", "name", "resource_subtype"}
    else:
        keep = {"gid", "resource_type"} | {f.split(".")[0] for f in asked.split(",") if f}
    return {k: v for k, v in record.items() if k in keep}


def _paged(request: Request, records: list[Params]) -> Response:
    params = request.query_params
    items = [_fields(r, request) for r in records]
    if "limit" not in params:
        return JSONResponse({"data": items})
    try:
        limit = int(params["limit"])
    except ValueError:
        raise Refusal(400, "limit: Not a number") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise Refusal(400, f"limit: Must be between 1 and {MAX_LIMIT}")
    start = _offset(params.get("offset"))
    page = items[start : start + limit]
    next_page = None
    if start + limit < len(items):
        token = base64.urlsafe_b64encode(f"sbx:{start + limit}".encode()).decode()
        next_page = {"offset": token, "path": request.url.path, "uri": str(request.url)}
    return JSONResponse({"data": page, "next_page": next_page})


def _offset(token: str | None) -> int:
    if token is None:
        return 0
    try:
        kind, _, index = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if kind == "sbx" and index.isdigit():
            return int(index)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise Refusal(400, "offset: Your pagination token is invalid.")


def _after(modified_at: str, since: str) -> bool:
    try:
        return parse_time(modified_at) >= parse_time(since)
    except AsanaPayloadError:
        raise Refusal(400, "modified_since: Not a valid date-time") from None


def create_sandbox(
    *,
    client_id: str = "sandbox-client",
    client_secret: str = "sandbox-secret",  # noqa: S107 - the sandbox's own fixture secret
    clock: Callable[[], float] = time.time,
    faults: Faults | None = None,
    window_limit: int = 150,
) -> AsanaSandbox:
    """A sandbox with a personal workspace holding one project (`SEED_PROJECT_GID`, sections
    To do, In progress, Review) and an organization whose projects need a team."""
    store = Store(clock=clock)
    seed(store)
    return AsanaSandbox(
        oauth=OAuthServer(
            client_id=client_id, client_secret=client_secret, require_pkce=False, clock=clock
        ),
        faults=faults or Faults(),
        clock=clock,
        window_limit=window_limit,
        personal_access_tokens={SANDBOX_PAT},
        store=store,
    )


__all__ = [
    "SANDBOX_PAT",
    "SEED_PROJECT_GID",
    "AsanaSandbox",
    "HookReply",
    "WebhookDelivery",
    "create_sandbox",
]
