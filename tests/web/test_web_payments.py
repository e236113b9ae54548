"""The payments pages over HTTP, in sandbox mode: the wallet, invoices, payouts and the payout
account, each button through the same services as the API, and every refusal an HTML message
with a 4xx status (never a 500, never JSON)."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI

from factories import Account, AppFactory, register
from payments_support import completed_job
from web_support import csrf_of, sign_in

INVOICE_PATH = re.compile(r"^/payments/invoices/([0-9a-f-]{36})$")
PAY_LINK = re.compile(r'<a class="button" href="([^"]+)">Open payment page</a>')
STATE_POLL = re.compile(r'hx-get="/payments/invoices/[0-9a-f-]{36}/state\?shown=([^"&]+)')
TRANSACTION_LINK = re.compile(r'href="/payments/transactions/([0-9a-f-]{36})"')


def _html(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    return response.text


async def _signed_in(web: httpx.AsyncClient) -> Account:
    account = await register(web)
    await sign_in(web, account)
    return account


async def _post(web: httpx.AsyncClient, path: str, **fields: str) -> httpx.Response:
    page = await web.get("/payments/payouts")
    return await web.post(path, data={"csrf_token": csrf_of(page.text), **fields})


async def _onboard_on_the_pages(web: httpx.AsyncClient) -> None:
    started = await _post(web, "/payments/account/connect", country="US")
    assert started.status_code == 303, started.text
    onboarding = started.headers["location"]
    assert "/sandbox/stripe/connect/onboarding/" in onboarding
    form = await web.get(onboarding)
    assert form.status_code == 200
    done = await web.post(
        onboarding, data={"business_name": "Ada Lovelace Studio", "account_number": "000123456789"}
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"].endswith("/payments/account?returned=1")


async def test_each_payments_page_renders_for_an_empty_user(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    await _signed_in(web)
    wallet = _html(await web.get("/payments"), 200)
    assert 'href="/payments" aria-current="page">Payments</a>' in wallet
    assert "No transactions yet" in wallet
    assert "USD 0.00" in wallet
    assert "Available for withdrawal" in wallet
    invoices = _html(await web.get("/payments/invoices"), 200)
    assert "No invoices yet" in invoices
    assert "No jobs to invoice yet" in invoices
    assert 'action="/payments/invoices/new"' in invoices
    payouts = _html(await web.get("/payments/payouts"), 200)
    assert "No payouts yet." in payouts
    assert "set it up" in payouts
    account = _html(await web.get("/payments/account"), 200)
    assert "No payout account yet" in account
    assert "Set up payouts" in account
    assert _html(await web.get("/payments?type=nonsense&cursor=nonsense"), 200)
    missing = _html(await web.get("/payments/invoices/00000000-0000-4000-8000-000000000000"), 404)
    assert "No such invoice" in missing


async def test_the_pages_ask_a_visitor_to_sign_in(web: httpx.AsyncClient) -> None:
    answer = await web.get("/payments/payouts")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=")


async def test_a_payout_is_refused_with_html_and_the_form_kept(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    await _signed_in(web)
    by_check = _html(await _post(web, "/payments/payouts", amount="12.50", method="check"), 422)
    assert "No connected payment provider pays out by check" in by_check
    assert 'value="12.50"' in by_check
    assert '<option value="check" selected>' in by_check

    no_account = _html(
        await _post(web, "/payments/payouts", amount="12.50", method="bank_transfer"), 409
    )
    assert "Finish connecting your payout account" in no_account

    await _onboard_on_the_pages(web)
    poor = _html(await _post(web, "/payments/payouts", amount="12.50", method="instant"), 422)
    assert 'class="error" role="alert"' in poor
    assert 'value="12.50"' in poor
    assert "No payouts yet." in poor, "the refused request held nothing"

    typo = _html(await _post(web, "/payments/payouts", amount="12.5.0"), 422)
    assert "Enter an amount such as 1,500.00" in typo


async def test_bank_accounts_and_the_rule_explain_what_is_wrong(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    await _signed_in(web)
    bad_iban = _html(
        await _post(
            web,
            "/payments/payouts/bank-accounts",
            holder_name="Ada Lovelace",
            iban="DE89370400440532013001",
            currency="EUR",
        ),
        422,
    )
    assert "The IBAN is not valid" in bad_iban
    assert 'value="Ada Lovelace"' in bad_iban
    no_account = _html(
        await _post(
            web,
            "/payments/payouts/bank-accounts",
            holder_name="Ada Lovelace",
            iban="DE89370400440532013000",
            bic="COBADEFFXXX",
            currency="EUR",
        ),
        409,
    )
    assert "Connect your payout account first" in no_account

    await _onboard_on_the_pages(web)
    saved = await _post(
        web,
        "/payments/payouts/bank-accounts",
        holder_name="Ada Lovelace",
        iban="DE89 3704 0044 0532 0130 00",
        bic="COBADEFFXXX",
        currency="EUR",
    )
    assert saved.status_code == 303, saved.text
    listed = _html(await web.get("/payments/payouts?saved=bank"), 200)
    assert "DE** **** 3000" in listed
    assert "DE89370400440532013000" not in listed

    bad_rule = _html(
        await _post(
            web, "/payments/payouts/rule", auto_payout_max="100", auto_payout_daily_max="50"
        ),
        409,
    )
    assert "The daily cap of automatic payouts must be at least the cap of one payout" in bad_rule
    assert 'value="50"' in bad_rule
    ok = await _post(
        web, "/payments/payouts/rule", auto_payout_max="100", auto_payout_daily_max="250"
    )
    assert ok.status_code == 303, ok.text
    rule = _html(await web.get("/payments/payouts?saved=rule"), 200)
    assert "The automatic payout rule is saved." in rule
    assert 'value="250.00"' in rule


async def test_an_invoice_by_hand_keeps_its_lines_then_is_paid_by_transfer_and_credited(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    await _signed_in(web)
    empty = _html(
        await _post(web, "/payments/invoices/new", client_name="Initech", currency="USD"), 422
    )
    assert "Write at least one line" in empty
    assert 'value="Initech"' in empty
    more = _html(
        await _post(
            web,
            "/payments/invoices/new",
            client_name="Initech",
            currency="USD",
            description="Audit",
            unit_amount="400",
            action="more",
        ),
        200,
    )
    assert 'id="il-desc-4"' in more
    assert 'value="Audit"' in more

    page = await web.get("/payments/invoices")
    made = await web.post(
        "/payments/invoices/new",
        data={
            "csrf_token": csrf_of(page.text),
            "client_name": "Initech",
            "currency": "USD",
            "method": "manual",
            "days_until_due": "30",
            "description": ["Audit", "Report", ""],
            "quantity": ["2", "1", "1"],
            "unit_amount": ["400", "100.50", ""],
            "tax_rate": ["20", "", ""],
        },
    )
    assert made.status_code == 303, made.text
    found = INVOICE_PATH.match(made.headers["location"])
    assert found is not None
    invoice = f"/payments/invoices/{found.group(1)}"
    draft = _html(await web.get(invoice), 200)
    assert "Delete draft" in draft
    assert "20 %: USD 160.00" in draft
    no_pdf = _html(await web.get(f"{invoice}.pdf"), 409)
    assert "A draft has no PDF yet" in no_pdf

    assert (await _post(web, f"{invoice}/issue")).status_code == 303
    issued = _html(await web.get(invoice), 200)
    assert "Invoice INV-000001" in issued
    assert "USD 1,060.50" in issued
    assert "Open payment page" not in issued, "a bank-transfer invoice has no provider page"
    pdf = await web.get(f"{invoice}.pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")

    again = _html(await _post(web, f"{invoice}/issue"), 409)
    assert "Only a draft is issued" in again
    nameless = _html(await _post(web, f"{invoice}/mark-paid", reference=" "), 422)
    assert "Give the transfer" in nameless
    assert (await _post(web, f"{invoice}/mark-paid", reference="SEPA-4471")).status_code == 303
    paid = _html(await web.get(invoice), 200)
    assert "badge-submitted" in paid
    assert ">Paid<" in paid

    too_much = _html(await _post(web, f"{invoice}/credit", reason="Discount", amount="5000"), 422)
    assert "at most what is left to credit" in too_much
    noted = await _post(web, f"{invoice}/credit", reason="Discount", amount="60.50")
    assert noted.status_code == 303, noted.text
    note = _html(await web.get(noted.headers["location"]), 200)
    assert "Credit note CN-000001" in note
    assert "USD 60.50" in note

    page = await web.get("/payments/invoices")
    second = await web.post(
        "/payments/invoices/new",
        data={
            "csrf_token": csrf_of(page.text),
            "client_name": "Globex",
            "currency": "USD",
            "description": "Call",
            "unit_amount": "50",
        },
    )
    assert second.status_code == 303
    gone = await _post(web, f"{second.headers['location']}/delete")
    assert gone.status_code == 303
    assert gone.headers["location"] == "/payments/invoices"
    assert (await web.get(second.headers["location"])).status_code == 404


async def test_a_job_invoiced_paid_and_withdrawn_on_the_pages(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    account = await _signed_in(web)
    job_id = await completed_job(sandbox_app, account)
    await _onboard_on_the_pages(web)
    back = _html(await web.get("/payments/account?returned=1"), 200)
    assert "Your payout account is ready" in back
    assert re.search(r'class="state-payouts">Yes<', back)

    listing = _html(await web.get("/payments/invoices"), 200)
    assert "Landing page copy (Acme Ltd, USD 1,500.00)" in listing
    drafted = await _post(web, "/payments/invoices/from-job", job_id=job_id)
    assert drafted.status_code == 303, drafted.text
    invoice = drafted.headers["location"]
    assert (await _post(web, f"{invoice}/issue")).status_code == 303
    making = _html(await web.get(invoice), 200)
    assert "The payment page is being created" in making
    shown = STATE_POLL.search(making)
    assert shown is not None
    waiting = _html(await web.get(f"{invoice}/state?shown={shown.group(1)}"), 200)
    assert waiting.startswith('<div id="invoice-waiting"')

    await sandbox_app.state.tasks.run_due()
    moved = await web.get(f"{invoice}/state?shown={shown.group(1)}")
    assert moved.headers["HX-Refresh"] == "true"
    issued = _html(await web.get(f"{invoice}?paid=1"), 200)
    assert "Waiting for the payment to be confirmed" in issued
    link = PAY_LINK.search(issued)
    assert link is not None
    pay_url = link.group(1).replace("&amp;", "&")
    paid = await web.post(pay_url, data={})
    assert paid.status_code in (200, 303), paid.text
    await sandbox_app.state.tasks.run_due()
    done = _html(await web.get(f"{invoice}?paid=1"), 200)
    assert "Payment received" in done
    assert "hx-get" not in done.split('id="invoice-waiting"', 1)[1].split(">", 1)[0]

    wallet = _html(await web.get("/payments"), 200)
    assert re.search(r'class="balance-available">USD 1,425.00<', wallet), wallet
    assert re.search(r'class="balance-fees">USD 75.00<', wallet), wallet
    ids = TRANSACTION_LINK.findall(wallet)
    assert ids
    postings = _html(await web.get(f"/payments/transactions/{ids[-1]}"), 200)
    assert re.search(r'class="postings-sum">USD 0.00<', postings)
    only_payouts = _html(await web.get("/payments?type=payout"), 200)
    assert "No transactions here." in only_payouts

    requested = await _post(web, "/payments/payouts", amount="500", method="bank_transfer")
    assert requested.status_code == 303, requested.text
    awaiting = _html(await web.get("/payments/payouts"), 200)
    assert "Waiting for your approval" in awaiting
    approve = re.search(r'action="(/payments/payouts/[0-9a-f-]{36})/approve"', awaiting)
    assert approve is not None
    wrong = _html(await _post(web, f"{approve.group(1)}/approve", password="not it"), 403)
    assert "The password is not right" in wrong
    assert "Waiting for your approval" in wrong
    right = await _post(web, f"{approve.group(1)}/approve", password=account.password)
    assert right.status_code == 303, right.text
    sending = _html(await web.get("/payments/payouts"), 200)
    assert "this page updates by itself" in sending
    await sandbox_app.state.tasks.run_due()
    payouts = _html(await web.get("/payments/payouts"), 200)
    assert "badge-submitted" in payouts
    assert ">Paid<" in payouts
    declined = _html(await _post(web, f"{approve.group(1)}/decline"), 409)
    assert "not awaiting approval" in declined
    wallet = _html(await web.get("/payments"), 200)
    assert re.search(r'class="balance-total">USD 925.00<', wallet), wallet


async def test_the_account_page_says_why_payments_are_off(app_factory: AppFactory) -> None:
    app = await app_factory()
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as web:
        await _signed_in(web)
        page = _html(await web.get("/payments/account"), 200)
        assert "Payments are off on this server:" in page
        assert app.state.payments.reason in page
        assert "Set up payouts" not in page
        refused = _html(await _post(web, "/payments/account/connect", country="US"), 503)
        assert "Payments are off" in refused
