"""Settings: the audit log in plain words, newest first, a page at a time.

Records are the audit domain's own (by or about the viewer; every record for admins). This
module only words them: who did it, what they did, to what, when and from where. Unknown
actions still read as words, never as the stored JSON.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from gigforge.accounts.directory import Names
from gigforge.accounts.directory import directory as directory_service
from gigforge.accounts.scopes import Scope
from gigforge.audit.models import AuditRecord
from gigforge.audit.service import audit as audit_service
from gigforge.kit.money import minor_to_major
from gigforge.kit.pagination import PageParams
from gigforge.web.pages_settings_base import ReadingPage
from gigforge.web.rendering import DashboardRoute

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

PAGE_SIZE = 25
MAX_OFFSET = 1_000_000_000
ACTIONS = {
    "api_key.created": "Created an API key",
    "api_key.revoked": "Revoked an API key",
    "auth.login": "Signed in",
    "auth.login_failed": "Failed to sign in",
    "auth.password_reset": "Reset the password",
    "auth.password_reset_requested": "Asked for a password reset",
    "auth.session_revoked": "Ended a sign-in session",
    "auth.other_sessions_revoked": "Signed out every other session",
    "connection.created": "Connected an integration",
    "connection.updated": "Changed a connection",
    "connection.deleted": "Removed a connection",
    "connection.needs_reauth": "Lost access to a connection until you sign in to it again",
    "inbound_endpoint.created": "Created an inbound webhook",
    "inbound_endpoint.rotated": "Replaced an inbound webhook's secret",
    "inbound_endpoint.deleted": "Deleted an inbound webhook",
    "opportunity.outcome": "Recorded how an opportunity ended",
    "proposal.drafted": "Drafted a proposal",
    "proposal.approved": "Approved a proposal",
    "proposal.auto_approved": "Approved a proposal through the auto-approve rule",
    "proposal.auto_approve_changed": "Changed the auto-approve rule",
    "proposal.submitted": "Submitted a proposal",
    "proposal.failed": "Could not submit a proposal",
    "proposal.handed_off": "Handed a proposal over to be sent by hand",
    "proposal.withdrawn": "Withdrew a proposal",
    "user.registered": "Signed up",
    "user.email_changed": "Changed the email address",
    "user.password_changed": "Changed the password",
    "user.role_changed": "Changed an account's role",
    "user.activated": "Activated an account",
    "user.deactivated": "Deactivated an account",
    "vault.rotated": "Re-encrypted the stored secrets under a new key",
}
REASONS = {
    "logout": "signed out",
    "refresh_token_reuse": "a used sign-in token was presented again",
    "password_changed": "the password changed",
    "role_changed": "the role changed",
    "deactivated": "the account was deactivated",
    "signed_out_by_user": "signed out from the account page",
    "signed_out_elsewhere": "signed out everywhere else",
    "unknown_account": "no account has that email",
    "inactive": "the account is deactivated",
    "wrong_password": "wrong password",
    "hand_off": "sent by hand",
}
# Data already worded by the action or the target, or meaningless to a person.
_UNSHOWN = {"opportunity", "name", "integration", "source", "scopes", "was_enabled"}


@dataclass(frozen=True)
class Target:
    text: str
    href: str | None = None


@dataclass(frozen=True)
class Entry:
    record: AuditRecord
    actor: str
    action: str
    target: Target | None
    details: list[str]


def _words(name: str) -> str:
    return name.replace("_", " ").replace(".", ": ")


def _action(record: AuditRecord) -> str:
    return ACTIONS.get(record.action) or _words(record.action).capitalize()


def _actor(record: AuditRecord, names: Names, viewer_id: uuid.UUID) -> str:
    if record.actor_user_id is None:
        if record.action == "user.registered":
            who = "You" if record.user_id == viewer_id else "The new user"
        else:
            who = "Someone not signed in" if record.actor_ip else "Gigforge"
    elif record.actor_user_id == viewer_id:
        who = "You"
    else:
        who = names.users.get(record.actor_user_id, "Another user")
    if record.actor_api_key_id is not None:
        key = names.api_keys.get(record.actor_api_key_id)
        who += f", with the API key “{key}”" if key else ", with an API key"
    return who


def _target(record: AuditRecord, names: Names, viewer_id: uuid.UUID) -> Target | None:
    kind, data = record.target_type, record.data or {}
    own = record.user_id == viewer_id
    target_id = record.target_id
    if kind is None or target_id is None:
        return None
    if kind == "proposal":
        return Target("a proposal", f"/proposals/{target_id}" if own else None)
    if kind == "opportunity":
        return Target("an opportunity", f"/opportunities/{target_id}" if own else None)
    if kind == "api_key":
        return Target(f"“{data['name']}”") if data.get("name") else None
    if kind == "connection":
        integration, name = data.get("integration"), data.get("name")
        if integration and name:
            return Target(f"{integration} ({name})")
        return Target(str(integration)) if integration else None
    if kind == "inbound_endpoint":
        return Target(f"“{data['source']}”") if data.get("source") else None
    if kind == "user":
        try:
            user_id = uuid.UUID(target_id)
        except ValueError:
            return Target("an account")
        if user_id == viewer_id:
            # Done to yourself (signing in, changing your password): the action says it all.
            acted_alone = record.actor_user_id in (None, viewer_id)
            return None if acted_alone else Target("your account")
        return Target(names.users.get(user_id, "another account"))
    if kind == "auth_session":
        return Target("a sign-in session")
    if kind == "auto_approve_rule":
        return None
    return Target(_words(kind))


def _value(value: Any) -> str | None:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str | int | float):
        return REASONS.get(value, str(value)) if isinstance(value, str) else str(value)
    if isinstance(value, list) and all(isinstance(item, str | int | float) for item in value):
        return ", ".join(str(item) for item in value)
    return None


def _details(record: AuditRecord) -> list[str]:
    """The record's data as short phrases; nested values are left to the API."""
    data = record.data or {}
    if record.action == "proposal.auto_approve_changed" or "max_budget_minor" in data:
        parts = []
        if "enabled" in data:
            parts.append("on" if data["enabled"] else "off")
        if isinstance(data.get("max_budget_minor"), int):
            budget = minor_to_major(data["max_budget_minor"], "USD")
            parts.append(f"budgets up to {budget:,}")
        if isinstance(data.get("min_score"), int | float):
            parts.append(f"chance of winning at least {data['min_score']:.0%}")
        if isinstance(data.get("max_per_day"), int):
            parts.append(f"at most {data['max_per_day']} a day")
        return ["; ".join(parts)] if parts else []
    if record.action == "user.role_changed" and {"from", "to"} <= data.keys():
        return [f"from {data['from']} to {data['to']}"]
    details = []
    if isinstance(data.get("scopes"), list):
        details.append("permissions: " + ", ".join(map(str, data["scopes"])))
    for key, raw in data.items():
        if key in _UNSHOWN:
            continue
        shown = _value(raw)
        if shown is not None:
            details.append(f"{_words(key)}: {shown}")
    return details


