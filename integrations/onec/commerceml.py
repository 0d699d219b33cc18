"""CommerceML 2 (versions 2.03–2.10) read as a stream: import.xml, offers.xml and the split files of newer 1C
(import___*, offers___*, prices___*, rests___*), with or without the urn:1C.ru:commerceml_2 namespace, in any
encoding the XML declaration names (UTF-8 with or without a BOM, windows-1251). The counterparties a package
carries (`Контрагенты/Контрагент`, at the top, in the classifier or the catalogue) are read too: they are our
organisations (services/companies.py `onec_contragent`, `from_onec`).

lxml's iterparse reports only the elements that make a record (a group, a product, an offer…); each is read when
it ends and then dropped with the siblings before it, so memory stays flat however long the file. The parser
takes defusedxml's line: a document type declaration is refused (1C never sends one; it is how entity bombs and
external references get in), entities are never resolved, nothing is fetched from the network.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from defusedxml import DTDForbidden
from lxml import etree

from services.catalogue_import import (
    Group,
    Offer,
    Organisation,
    Price,
    PriceType,
    Product,
    Property,
    Record,
    Warehouse,
)
from services.companies import onec_contragent

ROOT = "КоммерческаяИнформация"
_RECORDS = (
    ROOT,
    "Классификатор",
    "Каталог",
    "ПакетПредложений",
    "СодержитТолькоИзменения",
    "Группа",
    "Свойство",
    "СвойствоНоменклатуры",
    "ЕдиницаИзмерения",
    "Товар",
    "Предложение",
    "ТипЦены",
    "Склад",
    "Контрагент",
)
TAGS = [f"{{*}}{name}" for name in _RECORDS]  # {*}: in the namespace or in none
CENT = Decimal("0.01")


class NotCommerceML(ValueError):
    """The file is not a CommerceML document (another root element, or not XML at all)."""


@dataclass
class PackageInfo:
    """What the file said about itself, filled in while it is read."""

    version: str | None = None
    only_changes: bool = False  # СодержитТолькоИзменения="true" (an attribute from 2.05, an element before)
    kinds: set[str] = field(default_factory=set)  # what a full package of this file sweeps (services.catalogue_import)


def _local(tag: Any) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _true(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1", "истина")


def _children(elem: Any, name: str) -> Iterator[Any]:
    for child in elem:
        if _local(child.tag) == name:
            yield child


def _child(elem: Any, name: str) -> Any | None:
    return next(_children(elem, name), None)


def _text(elem: Any, name: str) -> str:
    child = _child(elem, name)
    return "" if child is None or child.text is None else child.text.strip()


def number(text: str | None) -> Decimal | None:
    """1C's numbers: «1234.5», «1 234,50» (a space or a no-break space between thousands)."""
    cleaned = (text or "").strip().replace("\xa0", "").replace(" ", "").replace(",", ".")
    if not cleaned:
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _drop(elem: Any) -> None:
    """Forget a record once read: its contents and the siblings already read before it."""
    elem.clear()
    parent = elem.getparent()
    if parent is not None:
        while elem.getprevious() is not None:
            del parent[0]


def _refuse_dtd(elem: Any) -> None:
    docinfo = elem.getroottree().docinfo
    if docinfo.doctype:
        raise DTDForbidden(docinfo.root_name, docinfo.system_url, docinfo.public_id)


