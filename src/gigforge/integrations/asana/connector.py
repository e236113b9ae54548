"""Asana as a project tool: workspaces hold projects, projects hold sections and tasks.

Idempotent creates. Tasks carry Asana's custom external data: a new task is created with
`external.gid` set to the caller's idempotency key, and before creating, `GET
/tasks/external:{key}` looks for a task an earlier attempt made; found, it is brought to the
asked fields and returned instead of a second one. Asana documents external data as
app-specific and "OAuth required"; over a personal access token Gigforge still sets and reads
it, and a token for which Asana keeps no external data would lose only this guard.

Projects have no external data, and `POST /projects` takes no idempotency key, so a project is
reconciled by content: before creating one, the workspace's (or team's) unarchived projects are
listed and one with the same name and notes is returned instead.

Asana sends no deletions through `GET /tasks`; deleted tasks are only told by webhooks
(`deleted` events), so `changes` never flags one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from gigforge.integrations.asana.errors import AsanaAPIError, AsanaPayloadError
from gigforge.integrations.asana.mapping import (
    PROJECT_FIELDS,
    SUPPORTED_KINDS,
    TASK_FIELDS,
    as_mapping,
    check_fields,
    error_from_excerpt,
    format_time,
    project_body,
    same_project,
    task_create_body,
    task_update_body,
    to_container,
    to_project,
    to_statuses,
    to_task,
    unwrap,
    unwrap_page,
)
from gigforge.integrations.asana.spec import SPEC, AsanaConfig
from gigforge.integrations.asana.webhooks import read_webhook
from gigforge.integrations.framework.capabilities import ProjectTool
from gigforge.integrations.framework.errors import AuthExpired, Permanent
from gigforge.integrations.framework.records import (
    ChangePage,
    Container,
    RecordKind,
    RemoteRecord,
    Subscription,
    TaskStatus,
    WebhookReceipt,
)

NOT_FOUND = 404


class AsanaConnector(ProjectTool):
    spec = SPEC
    # Asana's `limit` is 1 to 100.
    page_size: ClassVar[int] = 100
    config: AsanaConfig

    def __init__(self, client: httpx.AsyncClient, config: BaseModel) -> None:
        if not isinstance(config, AsanaConfig):
            raise TypeError(f"{SPEC.title} needs an AsanaConfig, not {type(config)!r}")
        super().__init__(client, config)

    async def test(self) -> dict[str, Any]:
        me = as_mapping(
            await self._data(
                "GET", "/users/me", params={"opt_fields": "name,email,workspaces.name"}
            )
        )
        return {
            "user_gid": me.get("gid"),
            "name": me.get("name"),
            "workspaces": [as_mapping(w).get("name") for w in me.get("workspaces") or ()],
        }

    async def containers(self) -> list[Container]:
        return [to_container(raw) for raw in await self._all("/workspaces", {})]

    async def upsert(
        self,
        kind: RecordKind,
        fields: Mapping[str, Any],
        *,
        external_id: str | None,
        container: str | None = None,
        idempotency_key: str,
    ) -> RemoteRecord:
        self._check_kind(kind)
        check_fields(kind, fields)
        if kind is RecordKind.project:
            if external_id is not None:
                return await self._update_project(external_id, fields)
            return await self._create_project(fields, container)
        if external_id is not None:
            return await self._update_task(external_id, fields)
        return await self._create_task(fields, idempotency_key)

    async def get(self, kind: RecordKind, external_id: str) -> RemoteRecord | None:
        self._check_kind(kind)
        try:
            return await self._read(kind, _gid(external_id))
        except AsanaAPIError as exc:
            if exc.upstream_status == NOT_FOUND:
                return None
            raise

    async def delete(self, kind: RecordKind, external_id: str) -> None:
        """Deletes the record; one Asana no longer has counts as deleted."""
        self._check_kind(kind)
        path = "/tasks" if kind is RecordKind.task else "/projects"
        try:
            await self._data("DELETE", f"{path}/{_gid(external_id)}")
        except AsanaAPIError as exc:
            if exc.upstream_status != NOT_FOUND:
                raise

    async def statuses(self, project_id: str) -> list[TaskStatus]:
        sections = await self._all(f"/projects/{_gid(project_id)}/sections", {})
        return to_statuses(sections)

    async def changes(
        self, project_id: str, *, since: datetime | None, cursor: str | None = None
    ) -> ChangePage:
        """One page of `GET /tasks?project=&modified_since=`. Asana lists a project's tasks
        in the project's order, not by time: each page is sorted oldest first, and a reader
        that pages through to the end has seen every task modified since `since`."""
        project = _gid(project_id)
        params: dict[str, str] = {
            "project": project,
            "opt_fields": TASK_FIELDS,
            "limit": str(self.page_size),
        }
        if since is not None:
            params["modified_since"] = format_time(since)
        if cursor is not None:
            params["offset"] = cursor
        items, next_offset = await self._page("/tasks", params)
        records = sorted(
            (to_task(raw, project_id=project) for raw in items), key=lambda r: r.updated_at
        )
        return ChangePage(records=records, cursor=next_offset, has_more=next_offset is not None)

    async def subscribe(self, project_id: str, *, callback_url: str) -> Subscription:
        """`POST /webhooks`; Asana performs the handshake with `callback_url` before it
        answers, and refuses the webhook when the handshake is not echoed."""
        response = await self._call(
            "POST",
            "/webhooks",
            json={"data": {"resource": _gid(project_id), "target": callback_url}},
        )
        envelope = as_mapping(_json(response))
        webhook = as_mapping(envelope.get("data"))
        if not webhook.get("gid"):
            raise AsanaPayloadError(
                f"{SPEC.title} created a webhook without its gid", integration=SPEC.slug
            )
        secret = envelope.get("X-Hook-Secret")
        return Subscription(
            id=str(webhook["gid"]),
            secret=str(secret) if secret else None,
            callback_url=str(webhook.get("target") or callback_url),
        )

    async def unsubscribe(self, subscription_id: str) -> None:
        try:
            await self._data("DELETE", f"/webhooks/{_gid(subscription_id)}")
        except AsanaAPIError as exc:
            if exc.upstream_status != NOT_FOUND:
                raise

    def parse_webhook(
        self,
        headers: Mapping[str, str],
        body: bytes,
        *,
        url: str,
        secret: str | None = None,
    ) -> WebhookReceipt:
        return read_webhook(headers, body, secret=secret)

    # Projects

    async def _create_project(
        self, fields: Mapping[str, Any], container: str | None
    ) -> RemoteRecord:
        if container is None:
            raise self._refused("a new project needs the workspace it goes in")
        workspace = _gid(container)
        team = self.config.team_gid
        listing: dict[str, str] = {"archived": "false", "opt_fields": PROJECT_FIELDS}
        listing.update({"team": team} if team else {"workspace": workspace})
        for raw in await self._all("/projects", listing):
            if same_project(raw, fields):
                return to_project(raw)
        created = await self._data(
            "POST",
            "/projects",
            params={"opt_fields": PROJECT_FIELDS},
            json=project_body(fields, workspace=workspace, team=team),
        )
        return to_project(as_mapping(created))

    async def _update_project(self, gid: str, fields: Mapping[str, Any]) -> RemoteRecord:
        updated = await self._data(
            "PUT",
            f"/projects/{_gid(gid)}",
            params={"opt_fields": PROJECT_FIELDS},
            json=project_body(fields),
        )
        return to_project(as_mapping(updated))

    # Tasks

    async def _create_task(self, fields: Mapping[str, Any], reference: str) -> RemoteRecord:
        body = task_create_body(fields, reference=reference)
        existing = await self.get(RecordKind.task, f"external:{reference}")
        if existing is not None:
            # An earlier attempt created it; it may have stopped before the rest was applied.
            changes = {k: v for k, v in fields.items() if k != "project"}
            return await self._update_task(existing.id, changes)
        created = await self._data("POST", "/tasks", params={"opt_fields": TASK_FIELDS}, json=body)
        return to_task(as_mapping(created), project_id=str(fields["project"]))

    async def _update_task(self, gid: str, fields: Mapping[str, Any]) -> RemoteRecord:
        task = _gid(gid)
        body, section = task_update_body(fields)
        if body["data"]:
            await self._data("PUT", f"/tasks/{task}", json=body)
        if section is not None:
            await self._data("POST", f"/sections/{section}/addTask", json={"data": {"task": task}})
        project = fields.get("project")
        raw = await self._data("GET", f"/tasks/{task}", params={"opt_fields": TASK_FIELDS})
        return to_task(as_mapping(raw), project_id=str(project) if project else None)

    async def _read(self, kind: RecordKind, gid: str) -> RemoteRecord:
        if kind is RecordKind.task:
            raw = await self._data("GET", f"/tasks/{gid}", params={"opt_fields": TASK_FIELDS})
            return to_task(as_mapping(raw))
        raw = await self._data("GET", f"/projects/{gid}", params={"opt_fields": PROJECT_FIELDS})
        return to_project(as_mapping(raw))

    # The wire

    async def _all(self, path: str, params: Mapping[str, str]) -> list[Mapping[str, Any]]:
        found: list[Mapping[str, Any]] = []
        offset: str | None = None
        while True:
            page = {**params, "limit": str(self.page_size)}
            if offset is not None:
                page["offset"] = offset
            items, offset = await self._page(path, page)
            found += items
            if offset is None:
                return found

    async def _page(
        self, path: str, params: Mapping[str, str]
    ) -> tuple[list[Mapping[str, Any]], str | None]:
        response = await self._call("GET", path, params=params)
        return unwrap_page(await response.aread(), status=response.status_code)

    async def _data(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._call(method, path, **kwargs)
        return unwrap(await response.aread(), status=response.status_code)

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One call through the policy layer; a refusal becomes the framework error carrying
        Asana's own message."""
        try:
            return await self.client.request(method, path, **kwargs)
        except (Permanent, AuthExpired) as exc:
            if isinstance(exc, AsanaAPIError):
                raise
            raise error_from_excerpt(
                exc.extensions.get("body"), status=exc.upstream_status
            ) from exc

    def _check_kind(self, kind: RecordKind) -> None:
        if kind not in SUPPORTED_KINDS:
            raise self.not_supported(kind.value, "Asana holds projects and tasks only")

    def _refused(self, why: str) -> Permanent:
        return Permanent(f"{SPEC.title}: {why}", integration=SPEC.slug)


def _gid(value: str) -> str:
    """A gid (digits) or an `external:` reference, made safe for a path segment."""
    if value.isdigit():
        return value
    if value.startswith("external:") and len(value) > len("external:"):
        return quote(value, safe=":")
    raise Permanent(f"{SPEC.title}: {value!r} is not an Asana gid", integration=SPEC.slug)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise AsanaPayloadError(
            f"{SPEC.title} answered {response.status_code} without a JSON body",
            integration=SPEC.slug,
        ) from None
