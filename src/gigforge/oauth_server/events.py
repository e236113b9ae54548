"""The events the OAuth authorization server publishes (see `kit.outbox`)."""

from __future__ import annotations

import uuid

from gigforge.kit.outbox import EventPayload, event_type

_IDS = {
    "app_id": "01939a2e-5f62-7045-8c76-33b5ea260ff4",
    "grant_id": "01939a2d-1b20-7c4e-9a51-0e2d1f6b8a77",
}


@event_type(
    "oauth.app_authorized",
    summary="The user let a third-party app act for them with the listed scopes",
    example={**_IDS, "client_id": "gfc_7Qd1x0aQkTfM3w", "scopes": ["jobs:read"]},
)
class OAuthAppAuthorized(EventPayload):
    app_id: uuid.UUID
    grant_id: uuid.UUID
    client_id: str
    scopes: list[str]


@event_type(
    "oauth.grant_revoked",
    summary="A third-party app's access ended: revoked by the user, by the app, or because a "
    "used refresh token came back",
    example={**_IDS, "client_id": "gfc_7Qd1x0aQkTfM3w", "reason": "user"},
)
class OAuthGrantRevoked(EventPayload):
    app_id: uuid.UUID
    grant_id: uuid.UUID
    client_id: str
    reason: str
