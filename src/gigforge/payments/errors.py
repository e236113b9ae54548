"""The payments domain's errors: each is a problem+json answer."""

from __future__ import annotations

from gigforge.kit.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    ValidationFailed,
)


class PaymentsNotConfigured(ServiceUnavailable):
    code = "payments-not-configured"
    title = "This server has no payment provider configured"


class InvoiceNotFound(NotFound):
    code = "invoice-not-found"
    title = "No such invoice"


class PayoutNotFound(NotFound):
    code = "payout-not-found"
    title = "No such payout"


class BankAccountNotFound(NotFound):
    code = "bank-account-not-found"
    title = "No such bank account"


class InvoiceNotEditable(Conflict):
    code = "invoice-not-editable"
    title = "An issued invoice cannot change; issue a credit note to correct it"


class InvalidInvoiceState(Conflict):
    code = "invalid-invoice-state"
    title = "The invoice cannot do that in its current state"


class InvalidInvoice(ValidationFailed):
    code = "invalid-invoice"
    title = "The invoice is not valid"


class InvalidBankAccount(ValidationFailed):
    code = "invalid-bank-account"
    title = "The bank account details are not valid"


class PayoutMethodUnsupported(ValidationFailed):
    code = "payout-method-unsupported"
    title = "No connected payment provider supports this payout method"


class InvalidPayoutState(Conflict):
    code = "invalid-payout-state"
    title = "The payout cannot do that in its current state"


class PayoutAccountMissing(Conflict):
    code = "payout-account-missing"
    title = "Connect a payout account first"


class SecondFactorRequired(Forbidden):
    code = "second-factor-required"
    title = "Confirm with your password to approve a payout"


class WebhookRejected(BadRequest):
    code = "webhook-rejected"
    title = "The webhook could not be verified"
