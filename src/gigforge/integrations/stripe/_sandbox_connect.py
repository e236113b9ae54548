"""Stripe Connect in the sandbox: Express accounts, their hosted onboarding, bank accounts and
payouts from each account's own balance. Only `sandbox.py` uses this module.

Payouts settle at once (`paid`) unless the bank account is one of Stripe's documented failing
test IBANs (https://docs.stripe.com/connect/testing#payouts): the German examples below, or
the same bank code and account number under any EU country code, fail with Stripe's code.
"""

from __future__ import annotations

import copy
import re
import secrets
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from gigforge.integrations.stripe._sandbox_wire import (
    BALANCE_INSUFFICIENT,
    Failure,
    Params,
    account_invalid,
    hosted_base,
    integer,
    list_page,
    missing,
    new_id,
    no_such,
    required,
)

if TYPE_CHECKING:
    from gigforge.integrations.stripe.sandbox import StripeSandbox

LINK_LIFETIME_SECONDS = 300
STANDARD_ARRIVAL_SECONDS = 2 * 86_400
SUCCEEDING_TEST_IBAN = "DE89370400440532013000"
#: Stripe's test IBANs whose payouts fail, by everything after the country and check digits.
FAILING_TEST_IBANS = {
    "370400440532013001": "no_account",  # DE62370400440532013001
    "370400440532013002": "account_closed",  # DE89370400440532013002
    "370400440532013003": "insufficient_funds",  # DE89370400440532013003
    "370400440532013004": "debit_not_authorized",  # DE89370400440532013004
    "370400440532013005": "invalid_currency",  # DE89370400440532013005
}
FAILURE_MESSAGES = {
    "no_account": (
        "The bank account details on file are probably incorrect. No bank account could be "
        "located with those details."
    ),
    "account_closed": "The bank account has been closed.",
    "insufficient_funds": "Your Stripe account has insufficient funds to cover the payout.",
    "debit_not_authorized": (
        "Debit transactions are not approved on the bank account. (Stripe requires bank "
        "accounts to be set up for both credit and debit payouts.)"
    ),
    "invalid_currency": (
        "The bank was unable to process this payout because of its currency. This is probably "
        "because the bank account cannot accept payments in that currency."
    ),
    "could_not_process": "The bank could not process this payout.",
}
ONBOARDING_REQUIREMENTS = (
    "business_profile.mcc",
    "business_profile.url",
    "business_type",
    "external_account",
    "tos_acceptance.date",
    "tos_acceptance.ip",
)
_EURO_COUNTRIES = set(
    "AT BE CY DE EE ES FI FR GR HR IE IT LT LU LV MT NL PT SI SK".split()  # noqa: SIM905
)
_CURRENCIES = {"US": "usd", "GB": "gbp", "CH": "chf", "CA": "cad", "AU": "aud", "SE": "sek"}
_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$")


@dataclass
class _Link:
    account: str
    refresh_url: str
    return_url: str
    expires_at: int
    used: bool = False


