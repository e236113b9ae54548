"""Invoice pages: the list, a new invoice from a job or by hand, and one invoice with the
buttons its state allows (issue, open the provider's payment page, PDF, mark paid by bank
transfer, credit note, delete a draft).

The provider's payment page is created in the background after issue, and a payment arrives
as the provider's webhook; while either is awaited the invoice page polls a small partial
every two seconds, which asks for a full reload once the invoice's state moved on.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Form, status
from starlette.datastructures import FormData
from starlette.responses import Response

from gigforge.jobs.service import jobs as job_service
from gigforge.jobs.states import JobStatus
from gigforge.kit.errors import GigforgeError
from gigforge.kit.pagination import PageParams, clamp_offset
from gigforge.payments import presenting
from gigforge.payments.documents import invoice_pdf
from gigforge.payments.errors import InvoiceNotFound
from gigforge.payments.invoices import LineInput, invoices
from gigforge.payments.models import Invoice, InvoiceKind, InvoiceStatus, PaymentMethod
from gigforge.payments.schemas import InvoiceRead
from gigforge.web.pages_payments_base import (
    INVOICE_BADGES,
    INVOICE_LABELS,
    POLL_SECONDS,
    FormProblem,
    amount_minor,
    base_context,
    can_write,
    forbidden,
    missing,
    undo,
)
from gigforge.web.pages_proposals import Page, PostingPage, ReadingPage
from gigforge.web.rendering import DashboardRoute, redirect, render

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

PAGE_SIZE = 50
JOB_CHOICES = 100
LINE_SLOTS = 3
MAX_LINE_SLOTS = 30


@dataclass
class LineForm:
    description: str = ""
    quantity: str = "1"
    unit_amount: str = ""
    tax_rate: str = ""

    @property
    def blank(self) -> bool:
        return not (self.description.strip() or self.unit_amount.strip())


@dataclass
class ManualForm:
    client_name: str = ""
    client_email: str = ""
    currency: str = ""
    memo: str = ""
    days_until_due: str = "14"
    method: str = PaymentMethod.stripe.value
    lines: list[LineForm] | None = None


def _percent_bps(text: str, what: str) -> int:
    """A tax rate typed as a percentage ("20", "5.5") in basis points; empty is none."""
    typed = text.strip().rstrip("%").strip()
    if not typed:
        return 0
    try:
        rate = Decimal(typed)
    except InvalidOperation:
        raise FormProblem(f"{what}: the tax rate is a percentage such as 20 or 5.5.") from None
    bps = rate * 100
    if not rate.is_finite() or bps != bps.to_integral_value():
        raise FormProblem(f"{what}: a tax rate has at most two decimals (20.5).")
    return int(bps)


def _whole(text: str, what: str, default: int) -> int:
    typed = text.strip()
    if not typed:
        return default
    try:
        return int(typed)
    except ValueError:
        raise FormProblem(f"{what} is a whole number.") from None


def _line_forms(form: FormData) -> list[LineForm]:
    def values(name: str) -> list[str]:
        return [str(value) for value in form.getlist(name)][:MAX_LINE_SLOTS]

    descriptions, quantities = values("description"), values("quantity")
    units, taxes = values("unit_amount"), values("tax_rate")
    return [
        LineForm(
            description,
            quantities[i] if i < len(quantities) else "1",
            units[i] if i < len(units) else "",
            taxes[i] if i < len(taxes) else "",
        )
        for i, description in enumerate(descriptions)
    ]


def _lines(forms: list[LineForm], currency: str) -> list[LineInput]:
    lines = []
    for number, line in enumerate((f for f in forms if not f.blank), start=1):
        what = f"Line {number}"
        lines.append(
            LineInput(
                description=line.description.strip(),
                quantity=_whole(line.quantity, f"{what}: the quantity", 1),
                unit_amount_minor=amount_minor(line.unit_amount, currency, f"{what}: the price"),
                tax_rate_bps=_percent_bps(line.tax_rate, what),
            )
        )
    if not lines:
        raise FormProblem("Write at least one line: a description and its price.")
    return lines


async def _list_page(
    page: Page,
    *,
    offset: int = 0,
    manual: ManualForm | None = None,
    job_form: dict[str, str] | None = None,
    problem: str | None = None,
    problem_for: str = "",
    status_code: int = status.HTTP_200_OK,
) -> Response:
    principal = page.viewer.principal
    offset = clamp_offset(offset)
    rows, total = await invoices.list(
        page.session, principal, PageParams(limit=PAGE_SIZE, offset=offset)
    )
    jobs, _ = await job_service.list(
        page.session, principal, page=PageParams(limit=JOB_CHOICES, offset=0)
    )
    home = await invoices.home_currency(page.session, principal.user_id)
    manual = manual or ManualForm(currency=home)
    slots = manual.lines or []
    slots = slots + [LineForm() for _ in range(max(LINE_SLOTS - len(slots), 0))]
    return render(
        page.request,
        "invoices.html",
        {
            **await base_context(page),
            "invoices": [presenting.invoice(row) for row in rows],
            "total": total,
            "offset": offset,
            "page_size": PAGE_SIZE,
            "labels": INVOICE_LABELS,
            "badges": INVOICE_BADGES,
            "jobs": [job for job in jobs if job.status is not JobStatus.cancelled],
            "manual": manual,
            "line_forms": slots,
            "job_form": job_form or {},
            "problem": problem,
            "problem_for": problem_for,
        },
        status_code=status_code,
    )


@router.get("/payments/invoices")
async def invoice_list(page: ReadingPage, offset: int = 0) -> Response:
    return await _list_page(page, offset=offset)


@router.post("/payments/invoices/from-job")
async def from_job(
    page: PostingPage,
    job_id: Annotated[str, Form(max_length=40)] = "",
    amount: Annotated[str, Form(max_length=40)] = "",
    milestone: Annotated[str, Form(max_length=200)] = "",
    tax_rate: Annotated[str, Form(max_length=10)] = "",
    client_email: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    """A draft for one of the user's jobs: one line, the job's title at its budget."""
    if not can_write(page):
        return forbidden(page)
    fields = {
        "job_id": job_id,
        "amount": amount,
        "milestone": milestone,
        "tax_rate": tax_rate,
        "client_email": client_email,
    }
    try:
        try:
            job = uuid.UUID(job_id)
        except ValueError:
            raise FormProblem("Choose the job to invoice.") from None
        found = await job_service.get(page.session, page.viewer.principal, job_id=job)
        row = await invoices.from_job(
            page.session,
            page.viewer.principal,
            job_id=job,
            milestone=milestone.strip() or None,
            amount_minor=(
                amount_minor(amount, found.currency or "USD") if amount.strip() else None
            ),
            tax_rate_bps=_percent_bps(tax_rate, "The tax rate"),
            client_email=client_email.strip() or None,
        )
    except GigforgeError as exc:
        await undo(page, exc)
        return await _list_page(
            page,
            job_form=fields,
            problem=exc.detail,
            problem_for="job",
            status_code=exc.status_code,
        )
    return redirect(page.request, f"/payments/invoices/{row.id}")


@router.post("/payments/invoices/new")
async def create(page: PostingPage) -> Response:
    """A draft written by hand; "More lines" shows the form again with empty lines added."""
    if not can_write(page):
        return forbidden(page)
    form = await page.request.form()
    manual = ManualForm(
        client_name=str(form.get("client_name") or "")[:200],
        client_email=str(form.get("client_email") or "")[:320],
        currency=str(form.get("currency") or "").strip().upper()[:3],
        memo=str(form.get("memo") or "")[:5000],
        days_until_due=str(form.get("days_until_due") or "14")[:5],
        method=str(form.get("method") or PaymentMethod.stripe.value),
        lines=_line_forms(form),
    )
    if form.get("action") == "more":
        lines = (manual.lines or []) + [LineForm() for _ in range(LINE_SLOTS)]
        manual.lines = lines[:MAX_LINE_SLOTS]
        return await _list_page(page, manual=manual)
    try:
        try:
            method = PaymentMethod(manual.method)
        except ValueError:
            raise FormProblem("Choose how the client pays.") from None
        currency = manual.currency or await invoices.home_currency(
            page.session, page.viewer.principal.user_id
        )
        row = await invoices.create(
            page.session,
            page.viewer.principal,
            client_name=manual.client_name,
            client_email=manual.client_email.strip() or None,
            currency=currency,
            lines=_lines(manual.lines or [], currency),
            memo=manual.memo,
            days_until_due=_whole(manual.days_until_due, "Days until due", 14),
            method=method,
        )
    except GigforgeError as exc:
        await undo(page, exc)
        return await _list_page(
            page,
            manual=manual,
            problem=exc.detail,
            problem_for="manual",
            status_code=exc.status_code,
        )
    return redirect(page.request, f"/payments/invoices/{row.id}")


def stage(invoice: InvoiceRead) -> str:
    """What the invoice page's buttons depend on; when it changes the page reloads."""
    return f"{invoice.status.value}.{int(bool(invoice.pay_url))}.{int(bool(invoice.send_error))}"


