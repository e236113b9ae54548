"""Roles and the scopes they grant; tokens and API keys carry scopes, endpoints require them."""

from enum import StrEnum


class Scope(StrEnum):
    users_read = "users:read"
    users_write = "users:write"
    api_keys_read = "api_keys:read"
    api_keys_write = "api_keys:write"
    audit_read = "audit:read"
    connections_read = "connections:read"
    connections_write = "connections:write"
    jobs_read = "jobs:read"
    jobs_write = "jobs:write"
    events_read = "events:read"
    webhooks_read = "webhooks:read"
    webhooks_write = "webhooks:write"
    certifications_read = "certifications:read"
    certifications_write = "certifications:write"
    payments_read = "payments:read"
    payments_write = "payments:write"
    admin = "admin"


class Role(StrEnum):
    admin = "admin"
    member = "member"
    viewer = "viewer"


_READ = frozenset(scope for scope in Scope if scope.value.endswith(":read"))
_WRITE = frozenset(scope for scope in Scope if scope.value.endswith(":write"))

ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.viewer: _READ,
    Role.member: _READ | _WRITE,
    Role.admin: _READ | _WRITE | {Scope.admin},
}


def scopes_for(role: Role) -> frozenset[Scope]:
    return ROLE_SCOPES[role]