def records(source: str | Path, info: PackageInfo) -> Iterator[Record]:
    """The file's records in document order; `info` says, once they are read, what kind of package it was."""
    units: dict[str, str] = {}  # a unit's code or id -> its short name (Классификатор/ЕдиницыИзмерения, 2.08+)
    position = 0
    context = etree.iterparse(
        str(source),
        events=("start", "end"),
        tag=TAGS,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    first = True
    try:
        for event, elem in context:
            name = _local(elem.tag)
            if first:
                _refuse_dtd(elem)
                if name != ROOT or elem.getparent() is not None:
                    raise NotCommerceML(f"the root element is not {ROOT}")
                first = False
            if event == "start":
                if name == ROOT:
                    info.version = elem.get("ВерсияСхемы")
                elif name in ("Классификатор", "Каталог", "ПакетПредложений"):
                    info.only_changes |= _true(elem.get("СодержитТолькоИзменения"))
                    if name == "Каталог":
                        info.kinds.add("products")
                continue
            parent = elem.getparent()
            within = _local(parent.tag) if parent is not None else ""
            if name == "СодержитТолькоИзменения":
                info.only_changes |= _true(elem.text)
            elif name == "Группа" and within == "Группы":
                grand = parent.getparent()
                if _local(grand.tag) in ("Классификатор", "Группа"):
                    external_id = _text(elem, "Ид")
                    if external_id:
                        upper = _text(grand, "Ид") if _local(grand.tag) == "Группа" else ""
                        position += 1
                        info.kinds.add("groups")
                        yield Group(external_id, _text(elem, "Наименование") or external_id, upper or None, position)
                    _drop(elem)
            elif name in ("Свойство", "СвойствоНоменклатуры") and within == "Свойства":
                prop = _property(elem)
                if prop is not None:
                    yield prop
                _drop(elem)
            elif name == "ЕдиницаИзмерения" and within == "ЕдиницыИзмерения":
                short = _text(elem, "НаименованиеКраткое") or _text(elem, "НаименованиеПолное")
                for key in (_text(elem, "Ид"), _text(elem, "Код")):
                    if key and short:
                        units[key] = short
                _drop(elem)
            elif name == "Товар" and within == "Товары" and _local(parent.getparent().tag) == "Каталог":
                product = _product(elem, units)
                if product is not None:
                    yield product
                _drop(elem)
            elif name == "ТипЦены" and within == "ТипыЦен":
                external_id = _text(elem, "Ид")
                if external_id:
                    yield PriceType(
                        external_id, _text(elem, "Наименование") or external_id, _text(elem, "Валюта") or "RUB"
                    )
                _drop(elem)
            elif name == "Склад" and within == "Склады":
                external_id = _text(elem, "Ид")
                if external_id:
                    yield Warehouse(external_id, _text(elem, "Наименование") or external_id)
                _drop(elem)
            elif name == "Контрагент" and within == "Контрагенты":
                # The package's counterparties (at the top, in the classifier or the catalogue). Those of a sale
                # document are the sale exchange's; a representative's nested Контрагент is read with its own.
                if _local(parent.getparent().tag) != "Документ":
                    found = onec_contragent(elem)
                    if found is not None:
                        yield Organisation(**found)
                _drop(elem)
            elif name == "Предложение" and within == "Предложения":
                offer = _offer(elem)
                if offer is not None:
                    if offer.name is not None:
                        info.kinds.add("offers")
                    if offer.prices is not None:
                        info.kinds.add("prices")
                    if offer.stock is not None or offer.quantity is not None:
                        info.kinds.add("stock")
                    yield offer
                _drop(elem)
    except etree.XMLSyntaxError as bad:
        raise NotCommerceML(f"not well-formed XML: {bad}") from bad
    if first:
        raise NotCommerceML(f"no {ROOT} element")


def _property(elem: Any) -> Property | None:
    external_id = _text(elem, "Ид")
    if not external_id:
        return None
    choices: dict[str, str] = {}
    variants = _child(elem, "ВариантыЗначений")
    if variants is not None:
        for choice in _children(variants, "Справочник"):
            value_id = _text(choice, "ИдЗначения")
            if value_id:
                choices[value_id] = _text(choice, "Значение")
    kind = _text(elem, "ТипЗначений") or ("Справочник" if choices else "Строка")
    return Property(external_id, _text(elem, "Наименование") or external_id, kind, choices)


def _product(elem: Any, units: dict[str, str]) -> Product | None:
    kids = _index(elem)
    external_id = _first(kids, "Ид")
    if not external_id:
        return None
    unit_elem = kids["БазоваяЕдиница"][0] if "БазоваяЕдиница" in kids else None
    unit = None
    if unit_elem is not None:
        text = (unit_elem.text or "").strip()
        unit = units.get(text) or text or unit_elem.get("НаименованиеКраткое") or None
        if unit is None:
            unit = units.get(unit_elem.get("Код") or "")
    group = _text(kids["Группы"][0], "Ид") if "Группы" in kids else ""
    properties: list[tuple[str, str]] = []
    for values in kids.get("ЗначенияСвойств", ()):
        for value in _children(values, "ЗначенияСвойства"):
            prop = _text(value, "Ид")
            texts = [(v.text or "").strip() for v in _children(value, "Значение")]
            texts = [t for t in texts if t]
            if prop and texts:
                properties.append((prop, ", ".join(texts)))
    requisites: list[tuple[str, str]] = []
    for holder in kids.get("ЗначенияРеквизитов", ()):
        for requisite in _children(holder, "ЗначениеРеквизита"):
            name, value = _text(requisite, "Наименование"), _text(requisite, "Значение")
            if name and value:
                requisites.append((name, value))
    status = _first(kids, "Статус") or elem.get("Статус") or ""
    return Product(
        external_id=external_id,
        name=_first(kids, "Наименование") or external_id,
        article=_first(kids, "Артикул") or None,
        barcode=_first(kids, "Штрихкод") or None,
        unit=unit,
        description=_first(kids, "Описание") or None,
        group=group or None,
        properties=tuple(properties),
        requisites=tuple(requisites),
        images=tuple(t for t in ((c.text or "").strip() for c in kids.get("Картинка", ())) if t),
        deleted=status.strip().lower() == "удален" or _true(elem.get("ПометкаУдаления")),
    )


def _index(elem: Any) -> dict[str, list[Any]]:
    """The element's children by local name, in one pass (an offer is read from a dozen of them)."""
    found: dict[str, list[Any]] = {}
    for child in elem:
        tag = child.tag
        if isinstance(tag, str):
            found.setdefault(tag.rpartition("}")[2], []).append(child)
    return found


def _first(index: dict[str, list[Any]], name: str) -> str:
    children = index.get(name)
    if not children or children[0].text is None:
        return ""
    return str(children[0].text).strip()


def _offer(elem: Any) -> Offer | None:
    kids = _index(elem)
    external_id = _first(kids, "Ид")
    if not external_id:
        return None
    prices: tuple[Price, ...] | None = None
    if "Цены" in kids:
        found = []
        for price in _children(kids["Цены"][0], "Цена"):
            parts = _index(price)
            value = number(_first(parts, "ЦенаЗаЕдиницу"))
            kind = _first(parts, "ИдТипаЦены")
            if value is not None and kind:
                found.append(Price(kind, value.quantize(CENT), _first(parts, "Валюта") or None))
        prices = tuple(found)
    quantity = number(_first(kids, "Количество")) if "Количество" in kids else None
    stock: list[tuple[str, Decimal]] | None = None
    # Stock as Склад attributes (ИдСклада, КоличествоНаСкладе), from 2.07
    for store in kids.get("Склад", ()):
        warehouse = store.get("ИдСклада")
        if warehouse:
            stock = stock if stock is not None else []
            stock.append((warehouse, number(store.get("КоличествоНаСкладе")) or Decimal(0)))
    # …or as Остатки/Остаток, by warehouse (Склад/Ид, Склад/Количество) or in total (Количество), newer 1C
    if "Остатки" in kids:
        for rest in _children(kids["Остатки"][0], "Остаток"):
            stores = list(_children(rest, "Склад"))
            for store in stores:
                warehouse = _text(store, "Ид")
                if warehouse:
                    stock = stock if stock is not None else []
                    stock.append((warehouse, number(_text(store, "Количество")) or Decimal(0)))
            if not stores and _child(rest, "Количество") is not None:
                quantity = (quantity or Decimal(0)) + (number(_text(rest, "Количество")) or Decimal(0))
    characteristics: list[tuple[str, str]] = []
    if "ХарактеристикиТовара" in kids:
        for feature in _children(kids["ХарактеристикиТовара"][0], "ХарактеристикаТовара"):
            feature_name = _text(feature, "Наименование")
            if feature_name:
                characteristics.append((feature_name, _text(feature, "Значение")))
    return Offer(
        external_id=external_id,
        name=_first(kids, "Наименование") or None,
        prices=prices,
        quantity=quantity,
        stock=tuple(stock) if stock is not None else None,
        characteristics=tuple(characteristics),
    )
