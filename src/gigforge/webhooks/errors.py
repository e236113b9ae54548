"""The errors of the webhooks domain."""

from __future__ import annotations

from gigforge.kit.errors import Conflict, NotFound, ValidationFailed


class EndpointNotFound(NotFound):
    code = "webhook-endpoint-not-found"
    title = "No such webhook endpoint"


class MessageNotFound(NotFound):
    code = "webhook-message-not-found"
    title = "No webhook message for this event"


class InvalidEventFilter(ValidationFailed):
    code = "webhook-event-filter-invalid"
    title = "The event type filter names no known event type"


class ReservedHeader(ValidationFailed):
    code = "webhook-header-reserved"
    title = "This header is set by Gigforge and cannot be overridden"


class InvalidHeader(ValidationFailed):
    code = "webhook-header-invalid"
    title = "This custom header is not valid"


class EndpointDisabled(Conflict):
    code = "webhook-endpoint-disabled"
    title = "This webhook endpoint is disabled"