class Connect:
    def __init__(self, sandbox: StripeSandbox) -> None:
        self.sandbox = sandbox
        self.links: dict[str, _Link] = {}
        self.bank_accounts: dict[str, Params] = {}
        self.payouts: dict[str, Params] = {}
        self._account_numbers: dict[str, str] = {}

    # Accounts

    def add_account(
        self, account_id: str, *, email: str | None, country: str, onboarded: bool
    ) -> Params:
        now = int(self.sandbox.clock())
        account: Params = {
            "id": account_id,
            "object": "account",
            "business_profile": {"mcc": None, "name": None, "url": None},
            "business_type": None,
            "capabilities": {},
            "charges_enabled": False,
            "controller": {"is_controller": True, "type": "application"},
            "country": country,
            "created": now,
            "default_currency": _currency_of(country),
            "details_submitted": False,
            "email": email,
            "external_accounts": {
                "object": "list",
                "data": [],
                "has_more": False,
                "url": f"/v1/accounts/{account_id}/external_accounts",
            },
            "metadata": {},
            "payouts_enabled": False,
            "requirements": {
                "currently_due": list(ONBOARDING_REQUIREMENTS),
                "disabled_reason": "requirements.past_due",
                "errors": [],
                "eventually_due": list(ONBOARDING_REQUIREMENTS),
                "past_due": list(ONBOARDING_REQUIREMENTS),
                "pending_verification": [],
            },
            "settings": {"payouts": {"schedule": {"delay_days": 2, "interval": "daily"}}},
            "tos_acceptance": {"date": None},
            "type": "express",
        }
        self.sandbox.accounts[account_id] = account
        self.sandbox.objects[account_id] = account
        self.sandbox.balances.setdefault(account_id, {})
        if onboarded:
            account["capabilities"] = {"card_payments": "active", "transfers": "active"}
            self._complete(account, business_name="Sandbox Studio")
        return account

    def create_account(self, request: Request, params: Params) -> Params:
        kind = required(params, "type")
        if kind not in ("express", "custom", "standard"):
            raise Failure(400, f"Invalid type: {kind}", param="type")
        if kind != "express":
            raise Failure(400, "This sandbox creates Express accounts only.", param="type")
        country = str(params.get("country") or "US").upper()
        account = self.add_account(
            new_id("acct"), email=params.get("email"), country=country, onboarded=False
        )
        account["metadata"] = params.get("metadata") or {}
        requested = params.get("capabilities")
        if isinstance(requested, dict):
            account["capabilities"] = {
                name: "inactive"
                for name, options in requested.items()
                if isinstance(options, dict) and options.get("requested") == "true"
            }
        return account

    def get_account(self, request: Request, params: Params) -> Params:
        return self._account(request.path_params["account_id"])

    def create_link(self, request: Request, params: Params) -> Params:
        account_id = required(params, "account")
        if account_id not in self.sandbox.accounts:
            raise no_such("account", account_id, param="account")
        refresh_url = required(params, "refresh_url")
        return_url = required(params, "return_url")
        kind = required(params, "type")
        if kind not in ("account_onboarding", "account_update"):
            raise Failure(400, f"Invalid type: {kind}", param="type")
        now = int(self.sandbox.clock())
        link_id = secrets.token_urlsafe(18)
        self.links[link_id] = _Link(
            account_id, refresh_url, return_url, now + LINK_LIFETIME_SECONDS
        )
        return {
            "object": "account_link",
            "created": now,
            "expires_at": now + LINK_LIFETIME_SECONDS,
            "url": f"{hosted_base(request)}connect/onboarding/{link_id}",
        }

    async def onboarding_page(self, request: Request) -> Response:
        """Express onboarding's stand-in: one form; submitting it completes the account."""
        link = self.links.get(request.path_params["link_id"])
        if link is None:
            return HTMLResponse("<h1>This link is not valid.</h1>", 404)
        if link.used or self.sandbox.clock() > link.expires_at:
            return RedirectResponse(link.refresh_url, status_code=303)
        account = self.sandbox.accounts[link.account]
        if request.method == "POST":
            form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
            name = form.get("business_name", "").strip()
            if not name:
                return HTMLResponse(_onboarding_html(account, "Enter the business name."), 400)
            number = form.get("account_number", "").replace(" ", "").upper()
            if not number:
                return HTMLResponse(
                    _onboarding_html(account, "Enter the bank account for payouts."), 400
                )
            link.used = True
            previous = _state(account)
            # Express onboarding collects the payout bank account itself.
            self._bank(
                account,
                country=account["country"],
                currency=account["default_currency"],
                number=number,
                holder=name,
                routing=TEST_ROUTING_NUMBER if account["country"] == "US" else None,
            )
            account["capabilities"] = {name: "active" for name in account["capabilities"]}
            self._complete(account, business_name=name)
            self.sandbox.emit("account.updated", account, account=account["id"], previous=previous)
            await self.sandbox.flush_webhooks()
            return RedirectResponse(link.return_url, status_code=303)
        return HTMLResponse(_onboarding_html(account, None))

    def _complete(self, account: Params, *, business_name: str) -> None:
        account["business_profile"]["name"] = business_name
        account["tos_acceptance"]["date"] = int(self.sandbox.clock())
        account.update(details_submitted=True, charges_enabled=True, payouts_enabled=True)
        account["requirements"].update(
            currently_due=[], eventually_due=[], past_due=[], disabled_reason=None
        )

    # Bank accounts

    def add_external_account(self, request: Request, params: Params) -> Params:
        account = self._account(request.path_params["account_id"])
        details = params.get("external_account")
        if isinstance(details, str):
            raise no_such("token", details, param="external_account")
        if not isinstance(details, dict):
            raise missing("external_account")
        if details.get("object") != "bank_account":
            raise Failure(
                400, "This sandbox takes bank accounts only.", param="external_account[object]"
            )
        prefix = "external_account"
        country = required(details, "country", prefix).upper()
        currency = required(details, "currency", prefix).lower()
        number = required(details, "account_number", prefix).replace(" ", "").upper()
        if not _IBAN.match(number) and not (country == "US" and details.get("routing_number")):
            raise Failure(
                400,
                "The account number you provided is not a valid IBAN.",
                code="account_number_invalid",
                param="external_account[account_number]",
            )
        return self._bank(
            account,
            country=country,
            currency=currency,
            number=number,
            holder=details.get("account_holder_name"),
            holder_type=details.get("account_holder_type"),
            routing=details.get("routing_number"),
            metadata=params.get("metadata") or {},
        )

    def _bank(
        self,
        account: Params,
        *,
        country: str,
        currency: str,
        number: str,
        holder: Any,
        holder_type: Any = None,
        routing: Any = None,
        metadata: Params | None = None,
    ) -> Params:
        banks = account["external_accounts"]["data"]
        bank: Params = {
            "id": new_id("ba"),
            "object": "bank_account",
            "account": account["id"],
            "account_holder_name": holder,
            "account_holder_type": holder_type,
            "available_payout_methods": ["instant", "standard"],
            "bank_name": "STRIPE TEST BANK",
            "country": country,
            "currency": currency,
            "default_for_currency": not any(b["currency"] == currency for b in banks),
            "fingerprint": secrets.token_hex(8),
            "last4": number[-4:],
            "metadata": metadata or {},
            "routing_number": routing,
            "status": "new",
        }
        banks.append(bank)
        self.bank_accounts[bank["id"]] = bank
        self.sandbox.objects[bank["id"]] = bank
        self._account_numbers[bank["id"]] = number
        due = account["requirements"]["currently_due"]
        if "external_account" in due:
            due.remove("external_account")
        self.sandbox.emit("account.external_account.created", bank, account=account["id"])
        return bank

    # Payouts

    def create_payout(self, request: Request, params: Params) -> Params:
        account_id = request.headers.get("stripe-account")
        amount = integer(params, "amount", minimum=1)
        currency = required(params, "currency").lower()
        method = params.get("method") or "standard"
        if method not in ("standard", "instant"):
            raise Failure(400, f"Invalid method: {method}", param="method")
        account = self.sandbox.accounts.get(account_id) if account_id else None
        if account is not None and not account["payouts_enabled"]:
            raise Failure(
                400,
                "Payouts are not enabled on this account: it has not completed onboarding.",
                code="payouts_not_allowed",
            )
        bank = self._destination(account, params.get("destination"), currency)
        if self.sandbox.money.balance_of(account_id).get(currency, 0) < amount:
            raise Failure(400, BALANCE_INSUFFICIENT, code="balance_insufficient", saved=True)
        now = int(self.sandbox.clock())
        payout_id = new_id("po")
        transaction = self.sandbox.money.book(
            account_id, amount=-amount, currency=currency, kind="payout", source=payout_id
        )
        payout: Params = {
            "id": payout_id,
            "object": "payout",
            "amount": amount,
            "arrival_date": now + (0 if method == "instant" else STANDARD_ARRIVAL_SECONDS),
            "automatic": False,
            "balance_transaction": transaction["id"],
            "created": now,
            "currency": currency,
            "description": params.get("description"),
            "destination": bank["id"],
            "failure_balance_transaction": None,
            "failure_code": None,
            "failure_message": None,
            "livemode": False,
            "metadata": params.get("metadata") or {},
            "method": method,
            "reconciliation_status": "not_applicable",
            "source_type": "card",
            "statement_descriptor": params.get("statement_descriptor"),
            "status": "pending",
            "type": "bank_account",
        }
        self.payouts[payout_id] = payout
        self.sandbox.objects[payout_id] = payout
        self.sandbox.payouts_of.setdefault(account_id, []).append(payout)
        self.sandbox.emit("payout.created", payout, account=account_id)
        answer = copy.deepcopy(payout)
        if self.sandbox.auto_settle_payouts:
            failing = FAILING_TEST_IBANS.get(self._account_numbers.get(bank["id"], "")[4:])
            self.settle(payout_id, ok=failing is None, failure=failing or "could_not_process")
        return answer

    def list_payouts(self, request: Request, params: Params) -> Params:
        mine = self.sandbox.payouts_of.get(request.headers.get("stripe-account"), [])
        return list_page(mine, params, "/v1/payouts", "payout")

    def get_payout(self, request: Request, params: Params) -> Params:
        payout_id = request.path_params["payout_id"]
        mine = self.sandbox.payouts_of.get(request.headers.get("stripe-account"), [])
        payout = next((p for p in mine if p["id"] == payout_id), None)
        if payout is None:
            raise no_such("payout", payout_id)
        return payout

    def settle(self, payout_id: str, *, ok: bool, failure: str) -> Params:
        """The bank's answer: `payout.paid`, or `payout.failed` with the money returned."""
        payout = self.payouts.get(payout_id)
        if payout is None:
            raise ValueError(f"no payout {payout_id!r} in the sandbox")
        if payout["status"] not in ("pending", "in_transit"):
            raise ValueError(f"payout {payout_id} is already {payout['status']}")
        account_id = next(
            (owner for owner, items in self.sandbox.payouts_of.items() if payout in items), None
        )
        if ok:
            payout["status"] = "paid"
            self.sandbox.emit("payout.paid", payout, account=account_id)
            return payout
        returned = self.sandbox.money.book(
            account_id,
            amount=payout["amount"],
            currency=payout["currency"],
            kind="payout_failure",
            source=payout_id,
        )
        payout.update(
            status="failed",
            failure_code=failure,
            failure_message=FAILURE_MESSAGES.get(failure, FAILURE_MESSAGES["could_not_process"]),
            failure_balance_transaction=returned["id"],
        )
        self.sandbox.emit("payout.failed", payout, account=account_id)
        return payout

    def _destination(self, account: Params | None, wanted: object, currency: str) -> Params:
        banks = account["external_accounts"]["data"] if account is not None else []
        if wanted:
            bank: Params | None = next((b for b in banks if b["id"] == wanted), None)
            if bank is None:
                raise no_such("external account", str(wanted), param="destination")
            if bank["currency"] != currency:
                raise Failure(
                    400,
                    f"The bank account {wanted} takes {bank['currency']}, not {currency}.",
                    param="destination",
                )
            return bank
        default: Params | None = next(
            (b for b in banks if b["currency"] == currency and b["default_for_currency"]), None
        )
        if default is None:
            raise Failure(
                400,
                f"You don't have any external accounts in that currency ({currency}).",
                param="currency",
            )
        return default

    def _account(self, account_id: str) -> Params:
        account = self.sandbox.accounts.get(account_id)
        if account is None:
            raise account_invalid(self.sandbox.secret_key, account_id)
        return account


