"""Pure translations between Asana's wire shapes and Gigforge's records.

Every answer is `{"data": ...}` (lists add `next_page` when paged) and every error
`{"errors": [{"message": ..., "help": ...}]}` (https://developers.asana.com/docs/errors).
Request bodies are wrapped in `{"data": ...}` too.

A task's status is one of its project's sections, or `completed` when the task is done: Asana
keeps completion as a flag beside the section, so a done task keeps its section and reads as
`completed`, and moving a task to a section marks it incomplete again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from gigforge.integrations.asana.errors import AsanaAPIError, AsanaPayloadError
from gigforge.integrations.asana.spec import SPEC
from gigforge.integrations.framework.errors import AuthExpired, IntegrationError, Permanent
from gigforge.integrations.framework.records import (
    ChangeAction,
    Container,
    RecordKind,
    RemoteChange,
    RemoteRecord,
    TaskStatus,
)

DONE_STATUS = "completed"
TASK_FIELDS = (
    "name,notes,completed,due_on,modified_at,permalink_url,"
    "memberships.project.gid,memberships.section.gid"
)
PROJECT_FIELDS = "name,notes,modified_at,permalink_url,archived,workspace.gid,team.gid"
TASK_FIELD_NAMES = frozenset({"title", "description", "status", "due", "project"})
PROJECT_FIELD_NAMES = frozenset({"name", "description"})
SUPPORTED_KINDS = frozenset({RecordKind.project, RecordKind.task})


def as_mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def parse_time(value: Any) -> datetime:
    """Asana's times are ISO 8601 in UTC with milliseconds (`2012-02-22T02:06:58.147Z`)."""
    if not isinstance(value, str):
        raise AsanaPayloadError(f"{SPEC.title} sent no time: {value!r}", integration=SPEC.slug)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise AsanaPayloadError(
            f"{SPEC.title} sent a time that is not ISO 8601: {value!r}", integration=SPEC.slug
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_time(value: datetime) -> str:
    """An aware time as Asana writes them, for `modified_since`."""
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def section_of(task: Mapping[str, Any], project_id: str | None) -> tuple[str | None, str | None]:
    """The (project, section) the task sits in: in `project_id` when given, else its first."""
    for membership in task.get("memberships") or ():
        project = as_mapping(as_mapping(membership).get("project")).get("gid")
        if project_id is None or project == project_id:
            section = as_mapping(as_mapping(membership).get("section")).get("gid")
            return (str(project) if project else None), (str(section) if section else None)
    return project_id, None


def to_task(raw: Mapping[str, Any], *, project_id: str | None = None) -> RemoteRecord:
    project, section = section_of(raw, project_id)
    fields: dict[str, Any] = {"title": raw.get("name") or ""}
    if raw.get("notes"):
        fields["description"] = raw["notes"]
    if raw.get("completed"):
        fields["status"] = DONE_STATUS
    elif section is not None:
        fields["status"] = section
    if raw.get("due_on"):
        fields["due"] = raw["due_on"]
    if project is not None:
        fields["project"] = project
    return RemoteRecord(
        kind=RecordKind.task,
        id=str(raw["gid"]),
        fields=fields,
        updated_at=parse_time(raw.get("modified_at")),
        url=raw.get("permalink_url"),
    )


def to_project(raw: Mapping[str, Any]) -> RemoteRecord:
    fields: dict[str, Any] = {"name": raw.get("name") or ""}
    if raw.get("notes"):
        fields["description"] = raw["notes"]
    return RemoteRecord(
        kind=RecordKind.project,
        id=str(raw["gid"]),
        fields=fields,
        updated_at=parse_time(raw.get("modified_at")),
        url=raw.get("permalink_url"),
    )


def to_container(raw: Mapping[str, Any]) -> Container:
    return Container(id=str(raw["gid"]), name=str(raw.get("name") or ""))


def to_statuses(sections: Iterable[Mapping[str, Any]]) -> list[TaskStatus]:
    statuses = [TaskStatus(id=str(s["gid"]), name=str(s.get("name") or "")) for s in sections]
    return [*statuses, TaskStatus(id=DONE_STATUS, name="Completed", done=True)]


def check_fields(kind: RecordKind, fields: Mapping[str, Any]) -> None:
    allowed = TASK_FIELD_NAMES if kind is RecordKind.task else PROJECT_FIELD_NAMES
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise Permanent(
            f"{SPEC.title} {kind.value}s have no field {', '.join(unknown)}",
            integration=SPEC.slug,
        )


def split_status(status: Any) -> tuple[bool, str | None]:
    """(completed, section to move to) for a normalized status."""
    if status == DONE_STATUS:
        return True, None
    if not isinstance(status, str) or not status.isdigit():
        raise Permanent(
            f"{SPEC.title}: {status!r} is neither a section gid nor {DONE_STATUS!r}",
            integration=SPEC.slug,
        )
    return False, status


def task_create_body(fields: Mapping[str, Any], *, reference: str) -> dict[str, Any]:
    """`POST /tasks`: in the project (and its section, via the create-only `memberships`),
    with our reference as the task's external gid."""
    project = fields.get("project")
    if not isinstance(project, str) or not project:
        raise Permanent(
            f"{SPEC.title}: a new task needs the project it belongs to", integration=SPEC.slug
        )
    data: dict[str, Any] = {"name": str(fields.get("title") or ""), "external": {"gid": reference}}
    if "description" in fields:
        data["notes"] = fields["description"] or ""
    if fields.get("due"):
        data["due_on"] = str(fields["due"])
    section = None
    if fields.get("status") is not None:
        data["completed"], section = split_status(fields["status"])
    if section is not None:
        data["memberships"] = [{"project": project, "section": section}]
    else:
        data["projects"] = [project]
    return {"data": data}


def task_update_body(fields: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """`PUT /tasks/{gid}` body, and the section to move the task to afterwards (Asana moves
    tasks between sections only through `POST /sections/{gid}/addTask`)."""
    data: dict[str, Any] = {}
    if "title" in fields:
        data["name"] = str(fields["title"] or "")
    if "description" in fields:
        data["notes"] = fields["description"] or ""
    if "due" in fields:
        data["due_on"] = str(fields["due"]) if fields["due"] else None
    section = None
    if fields.get("status") is not None:
        data["completed"], section = split_status(fields["status"])
    return {"data": data}, section


def project_body(
    fields: Mapping[str, Any], *, workspace: str | None = None, team: str | None = None
) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if "name" in fields:
        data["name"] = str(fields["name"] or "")
    if "description" in fields:
        data["notes"] = fields["description"] or ""
    if workspace is not None:
        data["workspace"] = workspace
    if team is not None:
        data["team"] = team
    return {"data": data}


def same_project(raw: Mapping[str, Any], fields: Mapping[str, Any]) -> bool:
    """Whether a listed project is the one these fields would create (name and notes)."""
    return (
        not raw.get("archived")
        and (raw.get("name") or "") == (fields.get("name") or "")
        and (raw.get("notes") or "") == (fields.get("description") or "")
    )


# Webhook events (https://developers.asana.com/docs/webhooks-guide#events)

_KINDS = {"task": RecordKind.task, "project": RecordKind.project}


def to_changes(events: Iterable[Any]) -> list[RemoteChange]:
    """Task and project events as changes; stories, sections and the rest are skipped.

    `added`/`removed` with a project (or workspace, team) as parent means the record joined or
    left it: created or deleted as far as that project is concerned. With a section as parent
    it is a move between sections: an update whose new status is the section.
    """
    changes: list[RemoteChange] = []
    for event in events:
        event = as_mapping(event)
        resource = as_mapping(event.get("resource"))
        kind = _KINDS.get(str(resource.get("resource_type")))
        if kind is None or not resource.get("gid"):
            continue
        parent = as_mapping(event.get("parent"))
        parent_type = parent.get("resource_type")
        action = _action(str(event.get("action")), parent_type)
        if action is None:
            continue
        fields: dict[str, Any] = {}
        if parent_type == "section" and event.get("action") == "added":
            fields["status"] = str(parent["gid"])
        elif kind is RecordKind.task and parent_type == "project":
            fields["project"] = str(parent["gid"])
        changes.append(
            RemoteChange(
                kind=kind,
                id=str(resource["gid"]),
                action=action,
                occurred_at=parse_time(event.get("created_at")),
                fields=fields,
                parent_id=str(parent["gid"]) if parent.get("gid") else None,
            )
        )
    return changes


def _action(action: str, parent_type: Any) -> ChangeAction | None:
    if action == "changed":
        return ChangeAction.updated
    if action == "deleted":
        return ChangeAction.deleted
    if action == "undeleted":
        return ChangeAction.created
    if action in {"added", "removed"}:
        if parent_type == "section":
            return ChangeAction.updated
        return ChangeAction.created if action == "added" else ChangeAction.deleted
    return None


# Errors


def unwrap(body: bytes, *, status: int) -> Any:
    """The `data` of an answer (with `next_page` kept for lists by `unwrap_page`)."""
    return as_mapping(_json(body, status)).get("data")


def unwrap_page(body: bytes, *, status: int) -> tuple[list[Mapping[str, Any]], str | None]:
    """A list answer's items and the offset of the next page, if there is one."""
    envelope = as_mapping(_json(body, status))
    items = envelope.get("data")
    if not isinstance(items, list):
        raise AsanaPayloadError(
            f"{SPEC.title} answered {status} without a list of data", integration=SPEC.slug
        )
    offset = as_mapping(envelope.get("next_page")).get("offset")
    return [item for item in items if isinstance(item, Mapping)], (str(offset) if offset else None)


def error_from_excerpt(excerpt: Any, *, status: int | None) -> IntegrationError:
    """The transport keeps the first bytes of a refused answer: read Asana's errors in them."""
    try:
        body = json.loads(excerpt) if isinstance(excerpt, str) and excerpt else None
    except ValueError:
        body = None
    first = as_mapping(next(iter(as_mapping(body).get("errors") or ()), None))
    message = str(first["message"]) if first.get("message") else None
    help_text = str(first["help"]) if first.get("help") else None
    detail = f"{SPEC.title}: {message}" if message else f"{SPEC.title} answered {status}"
    if status == 401:
        return AuthExpired(detail, integration=SPEC.slug, status=status)
    return AsanaAPIError(
        detail,
        integration=SPEC.slug,
        status=status,
        asana_message=message,
        asana_help=help_text,
    )


def _json(body: bytes, status: int) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise AsanaPayloadError(
            f"{SPEC.title} answered {status} without a JSON body", integration=SPEC.slug
        ) from None
