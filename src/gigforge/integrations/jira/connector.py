"""Jira Cloud as a project tool: a Gigforge project is an epic in a Jira project the user picks
(`containers()`), and its tasks are that project's issues whose parent is the epic.

Where the API lives depends on how the connection signs in (see `spec`): an API-token
connection calls its site (`config.base_url`, or the connection's own base URL) at
`/rest/api/3/...`; an OAuth connection calls `/ex/jira/{cloudid}/rest/api/3/...` on the API
gateway, with the cloud id from the config or, for a user who reaches a single site, from
`/oauth/token/accessible-resources`.

Creates are idempotent by reconciliation: every issue Gigforge creates carries an issue
property `gigforge` = `{"ref": <idempotency key>}`, set in the create call itself, and a create
first searches `issue.property[gigforge].ref = "<key>"`; a match is returned instead of a
second issue. Status changes go through the workflow's transitions, as Jira requires.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from pydantic import BaseModel

from gigforge.integrations.framework.capabilities import ProjectTool
from gigforge.integrations.framework.errors import AuthExpired, Permanent, Transient
from gigforge.integrations.framework.records import (
    ChangePage,
    Container,
    RecordKind,
    RemoteRecord,
    Subscription,
    TaskStatus,
    WebhookReceipt,
)
from gigforge.integrations.framework.transport import SAFE_TO_REPLAY
from gigforge.integrations.jira.mapping import (
    ISSUE_FIELDS,
    JiraPayloadError,
    changes_jql,
    create_body,
    error_message,
    reference_jql,
    to_change,
    to_container,
    to_record,
    to_statuses,
    transition_to,
    update_fields,
)
from gigforge.integrations.jira.spec import API_GATEWAY, SPEC, JiraConfig
from gigforge.integrations.jira.webhooks import IDENTIFIER_HEADER, header_value, verify_delivery

API = "/rest/api/3"
WEBHOOK_EVENTS = ("jira:issue_created", "jira:issue_updated", "jira:issue_deleted")


class JiraConnector(ProjectTool):
    spec = SPEC
    # Jira pages projects 50 at a time by default; search/jql returns up to 100 with fields.
    page_size: ClassVar[int] = 50
    config: JiraConfig

    def __init__(self, client: httpx.AsyncClient, config: BaseModel) -> None:
        if not isinstance(config, JiraConfig):
            raise TypeError(f"{SPEC.title} needs a JiraConfig, not {type(config)!r}")
        super().__init__(client, config)
        self._root: str | None = None
        self._site: str | None = None
        self._zone: tzinfo | None = None
        self._resource: Mapping[str, Any] | None = None

    async def test(self) -> dict[str, Any]:
        me = await self._myself()
        return {
            "account_id": me.get("accountId"),
            "display_name": me.get("displayName"),
            "time_zone": me.get("timeZone"),
            "site": await self._site_url(),
        }

    async def containers(self) -> list[Container]:
        found: list[Container] = []
        start = 0
        while True:
            page = await self._json(
                "GET",
                "/project/search",
                params={"startAt": start, "maxResults": self.page_size, "orderBy": "key"},
            )
            values = [v for v in _mapping(page).get("values") or () if isinstance(v, Mapping)]
            found += [to_container(value) for value in values]
            if _mapping(page).get("isLast", True) or not values:
                return found
            start += len(values)

    async def upsert(
        self,
        kind: RecordKind,
        fields: Mapping[str, Any],
        *,
        external_id: str | None,
        container: str | None = None,
        idempotency_key: str,
    ) -> RemoteRecord:
        if kind not in {RecordKind.project, RecordKind.task}:
            raise self.not_supported(f"upsert {kind}", "Jira holds projects (epics) and tasks")
        if external_id is None:
            existing = await self._by_reference(idempotency_key)
            if existing is None:
                external_id = await self._create(kind, fields, container, idempotency_key)
                if kind is RecordKind.task and fields.get("status"):
                    await self._transition(external_id, str(fields["status"]))
                return await self._read(kind, external_id)
            external_id = existing
        changes = update_fields(kind, fields)
        if changes:
            await self._json("PUT", f"/issue/{external_id}", json={"fields": changes})
        if kind is RecordKind.task and fields.get("status"):
            await self._transition(external_id, str(fields["status"]))
        return await self._read(kind, external_id)

    async def get(self, kind: RecordKind, external_id: str) -> RemoteRecord | None:
        try:
            return await self._read(kind, external_id)
        except Permanent as exc:
            if exc.upstream_status == 404:
                return None
            raise

    async def delete(self, kind: RecordKind, external_id: str) -> None:
        """Deleting what is already gone is done."""
        try:
            await self._json("DELETE", f"/issue/{external_id}")
        except Permanent as exc:
            if exc.upstream_status != 404:
                raise

    async def statuses(self, project_id: str) -> list[TaskStatus]:
        project_key = await self._project_of(project_id)
        per_type = await self._json("GET", f"/project/{project_key}/statuses")
        return to_statuses(per_type, self.config.task_issue_type)

    async def changes(
        self, project_id: str, *, since: datetime | None, cursor: str | None = None
    ) -> ChangePage:
        """One page of `POST /search/jql` (the enhanced search; `nextPageToken` pages it).
        JQL compares times to the minute in the user's own time zone, so the query asks from
        the minute `since` falls in and the exact cut is made here."""
        body: dict[str, Any] = {
            "jql": changes_jql(project_id, since, await self._time_zone()),
            "fields": list(ISSUE_FIELDS),
            "maxResults": self.page_size,
        }
        if cursor is not None:
            body["nextPageToken"] = cursor
        page = _mapping(await self._search(body))
        site = await self._site_url()
        records = [
            to_record(RecordKind.task, issue, site=site)
            for issue in page.get("issues") or ()
            if isinstance(issue, Mapping)
        ]
        if since is not None:
            records = [r for r in records if r.updated_at >= since.astimezone(UTC)]
        token = page.get("nextPageToken")
        more = isinstance(token, str) and bool(token) and not page.get("isLast", False)
        return ChangePage(records=records, cursor=token if more else None, has_more=more)

    async def subscribe(self, project_id: str, *, callback_url: str) -> Subscription:
        """A dynamic webhook (`POST /webhook`) for the epic's Jira project: its JQL filter may
        only name project, issue type, status and a few more fields (not `parent`), so the
        engine keeps the changes whose `parent_id` is the epic. Jira lets a dynamic webhook
        live 30 days unless refreshed (`PUT /webhook/refresh`). Deliveries are signed with the
        OAuth app's client secret, which is the `secret` to verify them with."""
        if self.config.uses_api_token:
            raise self.not_supported(
                "webhooks",
                "only OAuth apps can register webhooks through the API; a Jira admin can add "
                "one with a secret under System > WebHooks instead",
            )
        project_key = await self._project_of(project_id)
        result = await self._json(
            "POST",
            "/webhook",
            json={
                "url": callback_url,
                "webhooks": [
                    {"events": list(WEBHOOK_EVENTS), "jqlFilter": f"project = {project_key}"}
                ],
            },
        )
        registered = [
            r
            for r in _mapping(result).get("webhookRegistrationResult") or ()
            if isinstance(r, Mapping)
        ]
        if not registered or registered[0].get("createdWebhookId") is None:
            errors = registered[0].get("errors") if registered else None
            raise self._refused(f"the webhook was not registered: {errors or 'no result'}")
        return Subscription(
            id=str(registered[0]["createdWebhookId"]), secret=None, callback_url=callback_url
        )

    async def unsubscribe(self, subscription_id: str) -> None:
        if not subscription_id.isdigit():
            raise self._refused(f"{subscription_id!r} is not a Jira webhook id")
        await self._json("DELETE", "/webhook", json={"webhookIds": [int(subscription_id)]})

    def parse_webhook(
        self,
        headers: Mapping[str, str],
        body: bytes,
        *,
        url: str,
        secret: str | None = None,
    ) -> WebhookReceipt:
        payload = verify_delivery(headers, body, secret)
        try:
            change = to_change(
                payload,
                event_id=header_value(headers, IDENTIFIER_HEADER),
                epic_issue_type=self.config.epic_issue_type,
            )
        except JiraPayloadError as exc:
            raise self._refused(f"the webhook body is not a Jira issue event: {exc}") from None
        return WebhookReceipt(changes=[change] if change is not None else [])

    # Reading and writing issues

    async def _create(
        self,
        kind: RecordKind,
        fields: Mapping[str, Any],
        container: str | None,
        reference: str,
    ) -> str:
        if kind is RecordKind.project:
            if not container:
                raise self._refused("a project (epic) needs the Jira project key as container")
            name = fields.get("name")
            if not name:
                raise self._refused("a project (epic) needs a name")
            body = create_body(
                project_key=container,
                issue_type=self.config.epic_issue_type,
                summary=str(name),
                description=_text(fields.get("description")),
                reference=reference,
            )
        else:
            epic = fields.get("project")
            title = fields.get("title")
            if not epic or not title:
                raise self._refused("a task needs a title and its project (the epic's key)")
            body = create_body(
                project_key=await self._project_of(str(epic)),
                issue_type=self.config.task_issue_type,
                summary=str(title),
                description=_text(fields.get("description")),
                reference=reference,
                parent_key=str(epic),
                due=_text(fields.get("due")),
            )
        created = _mapping(await self._json("POST", "/issue", json=body))
        if not isinstance(created.get("key"), str):
            raise self._refused("the created issue came back without its key")
        return str(created["key"])

    async def _read(self, kind: RecordKind, key: str) -> RemoteRecord:
        issue = await self._json("GET", f"/issue/{key}", params={"fields": ",".join(ISSUE_FIELDS)})
        try:
            return to_record(kind, _mapping(issue), site=await self._site_url())
        except JiraPayloadError as exc:
            raise self._refused(f"issue {key}: {exc}") from None

    async def _by_reference(self, reference: str) -> str | None:
        page = _mapping(
            await self._search(
                {"jql": reference_jql(reference), "fields": ["key"], "maxResults": 1}
            )
        )
        for issue in page.get("issues") or ():
            if isinstance(issue, Mapping) and isinstance(issue.get("key"), str):
                return str(issue["key"])
        return None

    async def _transition(self, key: str, status_id: str) -> None:
        issue = _mapping(await self._json("GET", f"/issue/{key}", params={"fields": "status"}))
        status = _mapping(_mapping(issue.get("fields")).get("status"))
        if str(status.get("id")) == status_id:
            return
        offered = _mapping(await self._json("GET", f"/issue/{key}/transitions")).get("transitions")
        transition = transition_to(offered, status_id)
        if transition is None:
            raise self._refused(
                f"the workflow offers no transition from {key}'s status to {status_id}"
            )
        await self._json(
            "POST", f"/issue/{key}/transitions", json={"transition": {"id": transition}}
        )

    async def _project_of(self, issue_key: str) -> str:
        """The key of the Jira project an issue (an epic) is in."""
        issue = _mapping(
            await self._json("GET", f"/issue/{issue_key}", params={"fields": "project"})
        )
        project = _mapping(_mapping(issue.get("fields")).get("project"))
        if not isinstance(project.get("key"), str):
            raise self._refused(f"issue {issue_key} came back without its project")
        return str(project["key"])

    async def _search(self, body: Mapping[str, Any]) -> Any:
        # A search changes nothing, so it may be replayed after a failure like a GET.
        return await self._json("POST", "/search/jql", json=body, extensions={SAFE_TO_REPLAY: True})

    # Where the API is

    async def _myself(self) -> Mapping[str, Any]:
        return _mapping(await self._json("GET", "/myself"))

    async def _time_zone(self) -> tzinfo:
        if self._zone is None:
            name = (await self._myself()).get("timeZone")
            try:
                self._zone = ZoneInfo(str(name)) if name else UTC
            except (ZoneInfoNotFoundError, ValueError):
                self._zone = UTC
        return self._zone

    async def _api_root(self) -> str:
        if self._root is not None:
            return self._root
        if self.config.cloud_id:
            self._root = f"/ex/jira/{self.config.cloud_id}{API}"
            if self.config.uses_api_token and self.config.base_url:
                self._site = self.config.base_url.rstrip("/")
        elif self.config.uses_api_token:
            site = self.config.base_url or ""
            if not site and _is_gateway(self.client.base_url):
                raise self._refused(
                    "an API-token connection needs its site URL (https://<site>.atlassian.net)"
                )
            self._root = f"{site.rstrip('/')}{API}"
            self._site = site.rstrip("/") or str(self.client.base_url).rstrip("/")
        else:
            resource = await self._accessible_resource()
            self._root = f"/ex/jira/{resource['id']}{API}"
        return self._root

    async def _site_url(self) -> str | None:
        if self._site is None:
            await self._api_root()
        if self._site is None and not self.config.uses_api_token:
            self._site = str((await self._accessible_resource()).get("url") or "") or None
        return self._site

    async def _accessible_resource(self) -> Mapping[str, Any]:
        """The site this OAuth connection works on, from the sites its token reaches."""
        if self._resource is not None:
            return self._resource
        response = await self._send("GET", "/oauth/token/accessible-resources")
        sites = [s for s in _parse(response) or () if isinstance(s, Mapping) and s.get("id")]
        if self.config.cloud_id:
            sites = [s for s in sites if s.get("id") == self.config.cloud_id]
            if not sites:
                raise self._refused(
                    f"this authorization does not reach cloud id {self.config.cloud_id}"
                )
        if not sites:
            raise self._refused("this authorization reaches no Jira site")
        if len(sites) > 1:
            listed = ", ".join(f"{s.get('name')} ({s.get('id')})" for s in sites)
            raise self._refused(
                f"this authorization reaches several sites; set cloud_id to one of: {listed}"
            )
        self._resource = sites[0]
        return self._resource

    # One call

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return _parse(await self._send(method, f"{await self._api_root()}{path}", **kwargs))

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Through the policy layer; a refusal carries Jira's own `errorMessages`/`errors`."""
        try:
            return await self.client.request(method, url, **kwargs)
        except (AuthExpired, Permanent, Transient) as exc:
            message = error_message(exc.extensions.get("body"))
            if message is None:
                raise
            raise type(exc)(
                f"{exc.detail}: {message}", integration=SPEC.slug, status=exc.upstream_status
            ) from exc

    def _refused(self, why: str) -> Permanent:
        return Permanent(f"{SPEC.title}: {why}", integration=SPEC.slug)


def _parse(response: httpx.Response) -> Any:
    if response.status_code == 204 or not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        raise Permanent(
            f"{SPEC.title} answered {response.request.url.path} with a body that is not JSON",
            integration=SPEC.slug,
            status=response.status_code,
        ) from None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    return str(value) if value else None


def _is_gateway(base: httpx.URL) -> bool:
    return base.host == httpx.URL(API_GATEWAY).host
