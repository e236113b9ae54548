"""An invoice's PDF, built from its rows (rendering is in `pdf`, imported on first use)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.principal import Principal
from gigforge.jobs.service import jobs as job_service
from gigforge.payments.invoices import invoices
from gigforge.payments.models import Invoice


async def invoice_pdf(session: AsyncSession, principal: Principal, invoice: Invoice) -> bytes:
    # fpdf2 brings fontTools and numpy: loaded when a PDF is asked for, not at start-up.
    from gigforge.payments.pdf import PdfInvoice, PdfLine, render_invoice

    lines = await invoices.lines(session, invoice)
    corrects = (
        await invoices.get(session, principal, invoice.corrects_id)
        if invoice.corrects_id is not None
        else None
    )
    job = await job_service.find(session, invoice.job_id) if invoice.job_id else None
    return render_invoice(
        PdfInvoice(
            kind=invoice.kind.value,
            number=invoice.number or "",
            status=invoice.status.value,
            issued_at=invoice.issued_at,
            due_at=invoice.due_at,
            paid_at=invoice.paid_at,
            seller_name=principal.user.full_name,
            seller_email=principal.user.email,
            client_name=invoice.client_name,
            client_email=invoice.client_email,
            memo=invoice.memo,
            currency=invoice.currency,
            lines=tuple(
                PdfLine(
                    description=line.description,
                    quantity=line.quantity,
                    unit_amount_minor=line.unit_amount_minor,
                    tax_rate_bps=line.tax_rate_bps,
                    tax_minor=line.tax_minor,
                    amount_minor=line.amount_minor,
                )
                for line in lines
            ),
            subtotal_minor=invoice.subtotal_minor,
            tax_minor=invoice.tax_minor,
            total_minor=invoice.total_minor,
            home_currency=invoice.home_currency,
            exchange_rate=invoice.exchange_rate,
            rate_source=invoice.rate_source,
            home_total_minor=invoice.home_total_minor,
            corrects_number=corrects.number if corrects is not None else None,
            pay_url=invoice.hosted_url,
            job_title=job.title if job is not None and job.user_id == invoice.user_id else None,
        )
    )
