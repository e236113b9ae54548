"""Customers, invoices, subscriptions and the hosted invoice page, through the policy layer."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import stripe as stripe_sdk
from starlette.applications import Starlette
from starlette.routing import Mount

from gigforge.integrations.framework.payments import (
    InvoiceLine,
    InvoiceRequest,
    InvoiceStatus,
    PaymentEventKind,
    SubscriptionRequest,
)
from gigforge.integrations.stripe import StripeAPIError, StripeConnector
from gigforge.integrations.stripe.sandbox import (
    SANDBOX_SECRET_KEY,
    SANDBOX_WEBHOOK_SECRET,
    StripeSandbox,
    WebhookDelivery,
)

AUTH = {"Authorization": f"Bearer {SANDBOX_SECRET_KEY}"}


def invoice_request(customer_id: str, **overrides: object) -> InvoiceRequest:
    values: dict[str, object] = {
        "customer_id": customer_id,
        "currency": "EUR",
        "number": "GF-2025-0042",
        "lines": (
            InvoiceLine(description="Landing page", quantity=2, unit_amount_minor=30_000),
            InvoiceLine(
                description="Hosting setup", quantity=1, unit_amount_minor=10_000, tax_minor=1_900
            ),
        ),
        "days_until_due": 14,
        "reference": "inv_7d1c",
        "transfer_group": "JOB_42",
    }
    values.update(overrides)
    return InvoiceRequest.model_validate(values)


def event_types(sandbox: StripeSandbox) -> list[str]:
    return [json.loads(delivery.body)["type"] for delivery in sandbox.outbox]


async def new_customer(stripe: StripeConnector, reference: str = "client_1") -> str:
    customer = await stripe.create_customer(
        email="ada@example.com", name="Ada Client", reference=reference
    )
    return customer.id


async def test_a_customer_carries_our_reference_and_is_created_once(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    first = await stripe.create_customer(email="ada@example.com", name="Ada", reference="c1")
    again = await stripe.create_customer(email="ada@example.com", name="Ada", reference="c1")

    assert first.id.startswith("cus_")
    assert again.id == first.id
    assert (first.email, len(sandbox.billing.customers)) == ("ada@example.com", 1)
    assert sandbox.billing.customers[first.id]["metadata"] == {"gigforge_reference": "c1"}
    assert sandbox.received[-1].headers["idempotency-key"] == "cus-c1"


async def test_an_invoice_is_drafted_itemized_with_tax_and_finalized(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    customer_id = await new_customer(stripe)

    invoice = await stripe.create_invoice(invoice_request(customer_id))

    assert invoice.id.startswith("in_")
    assert invoice.status is InvoiceStatus.open
    assert (invoice.amount_due_minor, invoice.currency) == (71_900, "EUR")
    assert invoice.hosted_url == f"http://sandbox/i/{invoice.id}"
    assert invoice.reference == "inv_7d1c"
    stored = sandbox.billing.invoices[invoice.id]
    assert stored["metadata"] == {
        "gigforge_reference": "inv_7d1c",
        "gigforge_number": "GF-2025-0042",
        "transfer_group": "JOB_42",
    }
    assert stored["custom_fields"] == [{"name": "Invoice", "value": "GF-2025-0042"}]
    assert [(line["description"], line["amount"]) for line in stored["lines"]["data"]] == [
        ("Landing page", 60_000),
        ("Hosting setup", 10_000),
        ("Tax on Hosting setup", 1_900),
    ]
    keys = [r.headers["idempotency-key"] for r in sandbox.received if r.method == "POST"][1:]
    assert keys == [
        "inv-inv_7d1c",
        "ii-inv_7d1c-1",
        "ii-inv_7d1c-2",
        "ii-inv_7d1c-3",
        "fin-inv_7d1c",
    ]
    item = next(r for r in sandbox.received if r.path == "/v1/invoiceitems")
    assert ("unit_amount_decimal", "30000") in item.params
    assert ("quantity", "2") in item.params


async def test_rerunning_create_invoice_after_a_crash_creates_nothing_twice(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    customer_id = await new_customer(stripe)

    first = await stripe.create_invoice(invoice_request(customer_id))
    second = await stripe.create_invoice(invoice_request(customer_id))

    assert second.id == first.id
    assert len(sandbox.billing.invoices) == 1
    assert len(sandbox.billing.invoice_items) == 3
    assert second.amount_due_minor == 71_900


async def test_send_emails_the_invoice_once(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    customer_id = await new_customer(stripe)

    await stripe.create_invoice(invoice_request(customer_id, send=True))
    await stripe.create_invoice(invoice_request(customer_id, send=True))

    assert event_types(sandbox).count("invoice.sent") == 1
    assert sandbox.received[-1].headers["idempotency-key"] == "send-inv_7d1c"


async def test_an_unknown_customer_is_resource_missing(stripe: StripeConnector) -> None:
    with pytest.raises(StripeAPIError) as caught:
        await stripe.create_invoice(invoice_request("cus_nobody"))

    assert (caught.value.upstream_status, caught.value.stripe_code) == (400, "resource_missing")
    assert caught.value.stripe_param == "customer"


async def test_getting_an_unknown_invoice_is_a_404(stripe: StripeConnector) -> None:
    with pytest.raises(StripeAPIError) as caught:
        await stripe.get_invoice("in_missing")

    assert (caught.value.upstream_status, caught.value.stripe_code) == (404, "resource_missing")


async def test_void_closes_an_open_invoice_but_not_a_paid_one(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    customer_id = await new_customer(stripe)
    open_one = await stripe.create_invoice(invoice_request(customer_id, reference="inv_a"))
    paid_one = await stripe.create_invoice(invoice_request(customer_id, reference="inv_b"))
    await sandbox.pay_invoice(paid_one.id)

    voided = await stripe.void_invoice(open_one.id)
    with pytest.raises(StripeAPIError) as caught:
        await stripe.void_invoice(paid_one.id)

    assert voided.status is InvoiceStatus.void
    assert caught.value.stripe_code == "invoice_not_editable"
    assert "this invoice is paid" in caught.value.detail
    assert (await stripe.get_invoice(paid_one.id)).status is InvoiceStatus.paid


async def test_paying_an_invoice_posts_the_payment_its_fee_and_clover_payments(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    customer_id = await new_customer(stripe)
    invoice = await stripe.create_invoice(invoice_request(customer_id))
    before = sandbox.available.get("eur", 0)
    sandbox.outbox.clear()

    await sandbox.pay_invoice(invoice.id)
    paid = await stripe.get_invoice(invoice.id)

    assert event_types(sandbox) == ["payment_intent.succeeded", "charge.succeeded", "invoice.paid"]
    assert paid.status is InvoiceStatus.paid
    assert paid.amount_paid_minor == 71_900
    assert paid.payment_id in sandbox.payments
    assert "payment_intent" not in sandbox.billing.invoices[invoice.id]
    fee = (71_900 * 29 + 500) // 1000 + 30
    assert sandbox.available["eur"] == before + 71_900 - fee


async def test_paying_an_unknown_or_unpaid_invoice_is_refused(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    customer_id = await new_customer(stripe)
    invoice = await stripe.create_invoice(invoice_request(customer_id))
    await sandbox.pay_invoice(invoice.id)

    with pytest.raises(ValueError, match="no invoice"):
        await sandbox.pay_invoice("in_unknown")
    with pytest.raises(ValueError, match="is paid, not open"):
        await sandbox.pay_invoice(invoice.id)


async def test_the_hosted_invoice_page_shows_the_invoice_and_its_pay_button_pays_it(
    stripe: StripeConnector, sandbox: StripeSandbox, raw: httpx.AsyncClient
) -> None:
    customer_id = await new_customer(stripe)
    invoice = await stripe.create_invoice(invoice_request(customer_id))
    number = sandbox.billing.invoices[invoice.id]["number"]
    sandbox.outbox.clear()

    page = await raw.get(f"/i/{invoice.id}")
    paid = await raw.post(f"/i/{invoice.id}")
    after = await raw.get(f"/i/{invoice.id}")
    missing = await raw.get("/i/in_missing")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert number in page.text
    assert "Tax on Hosting setup" in page.text
    assert "719.00 EUR" in page.text
    assert '<form method="post">' in page.text
    assert paid.status_code == 303
    assert paid.headers["location"] == f"http://sandbox/i/{invoice.id}"
    assert event_types(sandbox) == ["payment_intent.succeeded", "charge.succeeded", "invoice.paid"]
    assert "Paid" in after.text
    assert "<form" not in after.text
    assert missing.status_code == 404


async def test_hosted_urls_follow_the_mount_the_app_serves_the_sandbox_under(
    sandbox: StripeSandbox,
) -> None:
    app = Starlette(routes=[Mount("/sandbox/stripe", app=sandbox.app)])
    base = "http://gigforge.test/sandbox/stripe"
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gigforge.test"
    ) as client:
        customer = (
            await client.post(f"{base}/v1/customers", headers=AUTH, data={"email": "a@b.c"})
        ).json()
        invoice = (
            await client.post(
                f"{base}/v1/invoices",
                headers=AUTH,
                data={
                    "customer": customer["id"],
                    "collection_method": "send_invoice",
                    "days_until_due": "7",
                },
            )
        ).json()
        await client.post(
            f"{base}/v1/invoiceitems",
            headers=AUTH,
            data={"customer": customer["id"], "invoice": invoice["id"], "amount": "500"},
        )
        final = (
            await client.post(f"{base}/v1/invoices/{invoice['id']}/finalize", headers=AUTH)
        ).json()
        page = await client.get(final["hosted_invoice_url"])

    assert final["hosted_invoice_url"] == f"{base}/i/{invoice['id']}"
    assert page.status_code == 200
    assert "5.00 USD" in page.text


async def test_a_subscription_bills_monthly_through_a_recurring_price(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    customer_id = await new_customer(stripe)
    request = SubscriptionRequest(
        customer_id=customer_id,
        currency="USD",
        amount_minor=150_000,
        description="Retainer: 10 hours a month",
        interval="month",
        reference="ret_1",
    )

    subscription = await stripe.create_subscription(request)
    again = await stripe.create_subscription(request)

    assert subscription.id.startswith("sub_")
    assert again.id == subscription.id
    assert subscription.status == "active"
    assert subscription.current_period_end is not None
    days = (subscription.current_period_end - datetime.now(UTC)).days
    assert 27 <= days <= 31
    stored = sandbox.billing.subscriptions[subscription.id]
    price = stored["items"]["data"][0]["price"]
    assert price["id"].startswith("price_")
    assert price["product"].startswith("prod_")
    assert (price["unit_amount"], price["recurring"]["interval"]) == (150_000, "month")
    assert stored["metadata"] == {"gigforge_reference": "ret_1"}
    first_invoice = sandbox.billing.invoices[stored["latest_invoice"]]
    assert (first_invoice["status"], first_invoice["amount_due"]) == ("open", 150_000)
    assert first_invoice["parent"]["subscription_details"]["subscription"] == subscription.id
    assert len(sandbox.billing.prices) == 1


async def test_cancelling_a_subscription_twice_returns_it_cancelled(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    customer_id = await new_customer(stripe)
    subscription = await stripe.create_subscription(
        SubscriptionRequest(
            customer_id=customer_id,
            currency="USD",
            amount_minor=9_900,
            description="Care plan",
            interval="year",
            reference="ret_2",
        )
    )

    cancelled = await stripe.cancel_subscription(subscription.id)
    again = await stripe.cancel_subscription(subscription.id)

    assert cancelled.status == again.status == "canceled"
    assert event_types(sandbox).count("customer.subscription.deleted") == 1
    assert sandbox.received[-2].method == "DELETE"


async def test_every_event_is_signed_so_the_official_stripe_library_accepts_it(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    customer_id = await new_customer(stripe)
    invoice = await stripe.create_invoice(invoice_request(customer_id))
    await sandbox.pay_invoice(invoice.id)

    verified = [
        stripe_sdk.Webhook.construct_event(
            delivery.body.decode(), delivery.headers["Stripe-Signature"], SANDBOX_WEBHOOK_SECRET
        )
        for delivery in sandbox.outbox
    ]

    assert [event.type for event in verified][-3:] == [
        "payment_intent.succeeded",
        "charge.succeeded",
        "invoice.paid",
    ]
    assert [event.id for event in verified] == [e["id"] for e in sandbox.events[-len(verified) :]]
    with pytest.raises(stripe_sdk.SignatureVerificationError):
        stripe_sdk.Webhook.construct_event(
            sandbox.outbox[0].body.decode(),
            sandbox.outbox[0].headers["Stripe-Signature"],
            "whsec_another_secret",
        )


async def test_webhook_target_receives_each_event_as_it_happens(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    received: list[WebhookDelivery] = []

    async def target(delivery: WebhookDelivery) -> None:
        received.append(delivery)

    sandbox.webhook_target = target
    customer_id = await new_customer(stripe)
    invoice = await stripe.create_invoice(invoice_request(customer_id))
    await sandbox.pay_invoice(invoice.id)

    assert received == sandbox.outbox
    events = [stripe.parse_webhook(d.headers, d.body) for d in received]
    paid = stripe.interpret(events[-1])
    assert paid.kind is PaymentEventKind.invoice_paid
    assert (paid.invoice_id, paid.reference, paid.amount_minor) == (invoice.id, "inv_7d1c", 71_900)
    assert paid.payment_id == (await stripe.get_invoice(invoice.id)).payment_id


async def test_the_balance_history_shows_the_invoice_payment_with_its_fee(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    start = datetime.now(UTC) - timedelta(minutes=1)
    customer_id = await new_customer(stripe)
    invoice = await stripe.create_invoice(invoice_request(customer_id, currency="USD"))
    await sandbox.pay_invoice(invoice.id)

    entries = [entry async for entry in stripe.balance_entries(created_after=start)]

    assert [entry.type for entry in entries] == ["charge"]
    charge = entries[0]
    fee = (71_900 * 29 + 500) // 1000 + 30
    assert (charge.amount_minor, charge.fee_minor, charge.net_minor) == (71_900, fee, 71_900 - fee)
    assert charge.source is not None
    assert charge.source.startswith("ch_")
    assert ("expand[0]", "data.source") in sandbox.received[-1].params
