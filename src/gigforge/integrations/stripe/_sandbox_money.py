"""The sandbox's money: payments with their fees, refunds, disputes, transfers and the balance
history of the platform and of each connected account. Only `sandbox.py` uses this module.

Every movement is a balance transaction on the balance it changes, so the sum of an account's
history is its balance, as in Stripe: a card payment adds its amount less Stripe's fee (2.9% +
30 cents), a refund takes its amount back, a dispute withdraws the amount and a 15.00 fee, a
transfer moves money from the platform to a connected account and a transfer reversal moves
it back (`transfer_refund` on the platform, `payment_refund` on the account). Funds are
available at once.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from gigforge.integrations.stripe._sandbox_wire import (
    BALANCE_INSUFFICIENT,
    Failure,
    Params,
    expands,
    integer,
    list_page,
    missing,
    money,
    new_id,
    no_such,
    required,
    stripe_fee,
)

if TYPE_CHECKING:
    from gigforge.integrations.stripe.sandbox import StripeSandbox

DISPUTE_FEE = 1_500


@dataclass
class Payment:
    intent_id: str
    charge_id: str
    amount: int
    currency: str
    metadata: dict[str, Any]
    created: int
    refunded: int = 0


class Money:
    def __init__(self, sandbox: StripeSandbox) -> None:
        self.sandbox = sandbox

    # Balances

    def balance_of(self, account: str | None) -> dict[str, int]:
        if account is None:
            return self.sandbox.available
        return self.sandbox.balances.setdefault(account, {})

    def book(
        self,
        account: str | None,
        *,
        amount: int,
        currency: str,
        kind: str,
        source: str | None,
        fee: int = 0,
        description: str | None = None,
        category: str | None = None,
        created: int | None = None,
    ) -> Params:
        """One balance transaction, applied to the balance it belongs to."""
        when = int(self.sandbox.clock()) if created is None else created
        transaction: Params = {
            "id": new_id("txn"),
            "object": "balance_transaction",
            "amount": amount,
            "available_on": when,
            "created": when,
            "currency": currency,
            "description": description,
            "exchange_rate": None,
            "fee": fee,
            "fee_details": (
                [
                    {
                        "amount": fee,
                        "application": None,
                        "currency": currency,
                        "description": "Stripe processing fees",
                        "type": "stripe_fee",
                    }
                ]
                if fee
                else []
            ),
            "net": amount - fee,
            "reporting_category": category or kind,
            "source": source,
            "status": "available",
            "type": kind,
        }
        balance = self.balance_of(account)
        balance[currency] = balance.get(currency, 0) + amount - fee
        self.sandbox.balance_transactions.setdefault(account, []).append(transaction)
        self.sandbox.objects[transaction["id"]] = transaction
        return transaction

    def list_balance_transactions(self, request: Request, params: Params) -> Params:
        account = request.headers.get("stripe-account")
        history = self.sandbox.balance_transactions.get(account, [])
        page = list_page(history, params, "/v1/balance_transactions", "balance transaction")
        page["data"] = [copy.deepcopy(item) for item in page["data"]]
        if expands(params, "data.source"):
            for item in page["data"]:
                source = self.sandbox.objects.get(item["source"] or "")
                if source is not None:
                    item["source"] = copy.deepcopy(source)
        return page

    # Payments

    def new_payment(
        self,
        amount: int,
        currency: str,
        metadata: dict[str, Any],
        *,
        created: int | None = None,
        customer: str | None = None,
        description: str | None = None,
    ) -> Payment:
        """A card payment that succeeded: its PaymentIntent, Charge and balance transaction."""
        when = int(self.sandbox.clock()) if created is None else created
        payment = Payment(new_id("pi"), new_id("ch"), amount, currency, dict(metadata), when)
        fee = stripe_fee(amount)
        transaction = self.book(
            None,
            amount=amount,
            fee=fee,
            currency=currency,
            kind="charge",
            category="charge",
            source=payment.charge_id,
            description=description,
            created=when,
        )
        self.sandbox.objects[payment.intent_id] = {
            "id": payment.intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_received": amount,
            "capture_method": "automatic_async",
            "created": when,
            "currency": currency,
            "customer": customer,
            "description": description,
            "latest_charge": payment.charge_id,
            "livemode": False,
            "metadata": dict(metadata),
            "payment_method_types": ["card"],
            "status": "succeeded",
        }
        self.sandbox.objects[payment.charge_id] = {
            "id": payment.charge_id,
            "object": "charge",
            "amount": amount,
            "amount_captured": amount,
            "amount_refunded": 0,
            "balance_transaction": transaction["id"],
            "captured": True,
            "created": when,
            "currency": currency,
            "customer": customer,
            "description": description,
            "disputed": False,
            "livemode": False,
            "metadata": dict(metadata),
            "paid": True,
            "payment_intent": payment.intent_id,
            "refunded": False,
            "status": "succeeded",
        }
        self.sandbox.payments[payment.intent_id] = payment
        return payment

    def announce(
        self, payment: Payment, *, created: int | None = None, deliver: bool = True
    ) -> None:
        """The events Stripe sends for a successful card payment, in its order."""
        objects = self.sandbox.objects
        for event_type, object_id in (
            ("payment_intent.succeeded", payment.intent_id),
            ("charge.succeeded", payment.charge_id),
        ):
            self.sandbox.emit(event_type, objects[object_id], created=created, deliver=deliver)

    def find(self, payment_id: str) -> Payment | None:
        return next(
            (p for p in self.sandbox.payments.values() if payment_id in (p.intent_id, p.charge_id)),
            None,
        )

    # Refunds

    def create_refund(self, request: Request, params: Params) -> Params:
        intent_id, charge_id = params.get("payment_intent"), params.get("charge")
        if not intent_id and not charge_id:
            raise missing("payment_intent")
        name, wanted = ("payment_intent", intent_id) if intent_id else ("charge", charge_id)
        payment = self.find(str(wanted))
        if payment is None:
            raise no_such(name, str(wanted), param=name)
        remaining = payment.amount - payment.refunded
        amount = integer(params, "amount", minimum=1) if "amount" in params else remaining
        return self.refund(
            payment, amount, metadata=params.get("metadata") or {}, reason=params.get("reason")
        )

    def refund(
        self, payment: Payment, amount: int, *, metadata: dict[str, Any], reason: Any = None
    ) -> Params:
        remaining = payment.amount - payment.refunded
        if remaining == 0:
            raise Failure(
                400,
                f"Charge {payment.charge_id} has already been refunded.",
                code="charge_already_refunded",
                saved=True,
            )
        if amount > remaining:
            raise Failure(
                400,
                f"Refund amount ({money(amount, payment.currency)}) is greater than unrefunded "
                f"amount on charge ({money(remaining, payment.currency)})",
                code="amount_too_large",
                param="amount",
                saved=True,
            )
        refund_id = new_id("re")
        transaction = self.book(
            None, amount=-amount, currency=payment.currency, kind="refund", source=refund_id
        )
        payment.refunded += amount
        refund: Params = {
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "balance_transaction": transaction["id"],
            "charge": payment.charge_id,
            "created": int(self.sandbox.clock()),
            "currency": payment.currency,
            "metadata": metadata,
            "payment_intent": payment.intent_id,
            "reason": reason,
            "receipt_number": None,
            "status": "succeeded",
        }
        self.sandbox.refunds[refund_id] = refund
        self.sandbox.objects[refund_id] = refund
        charge = self.sandbox.objects[payment.charge_id]
        previous = {"amount_refunded": charge["amount_refunded"], "refunded": charge["refunded"]}
        charge.update(amount_refunded=payment.refunded, refunded=payment.refunded == payment.amount)
        self.sandbox.emit("charge.refunded", charge, previous=previous)
        self.sandbox.emit("refund.created", refund)
        return refund

    # Disputes

    def open_dispute(self, payment_intent_id: str, *, reason: str = "fraudulent") -> Params:
        payment = self.find(payment_intent_id)
        if payment is None:
            raise ValueError(f"no payment {payment_intent_id!r} in the sandbox")
        charge = self.sandbox.objects[payment.charge_id]
        if charge["disputed"]:
            raise ValueError(f"charge {payment.charge_id} is already disputed")
        amount = payment.amount - payment.refunded
        dispute_id = new_id("du")
        withdrawal = self.book(
            None,
            amount=-amount,
            fee=DISPUTE_FEE,
            currency=payment.currency,
            kind="adjustment",
            category="dispute",
            source=dispute_id,
            description=f"Chargeback withdrawal for {payment.charge_id}",
        )
        dispute: Params = {
            "id": dispute_id,
            "object": "dispute",
            "amount": amount,
            "balance_transactions": [withdrawal],
            "charge": payment.charge_id,
            "created": int(self.sandbox.clock()),
            "currency": payment.currency,
            "is_charge_refundable": False,
            "livemode": False,
            "metadata": {},
            "payment_intent": payment.intent_id,
            "reason": reason,
            "status": "needs_response",
        }
        self.sandbox.objects[dispute_id] = dispute
        charge["disputed"] = True
        self.sandbox.emit("charge.dispute.created", dispute)
        self.sandbox.emit("charge.dispute.funds_withdrawn", dispute)
        return dispute

    def close_dispute(self, dispute_id: str, *, won: bool) -> Params:
        dispute = self.sandbox.objects.get(dispute_id)
        if dispute is None or dispute.get("object") != "dispute":
            raise ValueError(f"no dispute {dispute_id!r} in the sandbox")
        if dispute["status"] in ("won", "lost"):
            raise ValueError(f"dispute {dispute_id} is already {dispute['status']}")
        if won:
            reinstated = self.book(
                None,
                amount=dispute["amount"],
                fee=-DISPUTE_FEE,
                currency=dispute["currency"],
                kind="adjustment",
                category="dispute_reversal",
                source=dispute_id,
                description=f"Chargeback reversal for {dispute['charge']}",
            )
            dispute["balance_transactions"].append(reinstated)
        dispute["status"] = "won" if won else "lost"
        self.sandbox.emit("charge.dispute.closed", dispute)
        if won:
            self.sandbox.emit("charge.dispute.funds_reinstated", dispute)
        return dispute

    # Transfers

    def create_transfer(self, request: Request, params: Params) -> Params:
        amount = integer(params, "amount", minimum=1)
        currency = required(params, "currency")
        destination = required(params, "destination")
        if destination not in self.sandbox.accounts:
            raise no_such("destination", destination, param="destination")
        if self.sandbox.available.get(currency, 0) < amount:
            raise Failure(400, BALANCE_INSUFFICIENT, code="balance_insufficient", saved=True)
        transfer_id, payment_id = new_id("tr"), new_id("py")
        outgoing = self.book(
            None, amount=-amount, currency=currency, kind="transfer", source=transfer_id
        )
        self.book(destination, amount=amount, currency=currency, kind="payment", source=payment_id)
        transfer: Params = {
            "id": transfer_id,
            "object": "transfer",
            "amount": amount,
            "amount_reversed": 0,
            "balance_transaction": outgoing["id"],
            "created": int(self.sandbox.clock()),
            "currency": currency,
            "description": params.get("description"),
            "destination": destination,
            "destination_payment": payment_id,
            "livemode": False,
            "metadata": params.get("metadata") or {},
            "reversals": {
                "object": "list",
                "data": [],
                "has_more": False,
                "total_count": 0,
                "url": f"/v1/transfers/{transfer_id}/reversals",
            },
            "reversed": False,
            "source_transaction": params.get("source_transaction"),
            "source_type": "card",
            "transfer_group": params.get("transfer_group"),
        }
        self.sandbox.transfers[transfer_id] = transfer
        self.sandbox.objects[transfer_id] = transfer
        self.sandbox.objects[payment_id] = {
            "id": payment_id,
            "object": "charge",
            "amount": amount,
            "currency": currency,
            "livemode": False,
            "metadata": {},
            "source_transfer": transfer_id,
            "status": "succeeded",
        }
        self.sandbox.emit("transfer.created", transfer)
        return transfer

    def create_reversal(self, request: Request, params: Params) -> Params:
        """https://docs.stripe.com/api/transfer_reversals/create: all that is left of the
        transfer unless `amount` says less; the connected account must have the money."""
        transfer_id = request.path_params["transfer_id"]
        transfer = self.sandbox.transfers.get(transfer_id)
        if transfer is None:
            raise no_such("transfer", transfer_id)
        remaining = transfer["amount"] - transfer["amount_reversed"]
        amount = integer(params, "amount", minimum=1) if "amount" in params else remaining
        if remaining == 0:
            raise Failure(400, f"The transfer {transfer_id} is already fully reversed.", saved=True)
        currency, destination = transfer["currency"], transfer["destination"]
        if amount > remaining:
            raise Failure(
                400,
                f"Reversal amount ({amount}) is greater than the unreversed amount "
                f"({remaining}) on the transfer.",
                code="amount_too_large",
                param="amount",
                saved=True,
            )
        if self.balance_of(destination).get(currency, 0) < amount:
            raise Failure(
                400,
                f"Insufficient funds in the destination account {destination} to reverse "
                f"{money(amount, currency)} of transfer {transfer_id}.",
                code="balance_insufficient",
                saved=True,
            )
        reversal_id, payment_refund_id = new_id("trr"), new_id("pyr")
        incoming = self.book(
            None,
            amount=amount,
            currency=currency,
            kind="transfer_refund",
            category="transfer_reversal",
            source=reversal_id,
        )
        self.book(
            destination,
            amount=-amount,
            currency=currency,
            kind="payment_refund",
            category="refund",
            source=payment_refund_id,
        )
        now = int(self.sandbox.clock())
        payment_id = transfer["destination_payment"]
        self.sandbox.objects[payment_refund_id] = {
            "id": payment_refund_id,
            "object": "refund",
            "amount": amount,
            "charge": payment_id,
            "created": now,
            "currency": currency,
            "metadata": {},
            "status": "succeeded",
            "transfer_reversal": reversal_id,
        }
        payment = self.sandbox.objects[payment_id]
        payment["amount_refunded"] = payment.get("amount_refunded", 0) + amount
        payment["refunded"] = payment["amount_refunded"] == payment["amount"]
        reversal: Params = {
            "id": reversal_id,
            "object": "transfer_reversal",
            "amount": amount,
            "balance_transaction": incoming["id"],
            "created": now,
            "currency": currency,
            "destination_payment_refund": payment_refund_id,
            "metadata": params.get("metadata") or {},
            "source_refund": None,
            "transfer": transfer_id,
        }
        self.sandbox.objects[reversal_id] = reversal
        previous = {
            "amount_reversed": transfer["amount_reversed"],
            "reversed": transfer["reversed"],
        }
        reversals = transfer["reversals"]
        reversals["data"].insert(0, reversal)
        reversals["total_count"] += 1
        transfer["amount_reversed"] += amount
        transfer["reversed"] = transfer["amount_reversed"] == transfer["amount"]
        self.sandbox.emit("transfer.reversed", transfer, previous=previous)
        return reversal