def _currency_of(country: str) -> str:
    return "eur" if country in _EURO_COUNTRIES else _CURRENCIES.get(country, "usd")


#: Stripe's documented test bank details (https://docs.stripe.com/connect/testing).
TEST_ROUTING_NUMBER = "110000000"
TEST_US_ACCOUNT = "000123456789"
TEST_IBAN = "DE89370400440532013000"


def _test_number(account: Params) -> str:
    """What the sandbox's form offers: Stripe's test account that pays out successfully."""
    return TEST_US_ACCOUNT if account.get("country") == "US" else TEST_IBAN


def _state(account: Params) -> Params:
    return {
        key: copy.deepcopy(account[key])
        for key in ("capabilities", "charges_enabled", "details_submitted", "payouts_enabled")
    }


def _onboarding_html(account: Params, problem: str | None) -> str:
    error = f"<p role='alert'>{escape(problem)}</p>" if problem else ""
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Stripe Express onboarding"
        "</title></head><body><h1>Set up payouts</h1>"
        f"<p>Account {escape(account['id'])} ({escape(str(account.get('email') or ''))})</p>"
        f"{error}<form method='post'><p><label>Business name "
        "<input name='business_name' required></label></p>"
        f"<p><label>Bank account for payouts ({escape(str(account['default_currency']).upper())}) "
        f"<input name='account_number' required value='{escape(_test_number(account))}'>"
        "</label></p>"
        "<button type='submit'>Complete onboarding</button></form></body></html>"
    )