def awaiting(invoice: InvoiceRead, paid_return: bool) -> bool:
    """Something the page waits for: the provider's page being made, or a payment."""
    if invoice.status is not InvoiceStatus.issued:
        return False
    making_page = (
        invoice.method is PaymentMethod.stripe
        and invoice.kind is InvoiceKind.invoice
        and not invoice.pay_url
        and not invoice.send_error
    )
    return making_page or paid_return


async def _owned(page: Page, invoice_id: uuid.UUID) -> Invoice | None:
    try:
        return await invoices.get(page.session, page.viewer.principal, invoice_id)
    except InvoiceNotFound:
        return None


async def _invoice_page(
    page: Page,
    row: Invoice,
    *,
    paid_return: bool = False,
    problem: str | None = None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    read = presenting.invoice(row, await invoices.lines(page.session, row))
    corrects = await _owned(page, row.corrects_id) if row.corrects_id is not None else None
    context: dict[str, Any] = {
        **await base_context(page),
        "invoice": read,
        "memo": row.memo,
        "labels": INVOICE_LABELS,
        "badges": INVOICE_BADGES,
        "credit_notes": [
            presenting.invoice(note) for note in await invoices.credit_notes(page.session, row)
        ],
        "corrects": presenting.invoice(corrects) if corrects is not None else None,
        "paid_return": paid_return,
        "awaiting": awaiting(read, paid_return),
        "stage": stage(read),
        "poll_seconds": POLL_SECONDS,
        "problem": problem,
    }
    return render(page.request, "invoice.html", context, status_code=status_code)


# Registered before /payments/invoices/{invoice_id}, which would take "<id>.pdf" otherwise.
@router.get("/payments/invoices/{invoice_id}.pdf")
async def pdf(invoice_id: uuid.UUID, page: ReadingPage) -> Response:
    """The invoice as a PDF (the API's /pdf takes a bearer token; this one the session)."""
    row = await _owned(page, invoice_id)
    if row is None:
        return missing(page, "invoice")
    if row.number is None:
        return await _invoice_page(
            page,
            row,
            problem="A draft has no PDF yet; issue it first.",
            status_code=status.HTTP_409_CONFLICT,
        )
    content = await invoice_pdf(page.session, page.viewer.principal, row)
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{row.number}.pdf"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/payments/invoices/{invoice_id}")
async def invoice_page(invoice_id: uuid.UUID, page: ReadingPage, paid: str = "") -> Response:
    row = await _owned(page, invoice_id)
    if row is None:
        return missing(page, "invoice")
    return await _invoice_page(page, row, paid_return=bool(paid))


