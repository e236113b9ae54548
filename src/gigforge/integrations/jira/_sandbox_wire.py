"""The Jira sandbox's wire: its constants, state records, error envelope and small helpers."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gigforge.integrations.jira import _sandbox_jql as jql

SANDBOX_EMAIL = "dev@gigforge.test"
SANDBOX_API_TOKEN = "sbx-jira-api-token"  # noqa: S105 - the sandbox's own test credential
SANDBOX_CLIENT_ID = "sbx-jira-client"
SANDBOX_CLIENT_SECRET = "sbx-jira-client-secret-4c1d8e2f9a7b6c5d"  # noqa: S105 - the sandbox's own test secret
SANDBOX_CLOUD_ID = "1f3c2b9a-5d4e-4c3b-9a8f-000000000001"
SANDBOX_SITE = "https://gigforge-sandbox.atlassian.net"
ACCOUNT_ID = "712020:0f2b0f4c-5a1e-4f7a-9c11-5a9d1c0e0001"
TIME_ZONE = "Europe/Berlin"
STATUSES = (
    ("10000", "To Do", "new"),
    ("3", "In Progress", "indeterminate"),
    ("10001", "Done", "done"),
)
ISSUE_TYPES = {"Epic": ("10002", 1), "Task": ("10003", 0)}
SEARCH_MAX = 100
PROJECT_PAGE_MAX = 50
UNAUTHENTICATED = "Client must be authenticated to access this resource."
NO_ISSUE = "Issue does not exist or you do not have permission to see it."
WEBHOOK_JQL_FIELDS = {"project", "issuetype", "status", "key", "issuekey"}

Handler = Callable[[Request, "Caller"], Awaitable[Response]]


def render_error(status: int, message: str, errors: Mapping[str, str] | None = None) -> Response:
    """Jira's error envelope; the renderer the fault injector uses too."""
    return JSONResponse(
        {"errorMessages": [message] if message else [], "errors": dict(errors or {})},
        status_code=status,
    )


def render_fault(status: int, message: str) -> Response:
    response = render_error(status, message)
    if status == 429:
        response.headers["RateLimit-Reason"] = "jira-burst-based"
    return response


@dataclass
class Caller:
    credential: str
    oauth: bool


@dataclass
class Issue:
    id: int
    key: str
    project: str
    issue_type: str
    summary: str
    description: Any
    status: str
    created: datetime
    updated: datetime
    duedate: str | None = None
    parent: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass
class Webhook:
    id: int
    url: str
    events: tuple[str, ...]
    project: str | None
    secret: str | None = None  # admin webhooks only


@dataclass
class WebhookDelivery:
    url: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def status_json(status_id: str) -> dict[str, Any]:
    for sid, name, category in STATUSES:
        if sid == status_id:
            return {
                "id": sid,
                "name": name,
                "statusCategory": {
                    "key": category,
                    "name": {"new": "To Do", "indeterminate": "In Progress", "done": "Done"}[
                        category
                    ],
                },
            }
    raise KeyError(status_id)


def transitions_from(current: str) -> list[dict[str, Any]]:
    """The sandbox's workflow lets any status move to any other."""
    return [
        {"id": f"{index + 1}1", "name": name, "to": status_json(sid), "hasScreen": False}
        for index, (sid, name, _) in enumerate(STATUSES)
        if sid != current
    ]


def webhook_filter(text: Any, zone: tzinfo) -> tuple[str | None, str | None]:
    """The project a dynamic webhook's JQL names; Jira accepts only a few fields there."""
    if not isinstance(text, str) or not text.strip():
        return None, "The JQL filter is required."
    try:
        query = jql.parse(text, zone)
    except jql.JqlError as exc:
        return None, str(exc)
    project: str | None = None
    for clause in query.clauses:
        if clause.field not in WEBHOOK_JQL_FIELDS:
            return (
                None,
                f"Invalid JQL: the field '{clause.field}' is not supported in webhook filters.",
            )
        if clause.field == "project":
            project = str(clause.value).upper()
    return project, None


def flat(issue: Issue) -> dict[str, Any]:
    return {
        "key": issue.key,
        "project": issue.project,
        "parent": issue.parent,
        "issuetype": issue.issue_type,
        "status": issue.status,
        "updated": issue.updated,
        "created": issue.created,
        "properties": issue.properties,
    }


def page_token(offset: int, text: str) -> str:
    raw = json.dumps({"o": offset, "q": hashlib.sha256(text.encode()).hexdigest()[:16]})
    return base64.urlsafe_b64encode(raw.encode()).decode()


def read_token(token: Any, text: str) -> int | None:
    try:
        raw = json.loads(base64.urlsafe_b64decode(str(token)))
    except (ValueError, TypeError):
        return None
    if not isinstance(raw, dict) or raw.get("q") != hashlib.sha256(text.encode()).hexdigest()[:16]:
        return None
    offset = raw.get("o")
    return offset if isinstance(offset, int) and offset >= 0 else None


def all_events() -> tuple[str, ...]:
    return ("jira:issue_created", "jira:issue_updated", "jira:issue_deleted")


def self_url(issue: Issue) -> str:
    return f"{SANDBOX_SITE}/rest/api/3/issue/{issue.id}"


def is_adf(value: Any) -> bool:
    return isinstance(value, Mapping) and value.get("type") == "doc" and value.get("version") == 1


def is_date(value: Any) -> bool:
    try:
        datetime.strptime(str(value), "%Y-%m-%d")
    except ValueError:
        return False
    return True


def not_settable(name: str) -> str:
    return f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."


def get_in(value: Any, name: str) -> Any:
    return value.get(name) if isinstance(value, Mapping) else None


def as_int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def iso_minute(moment: float) -> str:
    at = datetime.fromtimestamp(moment, UTC) + timedelta(seconds=59)
    return at.strftime("%Y-%m-%dT%H:%MZ")


async def read_body(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        return None
