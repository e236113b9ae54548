"""Pure translations between Jira's JSON and Gigforge's records.

Jira keeps rich text in the Atlassian Document Format (ADF,
https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/): plain text goes
in as one paragraph per blank-line-separated block, with `hardBreak` nodes for single line
breaks, and comes back out the same way (other block nodes are read as their text).
Times come as `2026-01-01T10:00:00.000+0100`; JQL reads times as `yyyy/MM/dd HH:mm` in the
searching user's own time zone, to the minute.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any

from gigforge.integrations.framework.records import (
    ChangeAction,
    Container,
    RecordKind,
    RemoteChange,
    RemoteRecord,
    TaskStatus,
)
from gigforge.integrations.jira.spec import PROPERTY_KEY

ISSUE_FIELDS = (
    "summary",
    "description",
    "status",
    "duedate",
    "parent",
    "updated",
    "project",
    "issuetype",
)
DONE_CATEGORY = "done"
JIRA_TIME = "%Y-%m-%dT%H:%M:%S.%f%z"
JQL_TIME = "%Y/%m/%d %H:%M"
WEBHOOK_ACTIONS = {
    "jira:issue_created": ChangeAction.created,
    "jira:issue_updated": ChangeAction.updated,
    "jira:issue_deleted": ChangeAction.deleted,
}
BLOCK_SEPARATOR = "\n\n"


class JiraPayloadError(ValueError):
    """Jira answered with JSON that does not have the documented shape."""


# Atlassian Document Format


def to_adf(text: str) -> dict[str, Any]:
    paragraphs: list[dict[str, Any]] = []
    for block in text.replace("\r\n", "\n").split(BLOCK_SEPARATOR):
        content: list[dict[str, Any]] = []
        for index, line in enumerate(block.split("\n")):
            if index:
                content.append({"type": "hardBreak"})
            if line:
                content.append({"type": "text", "text": line})
        paragraphs.append({"type": "paragraph", "content": content})
    return {"type": "doc", "version": 1, "content": paragraphs}


def from_adf(document: Any) -> str:
    """The text of an ADF document (or of a plain string, as API v2 bodies hold)."""
    if document is None:
        return ""
    if isinstance(document, str):
        return document
    if not isinstance(document, Mapping):
        raise JiraPayloadError("a description is neither ADF nor text")
    return BLOCK_SEPARATOR.join(_blocks(document.get("content") or ()))


def _blocks(nodes: Iterable[Any]) -> list[str]:
    blocks: list[str] = []
    for node in nodes:
        if not isinstance(node, Mapping):
            continue
        children = node.get("content") or ()
        if node.get("type") in {"paragraph", "heading", "codeBlock"}:
            blocks.append(_inline(children))
        else:
            blocks.extend(_blocks(children))
    return blocks


def _inline(nodes: Iterable[Any]) -> str:
    parts: list[str] = []
    for node in nodes:
        if not isinstance(node, Mapping):
            continue
        kind = node.get("type")
        if kind == "text":
            parts.append(str(node.get("text", "")))
        elif kind == "hardBreak":
            parts.append("\n")
        elif kind in {"mention", "emoji", "inlineCard"}:
            attrs = node.get("attrs") or {}
            parts.append(str(attrs.get("text") or attrs.get("shortName") or attrs.get("url") or ""))
        else:
            parts.append(_inline(node.get("content") or ()))
    return "".join(parts)


# Times and JQL


def parse_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise JiraPayloadError(f"{value!r} is not a Jira time")
    try:
        return datetime.strptime(value, JIRA_TIME).astimezone(UTC)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise JiraPayloadError(f"{value!r} is not a Jira time") from None
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def format_time(moment: datetime) -> str:
    """A time as Jira writes it (used by the sandbox)."""
    text = moment.astimezone(UTC).strftime(JIRA_TIME)
    # Milliseconds, not microseconds: `.000+0000`.
    head, _, zone = text.rpartition("+")
    return f"{head[:-3]}+{zone}"


def jql_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def jql_time(moment: datetime, zone: tzinfo) -> str:
    """`moment` in the user's zone, to the minute, rounded down so that nothing is missed."""
    return jql_string(moment.astimezone(zone).strftime(JQL_TIME))


def changes_jql(epic_key: str, since: datetime | None, zone: tzinfo) -> str:
    clauses = [f"parent = {jql_string(epic_key)}"]
    if since is not None:
        clauses.append(f"updated >= {jql_time(since, zone)}")
    return " AND ".join(clauses) + " ORDER BY updated ASC"


def reference_jql(idempotency_key: str) -> str:
    return f"issue.property[{PROPERTY_KEY}].ref = {jql_string(idempotency_key)}"


# Requests


def create_body(
    *,
    project_key: str,
    issue_type: str,
    summary: str,
    description: str | None,
    reference: str,
    parent_key: str | None = None,
    due: str | None = None,
) -> dict[str, Any]:
    """`POST /rest/api/3/issue`, with our reference set as an issue property in the same call
    (`properties` of IssueUpdateDetails), so no issue exists without it."""
    fields: dict[str, Any] = {
        "project": {"key": project_key},
        "issuetype": {"name": issue_type},
        "summary": summary,
    }
    if description:
        fields["description"] = to_adf(description)
    if parent_key is not None:
        fields["parent"] = {"key": parent_key}
    if due:
        fields["duedate"] = due
    return {"fields": fields, "properties": [{"key": PROPERTY_KEY, "value": {"ref": reference}}]}