def entries(records: Sequence[AuditRecord], names: Names, viewer_id: uuid.UUID) -> list[Entry]:
    return [
        Entry(
            record=record,
            actor=_actor(record, names, viewer_id),
            action=_action(record),
            target=_target(record, names, viewer_id),
            details=_details(record),
        )
        for record in records
    ]


def _offset(raw: str) -> int:
    try:
        offset = int(raw)
    except ValueError:
        return 0
    return min(max(offset, 0), MAX_OFFSET) // PAGE_SIZE * PAGE_SIZE


@router.get("/settings/audit")
async def audit_page(page: ReadingPage, offset: str = "0") -> Response:
    principal = page.viewer.principal
    if not page.can(Scope.audit_read):
        return page.forbidden("read the audit log")
    params = PageParams(limit=PAGE_SIZE, offset=_offset(offset))
    records, total = await audit_service.list(
        page.session,
        visible_to=None if principal.is_admin else principal.user_id,
        page=params,
    )
    names = await directory_service.names(
        page.session,
        principal,
        user_ids=[
            *(record.actor_user_id for record in records),
            *(
                uuid.UUID(record.target_id)
                for record in records
                if record.target_type == "user" and record.target_id and _is_uuid(record.target_id)
            ),
        ],
        api_key_ids=[record.actor_api_key_id for record in records],
    )
    return await page.render(
        "settings_audit.html",
        {
            "entries": entries(records, names, principal.user_id),
            "total": total,
            "offset": params.offset,
            "page_size": PAGE_SIZE,
            "everyone": principal.is_admin,
        },
    )


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
