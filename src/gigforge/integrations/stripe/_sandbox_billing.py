"""Stripe Billing in the sandbox: customers, invoices and their items, prices, subscriptions,
and the hosted invoice page a client pays on. Only `sandbox.py` uses this module.

Objects carry the fields of API version clover: an invoice names its payments in `payments`
(Invoice Payment objects, shown expanded here) rather than `payment_intent`, and a
subscription's billing period lives on its items.
"""

from __future__ import annotations

import calendar
import secrets
import string
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from html import escape
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from gigforge.integrations.stripe._sandbox_wire import (
    Failure,
    Params,
    hosted_base,
    integer,
    missing,
    money,
    new_id,
    no_such,
    required,
)

if TYPE_CHECKING:
    from gigforge.integrations.stripe.sandbox import StripeSandbox

INTERVALS = ("day", "week", "month", "year")
NOT_EDITABLE = "invoice_not_editable"


class Billing:
    def __init__(self, sandbox: StripeSandbox) -> None:
        self.sandbox = sandbox
        self.customers: dict[str, Params] = {}
        self.invoices: dict[str, Params] = {}
        self.invoice_items: dict[str, Params] = {}
        self.products: dict[str, Params] = {}
        self.prices: dict[str, Params] = {}
        self.subscriptions: dict[str, Params] = {}

    # Customers

    def create_customer(self, request: Request, params: Params) -> Params:
        customer: Params = {
            "id": new_id("cus"),
            "object": "customer",
            "address": None,
            "balance": 0,
            "created": self._now(),
            "currency": None,
            "description": params.get("description"),
            "email": params.get("email"),
            "invoice_prefix": "".join(
                secrets.choice(string.ascii_uppercase + string.digits) for _ in range(8)
            ),
            "livemode": False,
            "metadata": params.get("metadata") or {},
            "name": params.get("name"),
            "next_invoice_sequence": 1,
            "phone": None,
            "preferred_locales": [],
            "tax_exempt": "none",
        }
        return self._keep(self.customers, customer)

    def get_customer(self, request: Request, params: Params) -> Params:
        return self._customer(request.path_params["customer_id"])

    # Invoices

    def create_invoice(self, request: Request, params: Params) -> Params:
        customer = self._customer(required(params, "customer"), param="customer")
        method = params.get("collection_method") or "charge_automatically"
        if method not in ("charge_automatically", "send_invoice"):
            raise Failure(400, f"Invalid collection_method: {method}", param="collection_method")
        days = integer(params, "days_until_due") if "days_until_due" in params else None
        if method == "send_invoice" and days is None:
            raise missing("days_until_due")
        currency = params.get("currency") or customer.get("currency") or "usd"
        return self._new_invoice(
            customer,
            currency=currency,
            collection_method=method,
            days_until_due=days,
            description=params.get("description"),
            custom_fields=params.get("custom_fields") or None,
            metadata=params.get("metadata") or {},
        )

    def get_invoice(self, request: Request, params: Params) -> Params:
        return self._invoice(request.path_params["invoice_id"])

    def create_invoice_item(self, request: Request, params: Params) -> Params:
        customer = self._customer(required(params, "customer"), param="customer")
        invoice = None
        if params.get("invoice"):
            invoice = self._invoice(str(params["invoice"]), param="invoice")
            if invoice["status"] != "draft":
                raise Failure(
                    400,
                    f"You can only add invoice items to draft invoices; {invoice['id']} is "
                    f"{invoice['status']}.",
                    code=NOT_EDITABLE,
                    param="invoice",
                )
            if invoice["customer"] != customer["id"]:
                raise Failure(400, "The invoice belongs to another customer.", param="invoice")
        currency = params.get("currency") or (invoice or {}).get("currency") or "usd"
        if invoice is not None and currency != invoice["currency"]:
            raise Failure(
                400,
                f"The currency of the invoice item ({currency}) must match the invoice's "
                f"({invoice['currency']}).",
                param="currency",
            )
        quantity = integer(params, "quantity", minimum=1) if "quantity" in params else 1
        if "amount" in params:
            amount = integer(params, "amount", minimum=-(10**12))
            unit = str(Decimal(amount) / quantity)
        elif "unit_amount_decimal" in params:
            unit = str(params["unit_amount_decimal"])
            try:
                exact = Decimal(unit) * quantity
            except InvalidOperation:
                raise Failure(
                    400, f"Invalid decimal: {unit}", param="unit_amount_decimal"
                ) from None
            amount = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
        else:
            raise missing("amount")
        now = self._now()
        item: Params = {
            "id": new_id("ii"),
            "object": "invoiceitem",
            "amount": amount,
            "currency": currency,
            "customer": customer["id"],
            "date": now,
            "description": params.get("description"),
            "discountable": True,
            "invoice": invoice["id"] if invoice else None,
            "livemode": False,
            "metadata": params.get("metadata") or {},
            "parent": None,
            "period": {"end": now, "start": now},
            "pricing": {"price_details": None, "type": None, "unit_amount_decimal": unit},
            "proration": False,
            "quantity": quantity,
            "tax_rates": [],
        }
        self._keep(self.invoice_items, item)
        if invoice is not None:
            self._add_line(invoice, item, parent={"invoice_item": item["id"]})
        return item

    def finalize(self, request: Request, params: Params) -> Params:
        invoice = self._invoice(request.path_params["invoice_id"])
        if invoice["status"] != "draft":
            raise Failure(
                400,
                "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
                code=NOT_EDITABLE,
            )
        return self._finalize(invoice, hosted_base(request))

    def send(self, request: Request, params: Params) -> Params:
        invoice = self._invoice(request.path_params["invoice_id"])
        if invoice["collection_method"] != "send_invoice":
            raise Failure(
                400,
                "You can only manually send an invoice if its collection method is 'send_invoice'.",
            )
        if invoice["status"] == "draft":
            raise Failure(400, "You can't send a draft invoice; finalize it first.")
        self.sandbox.emit("invoice.sent", invoice)
        return invoice

    def void(self, request: Request, params: Params) -> Params:
        invoice = self._invoice(request.path_params["invoice_id"])
        if invoice["status"] not in ("open", "uncollectible"):
            raise Failure(
                400,
                f"You can only void open or uncollectible invoices; this invoice is "
                f"{invoice['status']}.",
                code=NOT_EDITABLE,
            )
        invoice["status"] = "void"
        invoice["amount_remaining"] = 0
        invoice["status_transitions"]["voided_at"] = self._now()
        self.sandbox.emit("invoice.voided", invoice)
        return invoice

    def pay_invoice(self, invoice_id: str) -> Params:
        """The client pays the whole open invoice by card: the payment's events, then
        `invoice.paid`, as Stripe sends them."""
        invoice = self.invoices.get(invoice_id)
        if invoice is None:
            raise ValueError(f"no invoice {invoice_id!r} in the sandbox")
        if invoice["status"] != "open":
            raise ValueError(f"invoice {invoice_id} is {invoice['status']}, not open")
        amount = invoice["amount_remaining"]
        payment = self.sandbox.money.new_payment(
            amount,
            invoice["currency"],
            {},
            customer=invoice["customer"],
            description=f"Payment for Invoice {invoice['number']}",
        )
        now = self._now()
        invoice["payments"]["data"].append(
            {
                "id": new_id("inpay"),
                "object": "invoice_payment",
                "amount_paid": amount,
                "amount_requested": amount,
                "created": now,
                "currency": invoice["currency"],
                "invoice": invoice_id,
                "is_default": True,
                "livemode": False,
                "payment": {"type": "payment_intent", "payment_intent": payment.intent_id},
                "status": "paid",
                "status_transitions": {"canceled_at": None, "paid_at": now},
            }
        )
        invoice.update(
            amount_paid=invoice["amount_paid"] + amount,
            amount_remaining=0,
            attempt_count=invoice["attempt_count"] + 1,
            attempted=True,
            status="paid",
        )
        invoice["status_transitions"]["paid_at"] = now
        self.sandbox.money.announce(payment)
        self.sandbox.emit("invoice.paid", invoice)
        return invoice

    async def invoice_page(self, request: Request) -> Response:
        """The hosted invoice page: what the client sees, and a real form that pays it."""
        invoice = self.invoices.get(request.path_params["invoice_id"])
        if invoice is None or invoice["status"] == "draft":
            return HTMLResponse("<h1>This invoice does not exist.</h1>", 404)
        if request.method == "POST":
            if invoice["status"] == "open":
                self.pay_invoice(invoice["id"])
                await self.sandbox.flush_webhooks()
            return RedirectResponse(str(request.url), status_code=303)
        return HTMLResponse(_invoice_html(invoice, self.customers.get(invoice["customer"])))

    # Prices and subscriptions

    def create_price(self, request: Request, params: Params) -> Params:
        currency = required(params, "currency")
        unit_amount = integer(params, "unit_amount")
        product_id = params.get("product")
        if product_id:
            if product_id not in self.products:
                raise no_such("product", str(product_id), param="product")
        else:
            data = params.get("product_data")
            if not isinstance(data, dict):
                raise missing("product")
            product: Params = {
                "id": new_id("prod"),
                "object": "product",
                "active": True,
                "created": self._now(),
                "livemode": False,
                "metadata": {},
                "name": required(data, "name", "product_data"),
            }
            product_id = self._keep(self.products, product)["id"]
        recurring = params.get("recurring")
        if recurring is not None:
            if not isinstance(recurring, dict):
                raise Failure(400, "Invalid object", param="recurring")
            interval = required(recurring, "interval", "recurring")
            if interval not in INTERVALS:
                raise Failure(
                    400,
                    f"Invalid recurring[interval]: must be one of {', '.join(INTERVALS)}",
                    param="recurring[interval]",
                )
            count = (
                integer(recurring, "interval_count", "recurring", minimum=1)
                if "interval_count" in recurring
                else 1
            )
            recurring = {
                "interval": interval,
                "interval_count": count,
                "meter": None,
                "usage_type": "licensed",
            }
        price: Params = {
            "id": new_id("price"),
            "object": "price",
            "active": True,
            "billing_scheme": "per_unit",
            "created": self._now(),
            "currency": currency,
            "livemode": False,
            "lookup_key": None,
            "metadata": params.get("metadata") or {},
            "nickname": None,
            "product": product_id,
            "recurring": recurring,
            "tax_behavior": "unspecified",
            "type": "recurring" if recurring else "one_time",
            "unit_amount": unit_amount,
            "unit_amount_decimal": str(unit_amount),
        }
        return self._keep(self.prices, price)

    def create_subscription(self, request: Request, params: Params) -> Params:
        customer = self._customer(required(params, "customer"), param="customer")
        items = params.get("items")
        if not isinstance(items, list) or not items:
            raise missing("items")
        if len(items) != 1 or not isinstance(items[0], dict):
            raise Failure(400, "This sandbox serves one subscription item.", param="items")
        price_id = required(items[0], "price", "items[0]")
        price = self.prices.get(price_id)
        if price is None:
            raise no_such("price", price_id, param="items[0][price]")
        if price["type"] != "recurring":
            raise Failure(
                400,
                "The price specified is set to `type=one_time` but this field only accepts "
                "prices with `type=recurring`.",
                param="items[0][price]",
            )
        method = params.get("collection_method") or "charge_automatically"
        days = integer(params, "days_until_due") if "days_until_due" in params else None
        if method == "send_invoice" and days is None:
            raise missing("days_until_due")
        now = self._now()
        period_end = _advance(now, price["recurring"])
        subscription_id = new_id("sub")
        item = {
            "id": new_id("si"),
            "object": "subscription_item",
            "created": now,
            "current_period_end": period_end,
            "current_period_start": now,
            "metadata": {},
            "price": price,
            "quantity": 1,
            "subscription": subscription_id,
        }
        metadata = params.get("metadata") or {}
        invoice = self._new_invoice(
            customer,
            currency=price["currency"],
            collection_method=method,
            days_until_due=days,
            description=None,
            custom_fields=None,
            metadata={},
            parent={
                "type": "subscription_details",
                "subscription_details": {"metadata": metadata, "subscription": subscription_id},
            },
        )
        product = self.products.get(price["product"], {})
        line_item = {
            "amount": price["unit_amount"],
            "currency": price["currency"],
            "description": str(product.get("name", "Subscription")),
            "quantity": 1,
            "unit_amount_decimal": price["unit_amount_decimal"],
            "period": {"end": period_end, "start": now},
        }
        self._add_line(invoice, line_item, parent={"subscription_item": item["id"]})
        subscription: Params = {
            "id": subscription_id,
            "object": "subscription",
            "billing_cycle_anchor": now,
            "cancel_at": None,
            "cancel_at_period_end": False,
            "canceled_at": None,
            "collection_method": method,
            "created": now,
            "currency": price["currency"],
            "customer": customer["id"],
            "days_until_due": days,
            "description": params.get("description"),
            "ended_at": None,
            "items": {
                "object": "list",
                "data": [item],
                "has_more": False,
                "url": f"/v1/subscription_items?subscription={subscription_id}",
            },
            "latest_invoice": invoice["id"],
            "livemode": False,
            "metadata": metadata,
            "start_date": now,
            "status": "active",
        }
        self._keep(self.subscriptions, subscription)
        self.sandbox.emit("customer.subscription.created", subscription)
        self._finalize(invoice, hosted_base(request))
        return subscription

    def get_subscription(self, request: Request, params: Params) -> Params:
        return self._subscription(request.path_params["subscription_id"])

    def cancel_subscription(self, request: Request, params: Params) -> Params:
        subscription = self._subscription(request.path_params["subscription_id"])
        if subscription["status"] == "canceled":
            raise Failure(400, f"The subscription {subscription['id']} is already canceled.")
        now = self._now()
        subscription.update(status="canceled", canceled_at=now, ended_at=now)
        self.sandbox.emit("customer.subscription.deleted", subscription)
        return subscription

    # Helpers

    def _new_invoice(
        self,
        customer: Params,
        *,
        currency: str,
        collection_method: str,
        days_until_due: int | None,
        description: Any,
        custom_fields: Any,
        metadata: Params,
        parent: Params | None = None,
    ) -> Params:
        now = self._now()
        invoice_id = new_id("in")
        invoice: Params = {
            "id": invoice_id,
            "object": "invoice",
            "account_country": "US",
            "account_name": "Gigforge Sandbox",
            "amount_due": 0,
            "amount_paid": 0,
            "amount_remaining": 0,
            "attempt_count": 0,
            "attempted": False,
            "auto_advance": False,
            "collection_method": collection_method,
            "created": now,
            "currency": currency,
            "custom_fields": custom_fields,
            "customer": customer["id"],
            "customer_email": customer.get("email"),
            "customer_name": customer.get("name"),
            "description": description,
            "due_date": now + days_until_due * 86_400 if days_until_due is not None else None,
            "hosted_invoice_url": None,
            "invoice_pdf": None,
            "lines": {
                "object": "list",
                "data": [],
                "has_more": False,
                "url": f"/v1/invoices/{invoice_id}/lines",
            },
            "livemode": False,
            "metadata": metadata,
            "number": None,
            "parent": parent,
            "payments": {
                "object": "list",
                "data": [],
                "has_more": False,
                "url": "/v1/invoice_payments",
            },
            "period_end": now,
            "period_start": now,
            "status": "draft",
            "status_transitions": {
                "finalized_at": None,
                "marked_uncollectible_at": None,
                "paid_at": None,
                "voided_at": None,
            },
            "subtotal": 0,
            "total": 0,
        }
        self._keep(self.invoices, invoice)
        self.sandbox.emit("invoice.created", invoice)
        return invoice

    def _add_line(self, invoice: Params, item: Params, *, parent: Params) -> None:
        kind = "invoice_item" if "invoice_item" in parent else "subscription_item"
        unit = item.get("unit_amount_decimal") or item["pricing"]["unit_amount_decimal"]
        invoice["lines"]["data"].append(
            {
                "id": new_id("il"),
                "object": "line_item",
                "amount": item["amount"],
                "currency": item["currency"],
                "description": item.get("description"),
                "invoice": invoice["id"],
                "livemode": False,
                "metadata": {},
                "parent": {"type": f"{kind}_details", f"{kind}_details": parent},
                "period": item["period"],
                "pricing": {"type": None, "unit_amount_decimal": unit},
                "quantity": item["quantity"],
            }
        )
        total = sum(line["amount"] for line in invoice["lines"]["data"])
        invoice.update(subtotal=total, total=total, amount_due=total, amount_remaining=total)

    def _finalize(self, invoice: Params, base_url: str) -> Params:
        customer = self.customers[invoice["customer"]]
        sequence = customer["next_invoice_sequence"]
        customer["next_invoice_sequence"] = sequence + 1
        now = self._now()
        invoice.update(
            number=f"{customer['invoice_prefix']}-{sequence:04d}",
            hosted_invoice_url=f"{base_url}i/{invoice['id']}",
            status="open",
        )
        invoice["status_transitions"]["finalized_at"] = now
        if invoice["amount_due"] <= 0:
            invoice.update(status="paid", amount_remaining=0)
            invoice["status_transitions"]["paid_at"] = now
        self.sandbox.emit("invoice.finalized", invoice)
        if invoice["status"] == "paid":
            self.sandbox.emit("invoice.paid", invoice)
        return invoice

    def _customer(self, customer_id: str, *, param: str | None = None) -> Params:
        customer = self.customers.get(customer_id)
        if customer is None:
            raise no_such("customer", customer_id, param=param)
        return customer

    def _invoice(self, invoice_id: str, *, param: str | None = None) -> Params:
        invoice = self.invoices.get(invoice_id)
        if invoice is None:
            raise no_such("invoice", invoice_id, param=param)
        return invoice

    def _subscription(self, subscription_id: str) -> Params:
        subscription = self.subscriptions.get(subscription_id)
        if subscription is None:
            raise no_such("subscription", subscription_id)
        return subscription

    def _keep(self, store: dict[str, Params], obj: Params) -> Params:
        store[obj["id"]] = obj
        self.sandbox.objects[obj["id"]] = obj
        return obj

    def _now(self) -> int:
        return int(self.sandbox.clock())


