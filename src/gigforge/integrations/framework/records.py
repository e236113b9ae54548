"""What the sync engine asks of a CRM or a project tool, in its own words.

Both kinds of tool are seen as typed records with normalized fields, a modification time and
an id, read incrementally (`changes`) and written idempotently (`upsert`). Webhooks are parsed
into `RemoteChange`s after their signature is checked; a tool whose webhooks need a handshake
(Asana's `X-Hook-Secret`) answers it through `WebhookReceipt.reply_headers`.

Normalized fields (every connector maps its own names to these and back):

- CRM `contact`: first_name, last_name, email, phone, company (the company record's id),
  source (lead attribution: marketplace, campaign, social post)
- CRM `company`: name, domain
- CRM `deal`: name, amount_minor, currency, stage (a stage id of `pipelines()`), pipeline,
  close_date (ISO date), contact, company (record ids)
- project tool `project`: name, description (an Asana project, a Trello board, a Jira epic)
- project tool `task`: title, description, status (a status id of `statuses()`), due
  (ISO date), project (the project's id)

A field a tool cannot hold is left out of what it returns, never made up.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class RecordKind(StrEnum):
    contact = "contact"
    company = "company"
    deal = "deal"
    project = "project"
    task = "task"


class RemoteRecord(BaseModel):
    kind: RecordKind
    id: str
    fields: Mapping[str, Any] = Field(default_factory=dict)
    updated_at: datetime = Field(description="The tool's own modification time of the record")
    deleted: bool = False
    url: str | None = Field(default=None, description="Where a person sees it in the tool")


class ChangePage(BaseModel):
    """Records changed since a time, oldest change first; `cursor` resumes the reading."""

    records: list[RemoteRecord]
    cursor: str | None = None
    has_more: bool = False


class ChangeAction(StrEnum):
    created = "created"
    updated = "updated"
    deleted = "deleted"


class RemoteChange(BaseModel):
    """One change a webhook announced. `fields` is what the webhook itself carried (often
    only ids: the engine reads the record when it needs the rest)."""

    kind: RecordKind
    id: str
    action: ChangeAction
    occurred_at: datetime
    event_id: str | None = Field(default=None, description="The tool's id of the event, if any")
    fields: Mapping[str, Any] = Field(default_factory=dict)
    parent_id: str | None = None


class WebhookReceipt(BaseModel):
    """A verified webhook request: its changes, and what to answer (Asana's handshake echoes
    `X-Hook-Secret`; `secret` is then the secret to keep for the subscription)."""

    changes: list[RemoteChange] = Field(default_factory=list)
    reply_headers: Mapping[str, str] = Field(default_factory=dict)
    secret: str | None = None


class Stage(BaseModel):
    id: str
    label: str
    closed: bool = False
    won: bool = False


class Pipeline(BaseModel):
    id: str
    label: str
    stages: list[Stage]


class Container(BaseModel):
    """Where projects live: an Asana workspace, a Trello organization (or the member's
    boards), a Jira project that holds the epics."""

    id: str
    name: str


class TaskStatus(BaseModel):
    """A state a task can be in: an Asana section (or its completed flag), a Trello list, a
    Jira status. `done` marks the ones that mean finished."""

    id: str
    name: str
    done: bool = False


class Subscription(BaseModel):
    id: str
    secret: str | None = None
    callback_url: str
