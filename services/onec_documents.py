"""1C's accounting documents for an order request (seed 4): an invoice (Счет на оплату), shipment papers (Отпуск
товара — Реализация товаров и услуг, ТОРГ-12), a tax invoice or a УПД, as 1C sends them over the exchange
(`type=sale&mode=file`/`import`, services/sales_exchange.py) in CommerceML 2 `Документ`s whose `ХозОперация` says
which. Each becomes a printable Excel file on the order's case (its field `onec_documents`, the case's file store),
with the number, date, positions, sums and VAT exactly as 1C sent them; whoever may see the case may get it
(services/access.py `case_file`), nobody else.

Which order a document is for: the `Контейнер` it shares with the order's own document (CommerceML 3 groups an
order and its documents so, as Bitrix's `sale.export.1c` reads them), else its `Основание` (a child, or
`Основания/Основание` with `Ид`/`Номер`), else a requisite «Номер заказа на сайте» / «Номер заказа» / «Заказ» /
«Основание»: our case's number, or the number 1C gave the order (`onec_number`, from «Номер по 1С»).

A version is known by 1C's `Ид` and the digest of what it says (`НомерВерсии`, number, date, positions, sums): the
same one sent again attaches nothing; a changed one is stored as a new version whose file replaces the older
one's on the case (the older file stays in the store and the audit). The dealer's people on the case (its
initiator, the organisation's managers) are told, each in their language, with a button to get the file."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Case, OneCDocument, User
from flows.values import date_text, number_sign
from services import people as people_repo
from services.cases.service import CaseService
from services.core import Core
from services.files import file_ref

FIELD = "onec_documents"  # the order request's field that holds the files (order_request.yaml)
PROCESS = "order_request"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# `ХозОперация` (CommerceML 2's list, and the names 1C's own documents carry) → our kind.
KINDS = {
    "счет на оплату": "invoice",
    "счет на оплату покупателю": "invoice",
    "отпуск товара": "shipment",
    "реализация товаров и услуг": "shipment",
    "реализация товаров": "shipment",
    "товарная накладная": "shipment",
    "счет-фактура": "tax_invoice",
    "универсальный передаточный документ": "upd",
    "упд": "upd",
}
# What a kind is called (msgids; services/locales).
TITLES = {
    "invoice": "Invoice",
    "shipment": "Shipment note",
    "tax_invoice": "Tax invoice",
    "upd": "Universal transfer document",
}
LINKS = ("Номер заказа на сайте", "Номер заказа", "Заказ", "Основание", "Заказ клиента")
ORDER_OPERATIONS = ("", "заказ товара")


def kind_of(operation: str, requisites: dict[str, str]) -> str | None:
    """A document's kind by its `ХозОперация` (a «Вид документа»/«Форма» requisite naming УПД or ТОРГ-12 refines
    a shipment); None: an order's own document (or nothing of ours)."""
    kind = KINDS.get(" ".join(operation.casefold().replace("ё", "е").split()))
    form = " ".join((requisites.get("Вид документа") or requisites.get("Форма") or "").casefold().split())
    if kind == "shipment" and ("упд" in form or "универсальный" in form):
        return "upd"
    return kind


def is_order(operation: str) -> bool:
    return " ".join(operation.casefold().split()) in ORDER_OPERATIONS


@dataclass
class Position:
    name: str
    article: str = ""
    unit: str = ""
    quantity: str = ""
    price: str = ""
    amount: str = ""
    vat_rate: str = ""
    vat: str = ""


