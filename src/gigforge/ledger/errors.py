"""The ledger's errors: each is a problem+json answer."""

from __future__ import annotations

from gigforge.kit.errors import Conflict, NotFound, ValidationFailed


class UnbalancedTransaction(ValidationFailed):
    code = "unbalanced-transaction"
    title = "A transaction's postings must sum to zero in each currency"


class InsufficientFunds(ValidationFailed):
    code = "insufficient-funds"
    title = "Not enough money in the account"


class IdempotencyConflict(Conflict):
    code = "idempotency-key-reused"
    title = "This idempotency key was used for a different transaction"


class TransactionNotFound(NotFound):
    code = "transaction-not-found"
    title = "No such transaction"


class HoldNotFound(NotFound):
    code = "hold-not-found"
    title = "No such hold"


class HoldSettled(Conflict):
    code = "hold-settled"
    title = "The hold was already settled the other way"
