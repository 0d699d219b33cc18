"""1C's documents for an order read from a CommerceML 2 file: which `Документ`s are papers (by their `ХозОперация`),
what each says (number, date, positions, sums and VAT, exactly as 1C sent them) and every way it names its order."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from lxml import etree

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