def _advance(start: int, recurring: Params) -> int:
    """The end of the first billing period, calendar months as Stripe counts them."""
    count = int(recurring["interval_count"])
    interval = recurring["interval"]
    if interval == "day":
        return start + count * 86_400
    if interval == "week":
        return start + count * 7 * 86_400
    months = count * (12 if interval == "year" else 1)
    moment = datetime.fromtimestamp(start, tz=UTC)
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return int(moment.replace(year=year, month=month, day=day).timestamp())


def _invoice_html(invoice: Params, customer: Params | None) -> str:
    currency = invoice["currency"]
    rows = "".join(
        f"<tr><td>{escape(str(line.get('description') or ''))}</td>"
        f"<td>{line['quantity']}</td><td>{escape(money(line['amount'], currency))}</td></tr>"
        for line in invoice["lines"]["data"]
    )
    number = escape(str(invoice["number"]))
    billed = escape(str((customer or {}).get("name") or invoice.get("customer_email") or ""))
    if invoice["status"] == "paid":
        action = "<p><strong>Paid</strong></p>"
    elif invoice["status"] == "open":
        amount = escape(money(invoice["amount_remaining"], currency))
        action = f'<form method="post"><button type="submit">Pay {amount}</button></form>'
    else:
        action = f"<p>This invoice is {escape(str(invoice['status']))}.</p>"
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Invoice {number}</title></head><body>"
        f"<h1>Invoice {number}</h1><p>Billed to {billed}</p>"
        "<table><thead><tr><th>Description</th><th>Qty</th><th>Amount</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        f"<p>Total: {escape(money(invoice['total'], currency))}</p>{action}</body></html>"
    )
