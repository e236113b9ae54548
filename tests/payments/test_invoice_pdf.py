"""Invoice PDFs: read back by decoding the uncompressed content streams through each embedded
font's ToUnicode map, so the assertions are on the text a reader would see."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from gigforge.payments import pdf as invoice_pdf
from gigforge.payments.pdf import PdfInvoice, PdfLine, render_invoice

_OBJECT = re.compile(rb"(\d+) 0 obj\s(.*?)endobj", re.DOTALL)
_STRING = rb"\((?:\\.|[^\\)])*\)"
_TEXT_OPERATION = re.compile(
    rb"/(?P<font>F\d+)\s+[\d.]+\s+Tf"
    rb"|(?P<show>" + _STRING + rb")\s*Tj"
    rb"|\[(?P<array>(?:" + _STRING + rb"|[^\]])*)\]\s*TJ",
    re.DOTALL,
)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}

# A Russian company name, Cyrillic on purpose (the letters look like Latin ones).
CYRILLIC_CLIENT = "ООО «Ромашка»"  # noqa: RUF001
LONG_DESCRIPTION = (
    "Redesign of the landing page including three rounds of revisions, responsive layouts "
    "for mobile, tablet and desktop, an accessibility review against WCAG 2.2 AA, copy edits "
    "in English and German, and the handover of every source file with usage notes"
)


def _unescape(literal: bytes) -> bytes:
    body = literal[1:-1]
    out = bytearray()
    index = 0
    while index < len(body):
        char = body[index : index + 1]
        if char != b"\\":
            out += char
            index += 1
            continue
        following = body[index + 1 : index + 2]
        octal = re.match(rb"[0-7]{1,3}", body[index + 1 : index + 4])
        if octal:
            out.append(int(octal.group(), 8))
            index += 1 + len(octal.group())
        else:
            out += _ESCAPES.get(following, following)
            index += 2
    return bytes(out)


def text_fragments(document: bytes) -> list[str]:
    """Each string a text-showing operator prints, in page order, decoded to Unicode."""
    objects = {int(number): body for number, body in _OBJECT.findall(document)}
    resources: dict[str, int] = {}
    for body in objects.values():
        for fonts in re.findall(rb"/Font\s*<<(.*?)>>", body, re.DOTALL):
            for name, number in re.findall(rb"/(F\d+)\s+(\d+) 0 R", fonts):
                resources[name.decode()] = int(number)
    to_unicode: dict[str, dict[int, str]] = {}
    for name, number in resources.items():
        reference = re.search(rb"/ToUnicode (\d+) 0 R", objects[number])
        if reference:
            cmap = objects[int(reference.group(1))]
            pairs: dict[int, str] = {}
            for section in re.findall(rb"beginbfchar(.*?)endbfchar", cmap, re.DOTALL):
                for code, target in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", section):
                    pairs[int(code, 16)] = bytes.fromhex(target.decode()).decode("utf-16-be")
            to_unicode[name] = pairs

    def decode(raw: bytes, font: str) -> str:
        mapping = to_unicode.get(font)
        if mapping is None:
            return raw.decode("latin-1")
        return "".join(
            mapping[int.from_bytes(raw[i : i + 2], "big")] for i in range(0, len(raw), 2)
        )

    fragments: list[str] = []
    for body in objects.values():
        if b"stream" not in body or b"BT" not in body:
            continue
        font = ""
        for operation in _TEXT_OPERATION.finditer(body):
            if operation.group("font"):
                font = operation.group("font").decode()
            elif operation.group("show"):
                fragments.append(decode(_unescape(operation.group("show")), font))
            else:
                parts = re.findall(_STRING, operation.group("array"))
                fragments.append("".join(decode(_unescape(part), font) for part in parts))
    return fragments


def pdf_text(document: bytes) -> str:
    return "\n".join(text_fragments(document))


def make_invoice(**changes: object) -> PdfInvoice:
    invoice = PdfInvoice(
        kind="invoice",
        number="INV-000042",
        status="issued",
        issued_at=datetime(2025, 3, 2, 10, 30, tzinfo=UTC),
        due_at=datetime(2025, 4, 1, tzinfo=UTC),
        paid_at=None,
        seller_name="Jane Doe Studio",
        seller_email="jane@studio.example",
        client_name="Acme Widgets Ltd",
        client_email="billing@acme.example",
        memo="Thank you for your business.",
        currency="USD",
        lines=(
            PdfLine("Landing page design", 2, 150_000, 2000, 60_000, 300_000),
            PdfLine("Hosting setup", 1, 25_050, 550, 1_378, 25_050),
        ),
        subtotal_minor=325_050,
        tax_minor=61_378,
        total_minor=386_428,
        home_currency="USD",
        exchange_rate=Decimal(1),
        rate_source=None,
        home_total_minor=386_428,
        corrects_number=None,
        pay_url="https://pay.example.com/i/inv_42",
        job_title="Website relaunch",
    )
    return dataclasses.replace(invoice, **changes)  # type: ignore[arg-type]


needs_dejavu = pytest.mark.skipif(
    not invoice_pdf.DEJAVU_SANS.is_file(),
    reason=f"DejaVu Sans is not installed at {invoice_pdf.DEJAVU_SANS}; Unicode text needs it",
)


def test_invoice_prints_number_dates_parties_lines_and_totals() -> None:
    document = render_invoice(make_invoice(), compress=False)

    assert document.startswith(b"%PDF-")
    assert document.rstrip().endswith(b"%%EOF")
    fragments = text_fragments(document)
    for expected in (
        "Invoice",
        "INV-000042",
        "2 March 2025",
        "1 April 2025",
        "Website relaunch",
        "Jane Doe Studio",
        "jane@studio.example",
        "Acme Widgets Ltd",
        "billing@acme.example",
        "Landing page design",
        "USD 1,500.00",
        "USD 3,000.00",
        "20%",
        "5.5%",
        "USD 250.50",
        "Subtotal",
        "USD 3,250.50",
        "USD 613.78",
        "Total",
        "USD 3,864.28",
        "Thank you for your business.",
    ):
        assert expected in fragments, expected
    # The page total is filled in after layout, as a text run of its own.
    assert "Invoice INV-000042 \u00b7 page 1 of 1" in "".join(fragments)


def test_compressed_invoice_is_a_pdf_and_rendering_is_reproducible() -> None:
    invoice = make_invoice()

    document = render_invoice(invoice)

    assert document.startswith(b"%PDF-")
    assert b"/FlateDecode" in document
    assert render_invoice(invoice) == document


def test_metadata_names_the_document_the_seller_and_the_issue_date() -> None:
    document = render_invoice(make_invoice(), compress=False)

    assert b"/Title (Invoice INV-000042)" in document
    assert b"/Author (Jane Doe Studio)" in document
    assert b"/CreationDate (D:20250302103000Z)" in document


def test_credit_note_names_the_invoice_it_corrects_and_offers_no_payment() -> None:
    credit_note = make_invoice(
        kind="credit_note",
        number="CN-000001",
        due_at=None,
        corrects_number="INV-000042",
        lines=(PdfLine("Refund: hosting setup", 1, -25_050, 550, -1_378, -25_050),),
        subtotal_minor=-25_050,
        tax_minor=-1_378,
        total_minor=-26_428,
        home_total_minor=-26_428,
    )

    document = render_invoice(credit_note, compress=False)

    fragments = text_fragments(document)
    assert document.startswith(b"%PDF-")
    assert "Credit note" in fragments
    assert "CN-000001" in fragments
    assert "Invoice INV-000042" in fragments
    assert "USD -264.28" in fragments
    assert "Pay online" not in fragments
    assert b"/Title (Credit note CN-000001)" in document
    assert b"pay.example.com" not in document


@needs_dejavu
def test_cyrillic_client_name_accents_and_euro_sign_render_with_dejavu() -> None:
    invoice = make_invoice(
        client_name=CYRILLIC_CLIENT,
        seller_name="Zoë Müller",
        memo="Paiement reçu: 12 € d'acompte.",
    )

    document = render_invoice(invoice, compress=False)

    fragments = text_fragments(document)
    assert CYRILLIC_CLIENT in fragments
    assert "Zoë Müller" in fragments
    assert "Paiement reçu: 12 € d'acompte." in fragments
    assert b"DejaVuSans" in document
    assert b"/Helvetica" not in document


def test_without_dejavu_helvetica_prints_question_marks_outside_latin1(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(invoice_pdf, "DEJAVU_SANS", tmp_path / "missing.ttf")
    invoice = make_invoice(client_name=CYRILLIC_CLIENT, memo="Zoë paid 12 €.")

    document = render_invoice(invoice, compress=False)

    fragments = text_fragments(document)
    assert b"/BaseFont /Helvetica" in document
    assert "??? «???????»" in fragments
    assert "Zoë paid 12 ?." in fragments


def test_long_descriptions_wrap_onto_several_lines_and_pages() -> None:
    lines = tuple(
        PdfLine(f"{index}. {LONG_DESCRIPTION}", 1, 10_000, 0, 0, 10_000) for index in range(1, 16)
    )
    invoice = make_invoice(lines=lines, subtotal_minor=150_000, tax_minor=0, total_minor=150_000)

    document = render_invoice(invoice, compress=False)

    fragments = text_fragments(document)
    first = [fragment for fragment in fragments if fragment.startswith("1. Redesign")]
    assert len(first) == 1
    start = fragments.index(first[0])
    wrapped = []
    for fragment in fragments[start:]:
        wrapped.append(fragment)
        if fragment.endswith("notes"):
            break
    assert len(wrapped) >= 3
    assert " ".join(wrapped) == f"1. {LONG_DESCRIPTION}"
    assert "Invoice INV-000042 \u00b7 page 3 of 3" in "".join(fragments)
    assert fragments.count("Description") == 3  # the headings repeat on every page
    assert "USD 1,500.00" in fragments


def test_zero_decimal_currency_prints_whole_yen() -> None:
    invoice = make_invoice(
        currency="JPY",
        home_currency="JPY",
        lines=(PdfLine("Translation", 3, 5_000, 1000, 1_500, 15_000),),
        subtotal_minor=15_000,
        tax_minor=1_500,
        total_minor=16_500,
        home_total_minor=16_500,
    )

    fragments = text_fragments(render_invoice(invoice, compress=False))

    assert "JPY 5,000" in fragments
    assert "JPY 15,000" in fragments
    assert "JPY 16,500" in fragments
    assert not any("JPY 16,500." in fragment for fragment in fragments)


def test_home_currency_total_and_rate_print_only_when_currencies_differ() -> None:
    foreign = make_invoice(
        home_currency="EUR",
        exchange_rate=Decimal("0.92340"),
        rate_source="ECB reference rate",
        home_total_minor=356_828,
    )

    foreign_text = text_fragments(render_invoice(foreign, compress=False))
    home_text = pdf_text(render_invoice(make_invoice(), compress=False))

    assert "Total in EUR" in foreign_text
    assert "EUR 3,568.28" in foreign_text
    assert "Exchange rate: 1 USD = 0.9234 EUR (ECB reference rate)" in foreign_text
    assert "Exchange rate" not in home_text
    assert "Total in" not in home_text


def test_rate_line_omits_an_unknown_source() -> None:
    invoice = make_invoice(home_currency="GBP", exchange_rate=Decimal("0.79"), rate_source=None)

    fragments = text_fragments(render_invoice(invoice, compress=False))

    assert "Exchange rate: 1 USD = 0.79 GBP" in fragments


def test_open_invoice_links_its_payment_page() -> None:
    document = render_invoice(make_invoice(), compress=False)

    assert "https://pay.example.com/i/inv_42" in text_fragments(document)
    assert b"/URI (https://pay.example.com/i/inv_42)" in document


@pytest.mark.parametrize(("status", "stamp"), [("paid", "PAID"), ("void", "VOID")])
def test_paid_and_void_invoices_carry_a_stamp_and_no_payment_link(status: str, stamp: str) -> None:
    invoice = make_invoice(
        status=status, paid_at=datetime(2025, 3, 9, tzinfo=UTC) if status == "paid" else None
    )

    document = render_invoice(invoice, compress=False)

    fragments = text_fragments(document)
    assert stamp in fragments
    assert "Pay online" not in fragments
    assert b"pay.example.com" not in document
    if status == "paid":
        assert "9 March 2025" in fragments


def test_issued_invoice_has_no_stamp() -> None:
    fragments = text_fragments(render_invoice(make_invoice(), compress=False))

    assert "PAID" not in fragments
    assert "VOID" not in fragments


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("kind", "receipt", "Unknown document kind"), ("status", "draft", "Unknown invoice status")],
)
def test_unknown_kind_or_status_is_refused(field: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        render_invoice(make_invoice(**{field: value}))
