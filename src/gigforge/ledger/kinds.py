"""The ledger's vocabulary: kinds of account and transaction, and the states of a hold."""

from __future__ import annotations

import enum


class AccountKind(enum.StrEnum):
    available = "available"  # the user's money, free to withdraw
    pending = "pending"  # paid by a client, not yet released to the user
    reserved = "reserved"  # held for a payout on its way out
    fees = "fees"  # fees the user has paid (platform and processor)
    owed = "owed"  # what the user owes after a refund or dispute took more than was there
    external = "external"  # the outside world, one per provider: where money comes from and goes


#: Kinds whose balance may never go below zero.
NON_NEGATIVE = frozenset({AccountKind.available, AccountKind.pending, AccountKind.reserved})


class TransactionKind(enum.StrEnum):
    payment = "payment"  # a client's payment arrived (minus the platform's fee)
    release = "release"  # pending money became the user's (the transfer to them succeeded)
    refund = "refund"  # money went back to a client
    dispute = "dispute"  # a client disputed a payment; the provider took the amount
    dispute_won = "dispute_won"  # a dispute closed in the user's favour; the amount came back
    hold = "hold"  # money reserved for a payout
    payout = "payout"  # a payout left (a hold posted)
    release_hold = "release_hold"  # a payout failed or was declined (a hold voided)
    adjustment = "adjustment"  # a correction entered by an admin, with its reason


class HoldStatus(enum.StrEnum):
    pending = "pending"
    posted = "posted"
    voided = "voided"
