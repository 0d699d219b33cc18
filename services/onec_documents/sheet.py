"""A 1C document as a printable Excel sheet, in the reader's language: its title, dates as the reader writes them,
numbers the sheet can sum, the file's name."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from db.models import Case
from flows.i18n import _
from flows.values import date_text, number_sign
from services.core import Core
from services.onec_documents.papers import Paper

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# What a kind is called (msgids; services/locales).
TITLES = {
    "invoice": _("Invoice"),
    "shipment": _("Shipment note"),
    "tax_invoice": _("Tax invoice"),
    "upd": _("Universal transfer document"),
}


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text.replace(" ", "").replace("\u00a0", "").replace(",", "."))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _cell(text: str) -> Any:
    """A number as a number (so the sheet sums it), anything else as the text 1C sent; never a formula."""
    value = _decimal(text) if text else None
    if value is not None:
        return float(value)
    return ("'" + text) if text[:1] in ("=", "+", "-", "@") else text


def shown_date(text: str, lang: str | None = None) -> str:
    """1C's `2026-12-02` in the reader's way (`02.12.2026`, `Dec 2, 2026`); anything else as it came."""
    found = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?", text)
    if not found:
        return text
    try:
        return date_text(date(int(found[1]), int(found[2]), int(found[3])), lang or "ru")
    except ValueError:
        return text


def render_xlsx(paper: Paper, words: dict[str, str]) -> bytes:
    """The document as a printable sheet: heading, parties, positions, totals and VAT as 1C sent them."""
    # openpyxl (with numpy) is ~25 MB of a process that rarely makes a sheet: loaded on the first one.
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = words["title"][:31]
    sheet.append([words["heading"]])
    sheet.cell(row=1, column=1).font = Font(bold=True, size=14)
    for label, value in (
        (words["seller"], paper.seller),
        (words["buyer"], paper.buyer),
        (words["order"], words["order_value"]),
        (words["due"], words["due_value"]),
        (words["comment"], paper.comment),
    ):
        if value:
            sheet.append([label, _cell(value)])
    sheet.append([])
    headers = [words[k] for k in ("n", "article", "name", "unit", "quantity", "price", "vat_rate", "vat", "amount")]
    sheet.append(headers)
    header_row = sheet.max_row
    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True)
    for n, p in enumerate(paper.positions, 1):
        rate = f"{p.vat_rate}%" if p.vat_rate and p.vat_rate[-1:].isdigit() else p.vat_rate
        sheet.append([n, _cell(p.article) if p.article else "", p.name, p.unit, _cell(p.quantity), _cell(p.price),
                      rate, _cell(p.vat), _cell(p.amount)])  # fmt: skip
        for column in (6, 8, 9):
            sheet.cell(row=sheet.max_row, column=column).number_format = "#,##0.00"
    sheet.append([])
    totals = [(words["total"], paper.amount)]
    if paper.vat:
        totals.append((words["vat_in"] if paper.vat_included else words["vat_on_top"], paper.vat))
    else:
        totals.append((words["no_vat"], ""))
    for label, value in totals:
        sheet.append(["", "", "", "", "", "", "", label, _cell(value)])
        sheet.cell(row=sheet.max_row, column=8).font = Font(bold=True)
        sheet.cell(row=sheet.max_row, column=9).number_format = "#,##0.00"
    for letter, width in zip("ABCDEFGHI", (14, 14, 48, 8, 10, 14, 10, 16, 16), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def title(t: Callable[..., str], kind: str, number: str, date: str, lang: str | None) -> str:
    """«Счёт на оплату № 45 от 02.12.2026» (`t`: a translator's or a renderer's `t`)."""
    return t("%(kind)s No. %(number)s of %(date)s", lang, kind=t(TITLES[kind], lang), number=number,
             date=shown_date(date, lang))  # fmt: skip


def sheet_words(core: Core, paper: Paper, case: Case, lang: str | None) -> dict[str, str]:
    t = core.translator.t
    heading = title(t, paper.kind, paper.number, paper.date, lang)
    version = " (" + t("version %(v)s", lang, v=paper.version) + ")" if paper.version else ""
    return {
        "title": t(TITLES[paper.kind], lang),
        "heading": heading + version,
        "seller": t("Seller", lang),
        "buyer": t("Buyer", lang),
        "order": t("Order request", lang),
        "order_value": f"{number_sign(lang)}{case.id}"
        + (f" ({case.data.get('onec_number')})" if case.data.get("onec_number") else ""),
        "due": t("Pay by", lang),
        "due_value": shown_date(paper.due, lang),
        "comment": t("Comment", lang),
        "n": number_sign(lang).strip(),
        "article": t("Article", lang),
        "name": t("Product name", lang),
        "unit": t("Unit", lang),
        "quantity": t("Quantity", lang),
        "price": t("Price", lang),
        "vat_rate": t("VAT rate", lang),
        "vat": t("VAT", lang),
        "amount": t("Amount", lang),
        "total": t("Total, %(currency)s", lang, currency=paper.currency or "₽"),
        "vat_in": t("incl. VAT", lang),
        "vat_on_top": t("VAT on top", lang),
        "no_vat": t("Without VAT", lang),
    }


UNSAFE = re.compile(r"[^\w.-]+")


def file_name(paper: Paper) -> str:
    number = UNSAFE.sub("_", paper.number or paper.onec_id)[:40]
    version = "_v" + UNSAFE.sub("_", paper.version)[:10] if paper.version else ""
    return f"{paper.kind}_{number}_{paper.date[:10]}{version}.xlsx"
