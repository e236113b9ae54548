"""Invoice and credit note PDFs, rendered from plain values (no database, no network).

Text is set in DejaVu Sans, embedded as a subset, so client names in Cyrillic, accents and
currency signs such as the euro print as typed. On a machine without the DejaVu TTF files
(`DEJAVU_SANS`, and `DEJAVU_SANS_BOLD` for headings, which falls back to the regular face) the
document uses the PDF core font Helvetica instead; Helvetica only covers latin-1, so every
character outside latin-1 is printed as "?" rather than failing the render.

The output is reproducible: the same invoice gives the same bytes, because the document's
creation date is the invoice's issue date rather than the time of rendering (only a document
without an issue date carries the render time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

from gigforge.kit.money import format_major, minor_to_major

DEJAVU_SANS = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
DEJAVU_SANS_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")

KINDS = {"invoice": "Invoice", "credit_note": "Credit note"}
STATUSES = ("issued", "paid", "void")

_MARGIN = 18.0
_INK = (33, 37, 41)
_MUTED = (108, 117, 125)
_RULE = (206, 212, 218)
_LINK = (13, 110, 253)
_STAMPS = {"paid": ("PAID", (25, 135, 84)), "void": ("VOID", (220, 53, 69))}
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True)
class PdfLine:
    description: str
    quantity: int
    unit_amount_minor: int
    tax_rate_bps: int  # 2000 = 20 %
    tax_minor: int
    amount_minor: int  # quantity * unit, before tax


@dataclass(frozen=True)
class PdfInvoice:
    kind: str  # "invoice" or "credit_note"
    number: str  # "INV-000001" / "CN-000001"
    status: str  # issued, paid, void
    issued_at: datetime | None
    due_at: datetime | None
    paid_at: datetime | None
    seller_name: str
    seller_email: str
    client_name: str
    client_email: str | None
    memo: str
    currency: str
    lines: tuple[PdfLine, ...]
    subtotal_minor: int
    tax_minor: int
    total_minor: int
    home_currency: str
    exchange_rate: Decimal  # home units per invoice unit
    rate_source: str | None
    home_total_minor: int
    corrects_number: str | None  # for a credit note: the invoice it corrects
    pay_url: str | None  # hosted payment page, printed as a link when unpaid
    job_title: str | None


def render_invoice(invoice: PdfInvoice, *, compress: bool = True) -> bytes:
    """The invoice as a one-or-more-page A4 PDF. `compress=False` leaves the page content
    streams readable, which lets tests find the printed text in the bytes."""
    if invoice.kind not in KINDS:
        raise ValueError(f"Unknown document kind {invoice.kind!r}; expected one of {sorted(KINDS)}")
    if invoice.status not in STATUSES:
        raise ValueError(f"Unknown invoice status {invoice.status!r}; expected one of {STATUSES}")
    document = _InvoiceDocument(invoice)
    document.set_compression(compress)
    document.render()
    return bytes(document.output())


def format_amount(amount_minor: int, currency: str) -> str:
    return format_major(minor_to_major(amount_minor, currency), currency)


def format_tax_rate(rate_bps: int) -> str:
    """2000 -> "20%", 550 -> "5.5%", 1925 -> "19.25%"."""
    return f"{Decimal(rate_bps).scaleb(-2).normalize():f}%"


def format_date(moment: datetime) -> str:
    """The UTC calendar date in English ("2 March 2025"), whatever the server's locale."""
    day = _as_utc(moment)
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def _as_utc(moment: datetime) -> datetime:
    # Times are stored aware and in UTC; a naive one is read as UTC rather than local time,
    # which would make the output depend on the machine.
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class _InvoiceDocument(FPDF):
    def __init__(self, invoice: PdfInvoice) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.invoice = invoice
        self.label = KINDS[invoice.kind]
        self.unicode = DEJAVU_SANS.is_file()
        if self.unicode:
            bold = DEJAVU_SANS_BOLD if DEJAVU_SANS_BOLD.is_file() else DEJAVU_SANS
            self.add_font("DejaVu", "", str(DEJAVU_SANS))
            self.add_font("DejaVu", "B", str(bold))
            self.family = "DejaVu"
        else:
            self.family = "Helvetica"
        self.set_margins(_MARGIN, _MARGIN, _MARGIN)
        self.set_auto_page_break(auto=True, margin=_MARGIN + 6)
        self.set_title(f"{self.label} {invoice.number}")
        self.set_author(invoice.seller_name)
        self.set_subject(f"{self.label} {invoice.number} for {invoice.client_name}")
        self.set_creator("Gigforge")
        if invoice.issued_at is not None:
            self.set_creation_date(_as_utc(invoice.issued_at))

    def printable(self, value: str) -> str:
        """What the current font can print: unchanged with DejaVu, latin-1 with Helvetica."""
        if self.unicode:
            return value
        return value.encode("latin-1", "replace").decode("latin-1")

    def style(self, size: float, *, bold: bool = False, color: tuple[int, int, int] = _INK) -> None:
        self.set_font(self.family, "B" if bold else "", size)
        self.set_text_color(*color)

    def footer(self) -> None:
        self.set_y(-_MARGIN)
        self.style(8, color=_MUTED)
        self.cell(
            0,
            5,
            self.printable(
                f"{self.label} {self.invoice.number} \u00b7 page {self.page_no()} of {{nb}}"
            ),
            align="C",
        )

    def render(self) -> None:
        self.add_page()
        self.header_block()
        self.parties()
        self.lines_table()
        self.totals()
        self.memo()
        self.pay_link()

    def header_block(self) -> None:
        invoice = self.invoice
        self.style(24, bold=True)
        self.cell(0, 11, self.printable(self.label), new_x="LMARGIN", new_y="NEXT")
        self.style(12, bold=True)
        self.cell(0, 7, self.printable(invoice.number), new_x="LMARGIN", new_y="NEXT")
        self.ln(2)
        issued = format_date(invoice.issued_at) if invoice.issued_at else "Not issued yet"
        facts = [("Issued", issued)]
        if invoice.due_at:
            facts.append(("Due", format_date(invoice.due_at)))
        if invoice.paid_at:
            facts.append(("Paid", format_date(invoice.paid_at)))
        if invoice.corrects_number:
            facts.append(("Corrects", f"Invoice {invoice.corrects_number}"))
        if invoice.job_title:
            facts.append(("Job", invoice.job_title))
        for label, value in facts:
            self.style(9, color=_MUTED)
            self.cell(24, 5, self.printable(label))
            self.style(9)
            self.multi_cell(0, 5, self.printable(value), align="L", new_x="LMARGIN", new_y="NEXT")
        if invoice.status in _STAMPS:
            self.stamp(*_STAMPS[invoice.status])
        self.ln(6)

    def stamp(self, word: str, color: tuple[int, int, int]) -> None:
        width, height = 46.0, 16.0
        centre_x, centre_y = self.w - _MARGIN - width / 2 - 4, _MARGIN + 12
        after = self.get_x(), self.get_y()
        with self.rotation(angle=14, x=centre_x, y=centre_y):
            self.set_draw_color(*color)
            self.set_line_width(1.2)
            self.style(26, bold=True, color=color)
            self.set_xy(centre_x - width / 2, centre_y - height / 2)
            self.cell(width, height, word, border=1, align="C")
        self.set_line_width(0.2)
        self.set_xy(*after)

    def parties(self) -> None:
        invoice = self.invoice
        column = (self.epw - 8) / 2
        top = self.get_y()
        bottoms = []
        blocks = [
            ("From", invoice.seller_name, invoice.seller_email),
            ("Bill to", invoice.client_name, invoice.client_email),
        ]
        for index, (heading, name, email) in enumerate(blocks):
            left = self.l_margin + index * (column + 8)
            self.set_xy(left, top)
            self.style(8, bold=True, color=_MUTED)
            self.cell(column, 5, self.printable(heading.upper()), new_x="LEFT", new_y="NEXT")
            self.style(10, bold=True)
            self.multi_cell(column, 5, self.printable(name), align="L", new_x="LEFT", new_y="NEXT")
            if email:
                self.style(9)
                self.multi_cell(
                    column, 5, self.printable(email), align="L", new_x="LEFT", new_y="NEXT"
                )
            bottoms.append(self.get_y())
        self.set_xy(self.l_margin, max(bottoms) + 8)

    def lines_table(self) -> None:
        currency = self.invoice.currency
        self.style(9)
        self.set_draw_color(*_RULE)
        with self.table(
            col_widths=(80, 14, 34, 16, 36),
            text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"),
            borders_layout="HORIZONTAL_LINES",
            headings_style=FontFace(emphasis="BOLD", color=_INK, fill_color=(241, 243, 245)),
            line_height=5,
            padding=(1.5, 2),
            width=self.epw,
        ) as table:
            heading = table.row()
            for title in ("Description", "Qty", "Unit price", "Tax", "Amount"):
                heading.cell(title)
            for line in self.invoice.lines:
                row = table.row()
                row.cell(self.printable(line.description))
                row.cell(f"{line.quantity:,}")
                row.cell(self.printable(format_amount(line.unit_amount_minor, currency)))
                row.cell(format_tax_rate(line.tax_rate_bps))
                row.cell(self.printable(format_amount(line.amount_minor, currency)))
        self.ln(4)

    def totals(self) -> None:
        invoice = self.invoice
        currency = invoice.currency
        self.total_row("Subtotal", format_amount(invoice.subtotal_minor, currency))
        self.total_row("Tax", format_amount(invoice.tax_minor, currency))
        self.set_draw_color(*_RULE)
        self.line(self.w - _MARGIN - 90, self.get_y(), self.w - _MARGIN, self.get_y())
        self.total_row("Total", format_amount(invoice.total_minor, currency), bold=True)
        if invoice.home_currency.strip().upper() != currency.strip().upper():
            home = invoice.home_currency.strip().upper()
            self.total_row(
                f"Total in {home}", format_amount(invoice.home_total_minor, invoice.home_currency)
            )
            rate = f"{invoice.exchange_rate.normalize():f}"
            source = f" ({invoice.rate_source})" if invoice.rate_source else ""
            self.style(8, color=_MUTED)
            self.cell(
                0,
                5,
                self.printable(f"Exchange rate: 1 {currency.upper()} = {rate} {home}{source}"),
                align="R",
                new_x="LMARGIN",
                new_y="NEXT",
            )
        self.ln(4)

    def total_row(self, label: str, value: str, *, bold: bool = False) -> None:
        self.set_x(self.w - _MARGIN - 90)
        self.style(10 if bold else 9, bold=bold, color=_INK if bold else _MUTED)
        self.cell(40, 6, self.printable(label))
        self.style(10 if bold else 9, bold=bold)
        self.cell(50, 6, self.printable(value), align="R", new_x="LMARGIN", new_y="NEXT")

    def memo(self) -> None:
        if not self.invoice.memo.strip():
            return
        self.style(9, bold=True)
        self.cell(0, 6, "Notes", new_x="LMARGIN", new_y="NEXT")
        self.style(9)
        self.multi_cell(
            0,
            5,
            self.printable(self.invoice.memo.strip()),
            align="L",
            new_x="LMARGIN",
            new_y="NEXT",
        )
        self.ln(4)

    def pay_link(self) -> None:
        invoice = self.invoice
        # Only an open invoice is payable: a paid or void one, or a credit note, shows no link.
        if invoice.kind != "invoice" or invoice.status != "issued" or not invoice.pay_url:
            return
        self.style(9, bold=True)
        self.cell(0, 6, "Pay online", new_x="LMARGIN", new_y="NEXT")
        self.style(9, color=_LINK)
        self.set_font(style="U")
        self.write(5, self.printable(invoice.pay_url), link=invoice.pay_url)
        self.ln(5)
