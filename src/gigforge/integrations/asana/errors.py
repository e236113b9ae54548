"""Asana's failures in the framework's error tree, keeping what Asana said about them."""

from __future__ import annotations

from gigforge.integrations.framework.errors import Permanent


class AsanaAPIError(Permanent):
    """Asana refused a request (https://developers.asana.com/docs/errors); `detail` carries
    Asana's own message, `asana_help` the pointer it sent with it."""

    def __init__(
        self,
        detail: str,
        *,
        integration: str,
        status: int | None,
        asana_message: str | None = None,
        asana_help: str | None = None,
    ) -> None:
        self.asana_message = asana_message
        self.asana_help = asana_help
        extensions = {
            key: value
            for key, value in {"asana_message": asana_message, "asana_help": asana_help}.items()
            if value is not None
        }
        super().__init__(detail, integration=integration, status=status, **extensions)


class AsanaPayloadError(Permanent):
    """Asana answered with something that is not the documented shape."""

    code = "integration-unexpected-payload"
    title = "The third-party service answered with an unexpected payload"


class WebhookSignatureError(Permanent):
    """The request is not provably from Asana (or is older than Asana would ever send it).

    Rendered as 401 to the sender, which is how Asana's docs say to refuse a delivery whose
    signature does not match."""

    status_code = 401
    code = "integration-webhook-signature"
    title = "The webhook signature could not be verified"


class WebhookPayloadError(Permanent):
    status_code = 400
    code = "integration-webhook-payload"
    title = "The webhook body is not an Asana event list"
