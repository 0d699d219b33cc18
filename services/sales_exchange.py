"""The sale side of 1C's exchange (CommerceML 2, `type=sale`): approved order requests out to 1C, 1C's documents
back onto the order cases. The HTTP endpoint (`/1c/exchange`, integrations/onec) calls these.

- `query` (`mode=query`): every order request approved and not yet confirmed by 1C, as one CommerceML document
  (`КоммерческаяИнформация` with a `Документ` per order: `ХозОперация` «Заказ товара», the dealer as the buyer,
  `Товары` with each position's 1C `Ид`, price, quantity and sum, payment and delivery as `ЗначенияРеквизитов`).
  The orders sent are marked as queried; a query that 1C never confirms leaves them to be sent again.
  An order 1C has (a query carried it, or it was accepted) that is cancelled here goes in the next query as the
  same `Документ` with `Отменен` = `true`, until 1C confirms it.
- `success` (`mode=success`): 1C took what the last queries sent; those orders are exported and not sent again.
  An order approved after the query is not among them.
- `apply` (`mode=file`/`import` of `type=sale`): 1C's documents for our orders (matched by `Ид`, else `Номер`: the
  case's number) move the case — «Отменен» (the flag, or the «Статус заказа» alone) cancels it, a shipment
  (`Дата отгрузки по 1С`) ships it, a payment (`Дата оплаты по 1С`) marks it paid, anything else accepts it in
  1C — forward only, with 1C's number, status, payment and shipment kept on the case. A document for an order
  we do not have, or one not approved yet, is counted and left alone. The organisations the file carries (each
  document's `Контрагенты`, a `Классификатор/Контрагенты` block) are upserted first (services/companies/
  `from_onec`): 1C is where the dealers' details are kept (with a dealer's debt, when 1C gives it on its
  `Контрагент`).
  1C's papers for an order (`ХозОперация` «Счет на оплату», «Отпуск товара», «Счет-фактура», a УПД) do not move it:
  each becomes a printable file on the order's case, once per version (services/onec_documents/).

Parsing refuses a DTD (so no entity expansion or external fetch) — the protections defusedxml gives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from lxml import etree
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Case, CatalogProduct, Company, OrderExport
from flows.status import CaseStatus
from flows.units import okei
from services import companies, onec_documents
from services.cases.service import CaseService
from services.core import Core

PROCESS = "order_request"
READY = "approved"  # the stage at which an order waits for 1C
SCHEMA_VERSION = "2.05"
STAMP = "%Y-%m-%d %H:%M:%S"
# Forward only: 1C's documents may come in any order and more than once.
RANK = {"approved": 0, "in_1c": 1, "paid": 2, "shipped": 3}
# Stages at which 1C has the order whatever the exchange sent (a representative entered it by hand): cancelled
# there, it is cancelled in 1C too.
KNOWN_TO_ONEC = ("in_1c", "paid")
PAYMENT = {"prepayment": "Предоплата", "deferred": "Отсрочка платежа"}
DELIVERY = {"pickup": "Самовывоз", "delivery": "Доставка"}
# 1C's order statuses (a document's «Статус заказа», as 1C's «Управление торговлей» and «Обмен с сайтом» write them)
# to the keys of order_request's `onec_status` choice, whose options read them in the reader's language. A status not
# here (another configuration, a renamed one) is kept as 1C wrote it: a choice shows a value it has no option for as
# it is, so nothing 1C said is lost, only left untranslated.
ONEC_STATUSES = {
    "Не согласован": "not_agreed",
    "На согласовании": "awaiting_approval",
    "Согласован": "agreed",
    "Ожидается предоплата (до обеспечения)": "prepayment_before_supply",
    "Ожидается предоплата (до отгрузки)": "prepayment_before_shipment",
    "К обеспечению": "to_supply",
    "К выполнению / В резерве": "reserved",
    "К отгрузке": "to_ship",
    "Ожидается оплата (после отгрузки)": "awaiting_payment",
    "Выполнен": "done",
    "Закрыт": "closed",
    "Отменен": "cancelled",
}
_STATUS_KEYS = {" ".join(text.casefold().replace("ё", "е").split()): key for text, key in ONEC_STATUSES.items()}


def status_key(said: str) -> str:
    """The `onec_status` key of 1C's status text («Закрыт» → closed; «К выполнению /  в резерве» too), else the
    text as 1C wrote it."""
    return _STATUS_KEYS.get(" ".join(said.casefold().replace("ё", "е").split()), said)


class BadDocument(ValueError):
    """1C sent something that is not a CommerceML document we can read (the endpoint answers `failure`)."""


@dataclass
class Applied:
    moved: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    organisations: companies.FromOneC = field(default_factory=companies.FromOneC)
    documents: onec_documents.Attached = field(default_factory=onec_documents.Attached)


def _sub(parent: etree._Element, tag: str, text: Any = None, **attrs: str) -> etree._Element:
    node = etree.SubElement(parent, tag, attrs)
    if text is not None:
        node.text = str(text)
    return node


def _requisites(parent: etree._Element, pairs: list[tuple[str, str]]) -> None:
    values = _sub(parent, "ЗначенияРеквизитов")
    for name, value in pairs:
        item = _sub(values, "ЗначениеРеквизита")
        _sub(item, "Наименование", name)
        _sub(item, "Значение", value)


def _money(value: Any) -> str:
    return str(Decimal(str(value or 0)).quantize(Decimal("0.01")))


class SalesExchange:
    def __init__(self, core: Core, session: AsyncSession) -> None:
        self.core = core
        self.session = session

    async def _ready(self) -> list[Case]:
        exported = select(OrderExport.case_id).where(OrderExport.exported_at.is_not(None))
        rows = await self.session.execute(
            select(Case)
            .where(Case.process == PROCESS, Case.stage == READY, Case.status == CaseStatus.ACTIVE)
            .where(Case.id.not_in(exported))
            .order_by(Case.id)
        )
        return list(rows.scalars())

    async def _withdrawn(self) -> list[Case]:
        """The orders 1C has (a query carried them, or it accepted them) cancelled here since, 1C not yet told."""
        known = or_(OrderExport.queried_at.is_not(None), Case.stage.in_(KNOWN_TO_ONEC))
        rows = await self.session.execute(
            select(Case)
            .outerjoin(OrderExport, OrderExport.case_id == Case.id)
            .where(Case.process == PROCESS, Case.status == CaseStatus.CANCELLED, known)
            .where(OrderExport.cancel_exported_at.is_(None))
            .order_by(Case.id)
        )
        return list(rows.scalars())

    async def query(self) -> bytes:
        """The orders 1C should take now, and those it has that were cancelled here, as CommerceML; each marked as
        sent by this query."""
        now = self.core.clock.now()
        local = now.astimezone(self.core.calendar.tz)
        root = etree.Element(
            "КоммерческаяИнформация", ВерсияСхемы=SCHEMA_VERSION, ДатаФормирования=local.strftime("%Y-%m-%dT%H:%M:%S")
        )
        ready, withdrawn = await self._ready(), await self._withdrawn()
        units = await self._units([*ready, *withdrawn])
        for cancelled, cases in ((False, ready), (True, withdrawn)):
            for case in cases:
                company = await self.session.get(Company, case.company_id) if case.company_id else None
                self._document(root, case, company, units, cancelled=cancelled)
                mark = await self.session.get(OrderExport, case.id)
                if mark is None:
                    mark = OrderExport(case_id=case.id, queried_at=None, exported_at=None)
                    self.session.add(mark)
                if cancelled:
                    mark.cancel_queried_at = now
                else:
                    mark.queried_at = now
        await self.session.flush()
        return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))

    async def _units(self, cases: list[Case]) -> dict[str, tuple[str, str | None]]:
        """The catalogue's unit of each product the orders name (by 1C's id), with the OKEI code 1C gave it if it
        did, in one query."""
        ids = {
            str(p["product"])
            for case in cases
            for p in (case.data or {}).get("positions") or []
            if isinstance(p, dict) and p.get("product")
        }
        if not ids:
            return {}
        rows = await self.session.execute(
            select(CatalogProduct.external_id, CatalogProduct.unit, CatalogProduct.unit_code).where(
                CatalogProduct.external_id.in_(ids)
            )
        )
        return {external_id: (unit, code) for external_id, unit, code in rows.all() if unit}

    def _document(
        self,
        root: etree._Element,
        case: Case,
        company: Company | None,
        units: dict[str, tuple[str, str | None]],
        *,
        cancelled: bool,
    ) -> None:
        data = case.data or {}
        created = case.created_at.astimezone(self.core.calendar.tz)
        doc = _sub(root, "Документ")
        _sub(doc, "Ид", case.id)
        _sub(doc, "Номер", case.id)
        _sub(doc, "Дата", created.strftime("%Y-%m-%d"))
        _sub(doc, "ХозОперация", "Заказ товара")
        _sub(doc, "Роль", "Продавец")
        _sub(doc, "Валюта", "руб")
        _sub(doc, "Курс", "1")
        _sub(doc, "Сумма", _money(data.get("amount")))
        buyers = _sub(doc, "Контрагенты")
        buyer = _sub(buyers, "Контрагент")
        _sub(buyer, "Ид", f"dealer-{case.company_id}" if case.company_id else "dealer")
        name = company.name if company else str(data.get("dealer_name") or "")
        _sub(buyer, "Наименование", name)
        _sub(buyer, "ПолноеНаименование", name)
        _sub(buyer, "Роль", "Покупатель")
        if company is not None and company.inn:
            _sub(buyer, "ИНН", company.inn)
        if company is not None and company.kpp:
            _sub(buyer, "КПП", company.kpp)
        _sub(doc, "Время", created.strftime("%H:%M:%S"))
        if data.get("comment"):
            _sub(doc, "Комментарий", data["comment"])
        goods = _sub(doc, "Товары")
        for position in data.get("positions") or []:
            item = _sub(goods, "Товар")
            _sub(item, "Ид", position.get("product", ""))
            if position.get("article"):
                _sub(item, "Артикул", position["article"])
            _sub(item, "Наименование", position.get("name", ""))
            _unit(item, *units.get(str(position.get("product") or ""), ("шт", None)))
            _sub(item, "ЦенаЗаЕдиницу", _money(position.get("price")))
            _sub(item, "Количество", position.get("quantity", 0))
            _sub(item, "Сумма", _money(position.get("total")))
            _requisites(item, [("ВидНоменклатуры", "Товар"), ("ТипНоменклатуры", "Товар")])
        pairs = [
            ("Метод оплаты", PAYMENT.get(str(data.get("payment_type")), "")),
            ("Способ доставки", DELIVERY.get(str(data.get("delivery_type")), "")),
            ("Адрес доставки", str(data.get("delivery_address") or "")),
            ("Тип цен", str(data.get("price_type") or "")),
            ("Статус заказа", "Отменен" if cancelled else "Согласован"),
            ("Дата изменения статуса", self.core.clock.now().astimezone(self.core.calendar.tz).strftime(STAMP)),
        ]
        if cancelled:  # how 1C's «Обмен с сайтом» reads a site's cancelled order: it cancels its own document
            pairs += [("Отменен", "true"), ("Финальный статус", "true")]
        _requisites(doc, [(k, v) for k, v in pairs if v])

    async def success(self) -> int:
        """1C confirmed what it was sent: those orders are exported (how many)."""
        now = self.core.clock.now()
        done = await self.session.execute(
            update(OrderExport)
            .where(OrderExport.queried_at.is_not(None), OrderExport.exported_at.is_(None))
            .values(exported_at=now)
            .execution_options(synchronize_session=False)
        )
        withdrawn = await self.session.execute(
            update(OrderExport)
            .where(OrderExport.cancel_queried_at.is_not(None), OrderExport.cancel_exported_at.is_(None))
            .values(cancel_exported_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(done.rowcount or 0) + int(withdrawn.rowcount or 0)  # type: ignore[attr-defined]

    async def apply(self, content: bytes) -> Applied:
        """1C's documents for our orders: each moves its case (forward only) and leaves 1C's details on it."""
        applied = Applied()
        documents = parse_documents(content)
        applied.organisations = await companies.from_onec(
            self.session, parse_contragents(content), self.core.clock.now()
        )
        for doc in documents:
            if onec_documents.kind_of(doc.get("ХозОперация", ""), doc) is not None:
                continue  # an invoice, a shipment's papers: a file on the order (below), not a move
            case_id = next((int(v) for v in (doc.get("Ид"), doc.get("Номер")) if v and v.isdigit()), None)
            case = await self.session.get(Case, case_id) if case_id is not None else None
            if case is None or case.process != PROCESS:
                applied.unknown.append(doc.get("Номер") or doc.get("Ид") or "")
                continue
            moved = await self._move(case.id, doc)
            (applied.moved if moved else applied.unchanged).append(case.id)
        applied.documents = await onec_documents.attach(
            self.core, self.session, onec_documents.parse_papers(etree.fromstring(content, PARSER))
        )
        return applied

    async def _move(self, case_id: int, doc: dict[str, str]) -> bool:
        cases = CaseService(self.core, self.session)
        loaded = await cases.load(case_id)
        state = loaded.state
        if state.status != CaseStatus.ACTIVE or state.stage not in RANK:
            return False  # not approved yet, or over already: 1C's word does not reopen or skip an approval
        facts = {
            "onec_number": doc.get("Номер по 1С", ""),
            "onec_status": status_key(doc.get("Статус заказа", "") or doc.get("Статуса заказа ИД", "")),
            "paid_on": " ".join(v for v in (doc.get("Дата оплаты по 1С"), doc.get("Номер оплаты по 1С")) if v),
            "shipped_on": " ".join(v for v in (doc.get("Дата отгрузки по 1С"), doc.get("Номер отгрузки по 1С")) if v),
            # 1C's moment («2026-12-21T14:35:00») as the day a date field keeps, read in each reader's way
            "paid_date": _day(doc.get("Дата оплаты по 1С") or ""),
            "payment_number": doc.get("Номер оплаты по 1С", ""),
            "shipped_date": _day(doc.get("Дата отгрузки по 1С") or ""),
            "shipment_number": doc.get("Номер отгрузки по 1С", ""),
        }
        changed = {k: v for k, v in facts.items() if v and state.data.get(k) != v}
        state.data.update(changed)
        # 1C's flag, or its status alone: some exchange rules write «Статус заказа: Отменен» with no flag
        if _true(doc.get("Отменен")) or _true(doc.get("ПометкаУдаления")) or facts["onec_status"] == "cancelled":
            target = "cancelled"
        elif facts["shipped_on"]:
            target = "shipped"
        elif facts["paid_on"]:
            target = "paid"
        else:
            target = "in_1c"
        if target != "cancelled" and RANK[target] <= RANK[state.stage]:
            if changed:
                await cases.save(loaded, [], None, "onec.document", {"values": changed})
            return False
        actor = state.responsible_id or state.initiator_id
        effects = self.core.engine.move(state, target, actor, set(), is_admin=True)
        await cases.save(loaded, effects, None, "case.move", {"to": target, "by": "1C", "values": changed})
        return True


def _unit(item: etree._Element, unit: str, code: str | None) -> None:
    """A position's unit as the catalogue has the product's (1C's `БазоваяЕдиница`): «2 компл» is not «2 шт». With
    its OKEI code, by which 1C finds the unit: the one 1C's catalogue gave (sent back as it came), else OKEI's for
    the unit's name (`flows.units.OKEI`) with its full name and international abbreviation; a unit neither names
    goes by its name alone (1C finds a unit by its name when no code is given)."""
    known = okei(unit)
    if known is not None and code in (None, known[0]):
        _sub(item, "БазоваяЕдиница", unit, Код=known[0], НаименованиеПолное=known[1], МеждународноеСокращение=known[2])
    elif code:
        _sub(item, "БазоваяЕдиница", unit, Код=code)
    else:
        _sub(item, "БазоваяЕдиница", unit)


def _true(value: str | None) -> bool:
    return (value or "").strip().casefold() in ("true", "истина", "да", "1")


def _local(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def parse_documents(content: bytes) -> list[dict[str, str]]:
    """Each `Документ` of a CommerceML file as {child: text} plus its `ЗначенияРеквизитов` by name (with or
    without the `urn:1C.ru:commerceml_2` namespace, in whatever encoding its declaration names)."""
    try:
        root = etree.fromstring(content, PARSER)
    except etree.XMLSyntaxError as error:
        raise BadDocument(f"not XML: {error}") from error
    if root.getroottree().docinfo.doctype:
        raise BadDocument("a DTD is not accepted")
    if _local(root.tag) != "КоммерческаяИнформация":
        raise BadDocument("not a CommerceML document")
    documents = []
    for doc in root.iter():
        if _local(doc.tag) != "Документ":
            continue
        found: dict[str, str] = {}
        for child in doc:
            name = _local(child.tag)
            if name == "ЗначенияРеквизитов":
                for pair in child:
                    parts = {_local(p.tag): (p.text or "").strip() for p in pair}
                    if parts.get("Наименование"):
                        found[parts["Наименование"]] = parts.get("Значение", "")
            elif len(child) == 0:
                found.setdefault(name, (child.text or "").strip())
        documents.append(found)
    return documents


def _text(node: etree._Element, *path: str) -> str:
    """The text at a path of local names below `node` ("" if absent)."""
    for name in path:
        node = next((child for child in node if _local(child.tag) == name), None)
        if node is None:
            return ""
    return " ".join((node.text or "").split())


def parse_contragents(content: bytes) -> list[dict[str, str]]:
    """Every organisation the file names (a `Контрагент` of a `Контрагенты` list, in a document or the
    classifier; not a representative's nested one, not the seller: that is us), once each, as
    {onec_id, name, inn, kpp, contacts} as services/companies/ `onec_contragent` reads it, with debt and debt_on:
    the dealer's mutual settlements with us as 1C keeps them (`_debt`)."""
    root = etree.fromstring(content, PARSER)
    stamp = _day(root.get("ДатаФормирования") or "")  # the debt 1C gives is as of the file, unless it says
    found: dict[str, dict[str, str]] = {}
    for node in root.iter():
        if _local(node.tag) != "Контрагент" or _local(node.getparent().tag) != "Контрагенты":
            continue
        item = companies.onec_contragent(node)
        if item is not None:
            debt, debt_on = _debt(node)
            item = {**item, "debt": debt, "debt_on": debt_on or stamp}
            found.setdefault(item["onec_id"] or item["inn"] or item["name"], item)
    return list(found.values())


# How 1C's exchange rules name a counterparty's mutual settlements (взаиморасчеты) in its `ЗначенияРеквизитов`:
# the debt (what the dealer owes us; a negative balance is their advance) and the date it is as of.
DEBT_NAMES = ("Задолженность", "Долг", "Сумма задолженности", "Дебиторская задолженность", "Сальдо взаиморасчетов",
              "Взаиморасчеты")  # fmt: skip
DEBT_DATE_NAMES = ("Дата задолженности", "Задолженность на дату", "Дата взаиморасчетов", "Дата сверки")


def _debt(node: etree._Element) -> tuple[str, str]:
    """A `Контрагент`'s debt and its date from its `ЗначенияРеквизитов` ("" each when 1C gave none); a
    `Взаиморасчеты` block (`Сумма`, `Дата`) is read the same way."""
    values: dict[str, str] = {}
    for block in (c for c in node if _local(c.tag) == "ЗначенияРеквизитов"):
        for pair in block:
            name = _text(pair, "Наименование").replace("ё", "е")
            if name:
                values[name.casefold()] = _text(pair, "Значение")
    settlements = next((c for c in node if _local(c.tag) == "Взаиморасчеты"), None)
    if settlements is not None:
        values.setdefault("задолженность", _text(settlements, "Сумма"))
        values.setdefault("дата задолженности", _text(settlements, "Дата"))
    debt = next((values[n.casefold()] for n in DEBT_NAMES if values.get(n.casefold())), "")
    when = next((values[n.casefold()] for n in DEBT_DATE_NAMES if values.get(n.casefold())), "")
    return debt, _day(when)


def _day(text: str) -> str:
    """`2026-12-02T10:00:00` or `02.12.2026` as `2026-12-02` ("" if neither, or no such day)."""
    text = text.strip()
    day = ""
    if len(text) >= 10 and text[4] == "-" and text[7] == "-":
        day = text[:10]
    parts = text.split(" ")[0].split(".")
    if len(parts) == 3 and all(p.isdigit() for p in parts) and len(parts[2]) == 4:
        day = f"{parts[2]}-{int(parts[1]):02d}-{int(parts[0]):02d}"
    try:
        return date.fromisoformat(day).isoformat() if day else ""
    except ValueError:
        return ""
