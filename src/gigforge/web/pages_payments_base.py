"""What the payments pages share: the write check, the platform, the labels, and undoing a
refused action before its page is shown again.

A page answers a refused action (a `GigforgeError`) with HTML instead of raising, so the
request's unit of work would commit whatever the service wrote before refusing; `undo` rolls
it back first, as raising would have (errors marked `keeps_changes`, such as a wrong
password, keep their records), and reloads the signed-in user the page header shows.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import status
from starlette.responses import Response

from gigforge.accounts.scopes import Scope
from gigforge.kit.errors import GigforgeError, ValidationFailed
from gigforge.kit.money import InvalidAmount, parse_major_units
from gigforge.payments.models import InvoiceStatus, PayoutStatus
from gigforge.payments.platform import PaymentsPlatform
from gigforge.web.pages_proposals import Page
from gigforge.web.rendering import error_page, needs_attention

INVOICE_LABELS: Final = {
    InvoiceStatus.draft: "Draft",
    InvoiceStatus.issued: "Issued, waiting for payment",
    InvoiceStatus.paid: "Paid",
    InvoiceStatus.void: "Void",
}
INVOICE_BADGES: Final = {
    InvoiceStatus.draft: "draft",
    InvoiceStatus.issued: "approved",
    InvoiceStatus.paid: "submitted",
    InvoiceStatus.void: "withdrawn",
}
PAYOUT_LABELS: Final = {
    PayoutStatus.awaiting_approval: "Waiting for your approval",
    PayoutStatus.approved: "Approved, queued to send",
    PayoutStatus.sending: "Being sent",
    PayoutStatus.in_transit: "On its way to the bank",
    PayoutStatus.paid: "Paid",
    PayoutStatus.failed: "Failed",
    PayoutStatus.declined: "Declined",
}
PAYOUT_BADGES: Final = {
    PayoutStatus.awaiting_approval: "handed_off",
    PayoutStatus.approved: "approved",
    PayoutStatus.sending: "approved",
    PayoutStatus.in_transit: "approved",
    PayoutStatus.paid: "submitted",
    PayoutStatus.failed: "failed",
    PayoutStatus.declined: "withdrawn",
}
POLL_SECONDS: Final = 2


class FormProblem(ValidationFailed):
    """A form field the page itself refuses before any service sees it."""

    code = "invalid-form"
    title = "The form is not valid"


def can_write(page: Page) -> bool:
    return Scope.payments_write in page.viewer.principal.scopes


def platform_of(page: Page) -> PaymentsPlatform:
    platform: PaymentsPlatform = page.request.app.state.payments
    return platform


def public_url(page: Page) -> str:
    return page.settings.public_url.rstrip("/")


def amount_minor(text: str, currency: str, what: str = "The amount") -> int:
    """An amount as typed ("1,500.00"), in the currency's minor units."""
    try:
        return parse_major_units(text, currency)
    except InvalidAmount as exc:
        raise FormProblem(f"{what}: {exc}") from None


async def undo(page: Page, exc: GigforgeError) -> None:
    """Discard what a refused action wrote, unless the error's records are its point."""
    if exc.keeps_changes:
        return
    await page.session.rollback()
    await page.session.refresh(page.viewer.principal.user)


async def base_context(page: Page) -> dict[str, Any]:
    return {
        "viewer": page.viewer,
        "notices": await needs_attention(page.session, page.viewer, page.settings),
        "can_write": can_write(page),
    }


def forbidden(page: Page) -> Response:
    return error_page(
        page.request,
        status.HTTP_403_FORBIDDEN,
        "Not allowed",
        "Your role can read payments but not change them.",
    )


def missing(page: Page, what: str) -> Response:
    return error_page(
        page.request,
        status.HTTP_404_NOT_FOUND,
        f"No such {what}",
        "It does not exist or belongs to someone else.",
    )