def update_fields(kind: RecordKind, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The `fields` of `PUT /rest/api/3/issue/{key}` for the normalized fields given (status
    is not among them: it changes through a transition)."""
    out: dict[str, Any] = {}
    title = fields.get("name") if kind is RecordKind.project else fields.get("title")
    if title is not None:
        out["summary"] = str(title)
    if "description" in fields:
        text = fields["description"]
        out["description"] = to_adf(str(text)) if text else None
    if kind is RecordKind.task:
        if "due" in fields:
            out["duedate"] = fields["due"] or None
        if fields.get("project"):
            out["parent"] = {"key": str(fields["project"])}
    return out


# Responses


def to_record(kind: RecordKind, issue: Mapping[str, Any], *, site: str | None) -> RemoteRecord:
    key = issue.get("key")
    fields = issue.get("fields")
    if not isinstance(key, str) or not isinstance(fields, Mapping):
        raise JiraPayloadError("an issue without its key or fields")
    mapped = record_fields(kind, fields)
    return RemoteRecord(
        kind=kind,
        id=key,
        fields=mapped,
        updated_at=parse_time(fields.get("updated")),
        url=f"{site.rstrip('/')}/browse/{key}" if site else None,
    )


def record_fields(kind: RecordKind, fields: Mapping[str, Any]) -> dict[str, Any]:
    summary = fields.get("summary")
    description = from_adf(fields.get("description"))
    if kind is RecordKind.project:
        out: dict[str, Any] = {"name": summary, "description": description}
        return {k: v for k, v in out.items() if v is not None}
    out = {"title": summary, "description": description}
    status = fields.get("status")
    if isinstance(status, Mapping) and status.get("id") is not None:
        out["status"] = str(status["id"])
    if fields.get("duedate"):
        out["due"] = str(fields["duedate"])
    parent = fields.get("parent")
    if isinstance(parent, Mapping) and parent.get("key"):
        out["project"] = str(parent["key"])
    return {k: v for k, v in out.items() if v is not None}


def is_epic(fields: Mapping[str, Any], epic_issue_type: str) -> bool:
    issue_type = fields.get("issuetype")
    if not isinstance(issue_type, Mapping):
        return False
    return issue_type.get("hierarchyLevel") == 1 or issue_type.get("name") == epic_issue_type


def to_container(project: Mapping[str, Any]) -> Container:
    key, name = project.get("key"), project.get("name")
    if not isinstance(key, str) or not isinstance(name, str):
        raise JiraPayloadError("a project without its key or name")
    return Container(id=key, name=name)


def to_statuses(per_issue_type: Any, issue_type: str) -> list[TaskStatus]:
    """`GET /project/{key}/statuses` lists statuses per issue type: the task type's, or all
    of them (each once) when the project has no such type."""
    if not isinstance(per_issue_type, list):
        raise JiraPayloadError("project statuses are not a list")
    types = [t for t in per_issue_type if isinstance(t, Mapping)]
    chosen = [t for t in types if t.get("name") == issue_type] or types
    seen: dict[str, TaskStatus] = {}
    for entry in chosen:
        for status in entry.get("statuses") or ():
            if not isinstance(status, Mapping) or status.get("id") is None:
                continue
            category = status.get("statusCategory")
            done = isinstance(category, Mapping) and category.get("key") == DONE_CATEGORY
            seen.setdefault(
                str(status["id"]),
                TaskStatus(id=str(status["id"]), name=str(status.get("name", "")), done=done),
            )
    return list(seen.values())


def transition_to(transitions: Any, status_id: str) -> str | None:
    """The id of the transition that leads to `status_id`, if the workflow offers one."""
    for transition in transitions if isinstance(transitions, list) else ():
        if not isinstance(transition, Mapping):
            continue
        target = transition.get("to")
        if isinstance(target, Mapping) and str(target.get("id")) == status_id:
            return str(transition.get("id"))
    return None


def error_message(body: Any) -> str | None:
    """Jira's `{"errorMessages": [...], "errors": {"field": "message"}}` as one line."""
    if isinstance(body, str | bytes):
        try:
            body = json.loads(body)
        except ValueError:
            return None
    if not isinstance(body, Mapping):
        return None
    messages = [str(m) for m in body.get("errorMessages") or () if m]
    errors = body.get("errors")
    if isinstance(errors, Mapping):
        messages += [f"{field}: {message}" for field, message in errors.items()]
    return "; ".join(messages) or None


def to_change(
    payload: Mapping[str, Any], *, event_id: str | None, epic_issue_type: str
) -> RemoteChange | None:
    """One change from a webhook body; None for events that are not about an issue."""
    action = WEBHOOK_ACTIONS.get(str(payload.get("webhookEvent")))
    issue = payload.get("issue")
    if action is None or not isinstance(issue, Mapping) or not isinstance(issue.get("key"), str):
        return None
    fields = issue.get("fields") if isinstance(issue.get("fields"), Mapping) else {}
    assert isinstance(fields, Mapping)
    kind = RecordKind.project if is_epic(fields, epic_issue_type) else RecordKind.task
    timestamp = payload.get("timestamp")
    occurred = (
        datetime.fromtimestamp(timestamp / 1000, UTC)
        if isinstance(timestamp, int | float)
        else parse_time(fields.get("updated"))
    )
    parent = fields.get("parent")
    return RemoteChange(
        kind=kind,
        id=str(issue["key"]),
        action=action,
        occurred_at=occurred,
        event_id=event_id,
        fields=record_fields(kind, fields) if fields else {},
        parent_id=str(parent["key"]) if isinstance(parent, Mapping) and "key" in parent else None,
    )
