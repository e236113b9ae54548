"""The failures the OAuth app and authorization endpoints answer with (problem+json).

The protocol endpoints themselves (token, revocation, introspection) answer with RFC 6749's
own JSON errors, rendered by authlib."""

from __future__ import annotations

from gigforge.kit.errors import NotFound, ValidationFailed


class AppNotFound(NotFound):
    code = "oauth-app-not-found"
    title = "No such OAuth app"


class AuthorizationNotFound(NotFound):
    code = "oauth-authorization-not-found"
    title = "No such authorized app"


class InvalidAppSettings(ValidationFailed):
    code = "oauth-app-invalid"
    title = "The app's settings are not valid"
