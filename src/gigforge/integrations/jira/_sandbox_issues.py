"""The Jira sandbox's issue endpoints: create, read, edit, delete, transitions, properties and
the enhanced JQL search, over the sandbox's state."""

from __future__ import annotations

import abc
import itertools
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gigforge.integrations.jira import _sandbox_jql as jql
from gigforge.integrations.jira._sandbox_wire import (
    ISSUE_TYPES,
    NO_ISSUE,
    SEARCH_MAX,
    STATUSES,
    Caller,
    Issue,
    as_int,
    flat,
    get_in,
    is_adf,
    is_date,
    not_settable,
    page_token,
    read_body,
    read_token,
    render_error,
    self_url,
    status_json,
    transitions_from,
)
from gigforge.integrations.jira.mapping import format_time


class IssueApi(abc.ABC):
    clock: Callable[[], float]
    zone: tzinfo
    projects: dict[str, dict[str, Any]]
    issues: dict[str, Issue]
    _ids: itertools.count[int]
    _numbers: dict[str, itertools.count[int]]

    @abc.abstractmethod
    async def _emit(self, event: str, issue: Issue) -> None: ...

    async def _create_issue(self, request: Request, caller: Caller) -> Response:
        body = await read_body(request)
        fields = body.get("fields") if isinstance(body, Mapping) else None
        if not isinstance(fields, Mapping):
            return render_error(
                400, "Invalid request payload. Refer to the REST API documentation and try again."
            )
        errors: dict[str, str] = {}
        project = get_in(fields.get("project"), "key")
        if project not in self.projects:
            errors["project"] = "valid project is required"
        issue_type = get_in(fields.get("issuetype"), "name")
        if issue_type not in ISSUE_TYPES:
            errors["issuetype"] = "Specify a valid issue type"
        summary = fields.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            errors["summary"] = "You must specify a summary of the issue."
        description = fields.get("description")
        if description is not None and not is_adf(description):
            errors["description"] = (
                "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
            )
        parent = get_in(fields.get("parent"), "key")
        if parent is not None:
            epic = self.issues.get(parent)
            if epic is None or epic.issue_type != "Epic" or epic.project != project:
                errors["parent"] = "Could not find issue by id or key."
        due = fields.get("duedate")
        if due is not None and not is_date(due):
            errors["duedate"] = "Error parsing date string: " + str(due)
        unknown = set(fields) - {
            "project",
            "issuetype",
            "summary",
            "description",
            "parent",
            "duedate",
        }
        errors.update({name: not_settable(name) for name in unknown})
        if errors:
            return render_error(400, "", errors)
        issue = self._new_issue(
            str(project), str(issue_type), str(summary), description, parent=parent, due=due
        )
        for prop in body.get("properties") or ():
            if isinstance(prop, Mapping) and isinstance(prop.get("key"), str):
                issue.properties[prop["key"]] = prop.get("value")
        await self._emit("jira:issue_created", issue)
        return JSONResponse(
            {"id": str(issue.id), "key": issue.key, "self": self_url(issue)}, status_code=201
        )

    async def _get_issue(self, request: Request, caller: Caller) -> Response:
        issue = self.issues.get(request.path_params["key"])
        if issue is None:
            return render_error(404, NO_ISSUE)
        wanted = request.query_params.get("fields")
        return JSONResponse(self._issue_json(issue, wanted.split(",") if wanted else None))

    async def _edit_issue(self, request: Request, caller: Caller) -> Response:
        issue = self.issues.get(request.path_params["key"])
        if issue is None:
            return render_error(404, NO_ISSUE)
        body = await read_body(request)
        fields = body.get("fields") if isinstance(body, Mapping) else None
        if not isinstance(fields, Mapping):
            return render_error(
                400, "Invalid request payload. Refer to the REST API documentation and try again."
            )
        errors = {
            name: not_settable(name)
            for name in fields
            if name not in {"summary", "description", "duedate", "parent"}
        }
        if "summary" in fields and not (
            isinstance(fields["summary"], str) and fields["summary"].strip()
        ):
            errors["summary"] = "You must specify a summary of the issue."
        if fields.get("description") is not None and not is_adf(fields["description"]):
            errors["description"] = (
                "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
            )
        if fields.get("duedate") is not None and not is_date(fields["duedate"]):
            errors["duedate"] = "Error parsing date string: " + str(fields["duedate"])
        parent = get_in(fields.get("parent"), "key")
        if "parent" in fields and parent is not None:
            epic = self.issues.get(parent)
            if epic is None or epic.issue_type != "Epic" or epic.project != issue.project:
                errors["parent"] = "Could not find issue by id or key."
        if errors:
            return render_error(400, "", errors)
        if "summary" in fields:
            issue.summary = fields["summary"]
        if "description" in fields:
            issue.description = fields["description"]
        if "duedate" in fields:
            issue.duedate = fields["duedate"]
        if "parent" in fields:
            issue.parent = parent
        self._touch(issue)
        await self._emit("jira:issue_updated", issue)
        return Response(status_code=204)

    async def _delete_issue(self, request: Request, caller: Caller) -> Response:
        key = request.path_params["key"]
        if key not in self.issues:
            return render_error(404, NO_ISSUE)
        issue = self._delete(key)
        await self._emit("jira:issue_deleted", issue)
        return Response(status_code=204)

    async def _transitions(self, request: Request, caller: Caller) -> Response:
        issue = self.issues.get(request.path_params["key"])
        if issue is None:
            return render_error(404, NO_ISSUE)
        return JSONResponse(
            {"expand": "transitions", "transitions": transitions_from(issue.status)}
        )

    async def _do_transition(self, request: Request, caller: Caller) -> Response:
        issue = self.issues.get(request.path_params["key"])
        if issue is None:
            return render_error(404, NO_ISSUE)
        body = await read_body(request)
        wanted = str(get_in(body.get("transition") if isinstance(body, Mapping) else None, "id"))
        offered = {t["id"]: t["to"]["id"] for t in transitions_from(issue.status)}
        if wanted not in offered:
            return render_error(400, f"Transition id '{wanted}' is not valid for this issue.")
        issue.status = offered[wanted]
        self._touch(issue)
        await self._emit("jira:issue_updated", issue)
        return Response(status_code=204)

    async def _get_property(self, request: Request, caller: Caller) -> Response:
        issue = self.issues.get(request.path_params["key"])
        name = request.path_params["property"]
        if issue is None:
            return render_error(404, NO_ISSUE)
        if name not in issue.properties:
            return render_error(404, f"The property with key '{name}' does not exist.")
        return JSONResponse({"key": name, "value": issue.properties[name]})

    async def _set_property(self, request: Request, caller: Caller) -> Response:
        issue = self.issues.get(request.path_params["key"])
        if issue is None:
            return render_error(404, NO_ISSUE)
        name = request.path_params["property"]
        existed = name in issue.properties
        issue.properties[name] = await read_body(request)
        return Response(status_code=200 if existed else 201)

    async def _search(self, request: Request, caller: Caller) -> Response:
        body = await read_body(request)
        if not isinstance(body, Mapping) or not isinstance(body.get("jql"), str):
            return render_error(
                400, "Invalid request payload. Refer to the REST API documentation and try again."
            )
        if "startAt" in body:
            return render_error(
                400, "Invalid request payload. Refer to the REST API documentation and try again."
            )
        text = body["jql"]
        try:
            query = jql.parse(text, self.zone)
        except jql.JqlError as exc:
            return render_error(400, str(exc))
        if not query.clauses:
            return render_error(
                400,
                "Unbounded JQL queries are not allowed here. "
                "Please add a search restriction to your query.",
            )
        size = max(1, min(as_int(body.get("maxResults"), 50), SEARCH_MAX))
        offset: int | None = 0
        token = body.get("nextPageToken")
        if token is not None:
            offset = read_token(token, text)
        if offset is None:
            return render_error(400, "The provided next page token is invalid or expired.")
        found = [i for i in self.issues.values() if jql.matches(query, flat(i))]
        order = query.order_by or "key"
        found.sort(key=lambda i: (flat(i).get(order) or "", i.id), reverse=query.descending)
        page = found[offset : offset + size]
        wanted = body.get("fields")
        answer: dict[str, Any] = {
            "issues": [
                self._issue_json(i, list(wanted) if isinstance(wanted, list) else ["id"])
                for i in page
            ],
            "isLast": offset + len(page) >= len(found),
        }
        if not answer["isLast"]:
            answer["nextPageToken"] = page_token(offset + len(page), text)
        return JSONResponse(answer)

    def _new_issue(
        self,
        project: str,
        issue_type: str,
        summary: str,
        description: Any,
        *,
        parent: str | None = None,
        due: str | None = None,
    ) -> Issue:
        number = next(self._numbers.setdefault(project, itertools.count(1)))
        now = datetime.fromtimestamp(self.clock(), UTC)
        issue = Issue(
            id=next(self._ids),
            key=f"{project}-{number}",
            project=project,
            issue_type=issue_type,
            summary=summary,
            description=description,
            status=STATUSES[0][0],
            created=now,
            updated=now,
            duedate=due,
            parent=parent,
        )
        self.issues[issue.key] = issue
        return issue

    def _touch(self, issue: Issue) -> None:
        issue.updated = datetime.fromtimestamp(self.clock(), UTC)

    def _delete(self, key: str) -> Issue:
        issue = self.issues.pop(key)
        for child in self.issues.values():
            if child.parent == key:
                child.parent = None
                self._touch(child)
        return issue

    def _issue_json(self, issue: Issue, wanted: list[str] | None) -> dict[str, Any]:
        type_id, level = ISSUE_TYPES[issue.issue_type]
        project = self.projects[issue.project]
        everything: dict[str, Any] = {
            "summary": issue.summary,
            "description": issue.description,
            "status": status_json(issue.status),
            "duedate": issue.duedate,
            "parent": (
                {"id": str(self.issues[issue.parent].id), "key": issue.parent}
                if issue.parent in self.issues
                else None
            ),
            "updated": format_time(issue.updated),
            "created": format_time(issue.created),
            "project": {"id": project["id"], "key": project["key"], "name": project["name"]},
            "issuetype": {"id": type_id, "name": issue.issue_type, "hierarchyLevel": level},
        }
        if everything["parent"] is None:
            del everything["parent"]
        names = set(wanted) if wanted else set(everything)
        return {
            "id": str(issue.id),
            "key": issue.key,
            "self": self_url(issue),
            "fields": {k: v for k, v in everything.items() if k in names},
        }