@dataclass
class Paper:
    """One of 1C's documents for an order, as 1C sent it."""

    kind: str
    onec_id: str
    version: str
    number: str
    date: str
    amount: str
    currency: str
    vat: str  # the VAT of the whole document ("" when 1C sent none)
    vat_included: bool
    seller: str
    buyer: str
    due: str  # an invoice's payment date, if 1C gave one
    comment: str
    links: list[str]  # what names the order (our number, 1C's number, an `Основание`'s text)
    positions: list[Position] = field(default_factory=list)
    deleted: bool = False

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _local(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _child(node: etree._Element, name: str) -> etree._Element | None:
    return next((c for c in node if _local(c.tag) == name), None)


def _text(node: etree._Element | None, *path: str) -> str:
    for name in path:
        if node is None:
            return ""
        node = _child(node, name)
    return "" if node is None else " ".join((node.text or "").split())


def _requisites(node: etree._Element) -> dict[str, str]:
    found: dict[str, str] = {}
    values = _child(node, "ЗначенияРеквизитов")
    for pair in values if values is not None else []:
        name, value = _text(pair, "Наименование"), _text(pair, "Значение")
        if name:
            found[name] = value
    return found


def _taxes(node: etree._Element) -> tuple[str, bool, str]:
    """VAT of a document or a position: its sum, whether it is in the amounts, its rate."""
    taxes = _child(node, "Налоги")
    for tax in taxes if taxes is not None else []:
        if _text(tax, "Наименование").casefold().startswith("ндс"):
            included = _text(tax, "УчтеноВСумме").casefold() in ("true", "истина", "1", "да")
            return _text(tax, "Сумма"), included, _text(tax, "Ставка")
    return "", True, ""


def _rate(item: etree._Element) -> str:
    rates = _child(item, "СтавкиНалогов")
    for rate in rates if rates is not None else []:
        if _text(rate, "Наименование").casefold().startswith("ндс"):
            return _text(rate, "Ставка")
    return ""


def _party(doc: etree._Element, role: str) -> str:
    parties = _child(doc, "Контрагенты")
    for party in parties if parties is not None else []:
        if _text(party, "Роль") == role:
            return _text(party, "ОфициальноеНаименование") or _text(party, "Наименование")
    return ""


def _grounds(doc: etree._Element) -> list[str]:
    """Every way the document names its order, in the order trusted."""
    links: list[str] = []
    container = doc.getparent()
    if container is not None and _local(container.tag) == "Контейнер":
        for sibling in container:
            if _local(sibling.tag) == "Документ" and sibling is not doc and is_order(_text(sibling, "ХозОперация")):
                links += [_text(sibling, "Ид"), _text(sibling, "Номер")]
    for child in doc:
        name = _local(child.tag)
        if name == "Основание" and len(child) == 0:
            links.append(" ".join((child.text or "").split()))
        elif name in ("Основание", "Основания"):
            grounds = (
                [child] if name == "Основание" else [g for g in child if _local(g.tag) in ("Основание", "Документ")]
            )
            for ground in grounds:
                links += [_text(ground, "Ид"), _text(ground, "Номер"), _text(ground, "Номер1С")]
    requisites = _requisites(doc)
    links += [requisites.get(name, "") for name in LINKS]
    return [link for link in links if link]


def parse_papers(root: etree._Element) -> list[Paper]:
    """The documents of a parsed CommerceML file that are 1C's papers for an order (not the orders themselves)."""
    papers: list[Paper] = []
    for doc in root.iter():
        if _local(doc.tag) != "Документ":
            continue
        requisites = _requisites(doc)
        kind = kind_of(_text(doc, "ХозОперация"), requisites)
        if kind is None:
            continue
        vat, included, _ = _taxes(doc)
        positions = []
        goods = _child(doc, "Товары")
        for item in goods if goods is not None else []:
            item_vat, _included, item_rate = _taxes(item)
            positions.append(
                Position(
                    name=_text(item, "Наименование"),
                    article=_text(item, "Артикул"),
                    unit=_text(item, "БазоваяЕдиница"),
                    quantity=_text(item, "Количество"),
                    price=_text(item, "ЦенаЗаЕдиницу"),
                    amount=_text(item, "Сумма"),
                    vat_rate=item_rate or _rate(item),
                    vat=item_vat,
                )
            )
        deleted = (_text(doc, "ПометкаУдаления") or requisites.get("ПометкаУдаления", "")).casefold()
        papers.append(
            Paper(
                kind=kind,
                onec_id=_text(doc, "Ид") or _text(doc, "Номер"),
                version=_text(doc, "НомерВерсии") or requisites.get("НомерВерсии", ""),
                number=_text(doc, "Номер1С") or _text(doc, "Номер"),
                date=_text(doc, "Дата1С") or _text(doc, "Дата"),
                amount=_text(doc, "Сумма"),
                currency=_text(doc, "Валюта"),
                vat=vat,
                vat_included=included,
                seller=_party(doc, "Продавец"),
                buyer=_party(doc, "Покупатель"),
                due=_text(doc, "СрокПлатежа") or requisites.get("Срок оплаты", ""),
                comment=_text(doc, "Комментарий"),
                links=_grounds(doc),
                positions=positions,
                deleted=deleted in ("true", "истина", "1", "да"),
            )
        )
    return papers


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


def _words(core: Core, paper: Paper, case: Case, lang: str | None) -> dict[str, str]:
    t = core.translator.t
    heading = title(t, paper.kind, paper.number, paper.date, lang)
    version = f" ({t('version %(v)s', lang, v=paper.version)})" if paper.version else ""
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


@dataclass
class Attached:
    attached: list[int] = field(default_factory=list)  # the files made
    removed: int = 0  # documents 1C marked deleted: their files left the case
    unchanged: int = 0
    unknown: list[str] = field(default_factory=list)  # documents whose order we could not find


async def find_order(session: AsyncSession, paper: Paper) -> Case | None:
    """The order request a document names: our number first, else 1C's number for the order."""
    for link in paper.links:
        if link.isdigit():
            case = await session.get(Case, int(link))
            if case is not None and case.process == PROCESS:
                return case
    texts = [link for link in paper.links if not link.isdigit()]
    if not texts:
        return None
    rows = await session.scalars(select(Case).where(Case.process == PROCESS).order_by(Case.id.desc()))
    for case in rows:
        number = str((case.data or {}).get("onec_number") or "")
        if number and any(link == number or re.search(rf"(?<![\w-]){re.escape(number)}(?![\w-])", link)
                          for link in texts):  # fmt: skip
            return case
    return None


async def attach(core: Core, session: AsyncSession, papers: list[Paper]) -> Attached:
    """Each document onto its order's case (once per version), the dealer's people told."""
    result = Attached()
    now = core.clock.now()
    for paper in papers:
        case = await find_order(session, paper)
        if case is None:
            result.unknown.append(paper.number or paper.onec_id)
            continue
        digest = paper.digest
        known = await session.scalar(
            select(OneCDocument.id).where(
                OneCDocument.case_id == case.id, OneCDocument.onec_id == paper.onec_id, OneCDocument.digest == digest
            )
        )
        if known is not None:
            result.unchanged += 1
            continue
        older = list(
            await session.scalars(
                select(OneCDocument.file_id).where(
                    OneCDocument.case_id == case.id, OneCDocument.onec_id == paper.onec_id
                )
            )
        )
        stored = None
        if not paper.deleted:  # 1C's deletion mark: the case loses the file, nothing new is made
            lang = core.config.default_language
            content = await asyncio.to_thread(render_xlsx, paper, _words(core, paper, case, lang))
            stored = await core.files.add(
                session, content=content, name=file_name(paper), kind="document", now=now, case_id=case.id,
                user_id=None, mime_type=XLSX,
            )  # fmt: skip
        session.add(
            OneCDocument(
                case_id=case.id, onec_id=paper.onec_id[:80], kind=paper.kind, number=paper.number[:64],
                doc_date=paper.date[:32], version=paper.version[:64], digest=digest, amount=paper.amount[:32],
                file_id=stored.id if stored is not None else None, created_at=now,
            )
        )  # fmt: skip
        cases = CaseService(core, session)
        loaded = await cases.load(case.id)
        refs = [r for r in loaded.state.data.get(FIELD) or [] if isinstance(r, dict) and r.get("id") not in older]
        if stored is not None:
            refs.append(file_ref(stored))
        loaded.state.data[FIELD] = refs
        detail = {
            "document": paper.kind,
            "number": paper.number,
            "date": paper.date,
            "version": paper.version,
            "file": stored.id if stored is not None else None,
            "replaces": [f for f in older if f is not None],
            "deleted": paper.deleted,
        }
        await cases.save(loaded, [], None, "onec.document", detail)
        if stored is None:
            result.removed += 1
            continue
        result.attached.append(stored.id)
        recipients = await dealer_people(session, case)
        await cases.notifier.document_arrived(
            loaded, stored.id, paper.kind, paper.number, paper.date, bool(older), recipients
        )
    return result


async def dealer_people(session: AsyncSession, case: Case) -> list[User]:
    """Whom a document is told to: the request's initiator and the dealer's managers, active, of its organisation."""
    people = [u for u in [await session.get(User, case.initiator_id)] if u is not None]
    if case.company_id is not None:
        people += [
            u for u in await people_repo.members(session, "dealer_manager") if u.organisation_id == case.company_id
        ]
    seen: set[int] = set()
    found = []
    for user in people:
        if user.active and user.id not in seen and user.organisation_id == case.company_id:
            seen.add(user.id)
            found.append(user)
    return found


@dataclass(frozen=True)
class Listed:
    """A document on a request's line in the dealer's list."""

    file_id: int
    kind: str
    number: str
    date: str


async def of_cases(session: AsyncSession, cases: list[Case]) -> dict[int, list[Listed]]:
    """The current documents of these order requests (the files on each case), oldest first."""
    current = {
        case.id: {r.get("id") for r in (case.data or {}).get(FIELD) or [] if isinstance(r, dict)} for case in cases
    }
    found: dict[int, list[Listed]] = {case.id: [] for case in cases}
    if not any(current.values()):
        return found
    rows = await session.scalars(
        select(OneCDocument).where(OneCDocument.case_id.in_(list(current))).order_by(OneCDocument.id)
    )
    for row in rows:
        if row.file_id is not None and row.file_id in current[row.case_id]:
            found[row.case_id].append(Listed(row.file_id, row.kind, row.number, row.doc_date))
    return found