@router.get("/payments/invoices/{invoice_id}/state")
async def invoice_state(
    invoice_id: uuid.UUID, page: ReadingPage, shown: str = "", paid: str = ""
) -> Response:
    """For the polling page: the waiting note as it is, or a full reload once it moved on."""
    row = await _owned(page, invoice_id)
    if row is None:
        return missing(page, "invoice")
    read = presenting.invoice(row)
    if stage(read) != shown:
        return Response(status_code=status.HTTP_200_OK, headers={"HX-Refresh": "true"})
    return render(
        page.request,
        "_invoice_waiting.html",
        {
            "invoice": read,
            "paid_return": bool(paid),
            "awaiting": awaiting(read, bool(paid)),
            "stage": stage(read),
            "poll_seconds": POLL_SECONDS,
        },
    )


async def _act(page: Page, invoice_id: uuid.UUID, act: Any, *, to: str = "") -> Response:
    """One button; a refused action is explained on the invoice page."""
    if not can_write(page):
        return forbidden(page)
    row = await _owned(page, invoice_id)
    if row is None:
        return missing(page, "invoice")
    try:
        target = await act(row)
    except GigforgeError as exc:
        await undo(page, exc)
        again = await _owned(page, invoice_id)
        if again is None:
            return missing(page, "invoice")
        return await _invoice_page(page, again, problem=exc.detail, status_code=exc.status_code)
    return redirect(page.request, to or f"/payments/invoices/{target or invoice_id}")


@router.post("/payments/invoices/{invoice_id}/issue")
async def issue(
    invoice_id: uuid.UUID,
    page: PostingPage,
    exchange_rate: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    async def act(row: Invoice) -> None:
        rate = None
        if exchange_rate.strip():
            try:
                rate = Decimal(exchange_rate.strip())
            except InvalidOperation:
                raise FormProblem("The exchange rate is a number such as 0.92.") from None
        await invoices.issue(page.session, page.viewer.principal, row.id, exchange_rate=rate)

    return await _act(page, invoice_id, act)


@router.post("/payments/invoices/{invoice_id}/mark-paid")
async def mark_paid(
    invoice_id: uuid.UUID,
    page: PostingPage,
    reference: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """The client paid by bank transfer; the reference is the transfer's, as on the statement."""

    async def act(row: Invoice) -> None:
        text = reference.strip()
        if not text or len(text) > 80:
            raise FormProblem("Give the transfer's reference (up to 80 characters).")
        await invoices.mark_paid(page.session, page.viewer.principal, row.id, reference=text)

    return await _act(page, invoice_id, act)


@router.post("/payments/invoices/{invoice_id}/credit")
async def credit(
    invoice_id: uuid.UUID,
    page: PostingPage,
    reason: Annotated[str, Form(max_length=2000)] = "",
    amount: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """A credit note: voids an unpaid invoice credited in full, refunds a paid one."""

    async def act(row: Invoice) -> uuid.UUID:
        text = reason.strip()
        if not text:
            raise FormProblem("Say why the invoice is corrected.")
        note = await invoices.credit(
            page.session,
            page.viewer.principal,
            row.id,
            reason=text[:1000],
            amount_minor=amount_minor(amount, row.currency) if amount.strip() else None,
        )
        return note.id

    return await _act(page, invoice_id, act)


@router.post("/payments/invoices/{invoice_id}/delete")
async def delete(invoice_id: uuid.UUID, page: PostingPage) -> Response:
    async def act(row: Invoice) -> None:
        await invoices.delete_draft(page.session, page.viewer.principal, row.id)

    return await _act(page, invoice_id, act, to="/payments/invoices")
