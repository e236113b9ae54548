"""The failures an account endpoint can answer with."""

from __future__ import annotations

from gigforge.kit.errors import Conflict, Forbidden, TooManyRequests, Unauthorized, ValidationFailed


class InvalidCredentials(Unauthorized):
    code = "invalid-credentials"
    title = "Email or password is incorrect"
    keeps_changes = True


class WrongPassword(Forbidden):
    """A signed-in user's password, asked again before something sensitive, was wrong."""

    code = "wrong-password"
    title = "The password is not right"
    keeps_changes = True


class InvalidToken(Unauthorized):
    code = "invalid-token"
    title = "The token is invalid or expired"


class RefreshTokenReused(Unauthorized):
    """A rotated refresh token came back: the whole family is revoked (RFC 9700 4.14.2)."""

    code = "refresh-token-reused"
    title = "The refresh token was already used; the session has been signed out"
    keeps_changes = True


class InsufficientScope(Forbidden):
    code = "insufficient-scope"
    title = "The credentials lack a required scope"


class EmailTaken(Conflict):
    code = "email-taken"
    title = "An account with this email already exists"


class LastAdmin(Conflict):
    code = "last-admin"
    title = "The last active admin cannot be demoted or deactivated"


class RegistrationClosed(Forbidden):
    code = "registration-closed"
    title = "Registration is closed on this server"


class WeakPassword(ValidationFailed):
    code = "weak-password"
    title = "The password does not meet the policy"


class LoginThrottled(TooManyRequests):
    code = "login-throttled"
    title = "Too many failed sign-ins; try again later"


class RegistrationThrottled(TooManyRequests):
    code = "registration-throttled"
    title = "Too many sign-ups from this address; try again later"


class CurrentPasswordIncorrect(Forbidden):
    code = "current-password-incorrect"
    title = "The current password is incorrect"
