"""CommerceML 2 (versions 2.03–2.10) read as a stream: import.xml, offers.xml and the split files of newer 1C
(import___*, offers___*, prices___*, rests___*), with or without the urn:1C.ru:commerceml_2 namespace, in any
encoding the XML declaration names (UTF-8 with or without a BOM, windows-1251). The counterparties a package
carries (`Контрагенты/Контрагент`, at the top, in the classifier or the catalogue) are read too: they are our
organisations (services/companies/ `onec_contragent`, `from_onec`).

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

from services.catalogue_import.records import (
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
# The elements reported as they end; each is read then, its contents complete. Warehouses are read from their
# list (Склады) rather than each Склад: an offer's own Склад (its stock, from 2.07) would otherwise be reported too,
# two events an offer for nothing.
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
    "Склады",
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


_LOCAL_NAMES: dict[Any, str] = {}  # a tag as lxml gives it ("{urn:…}Ид", "Ид") -> its local name ("Ид")
_KNOWN_TAGS = 10_000  # a file of ever new tag names does not grow the table past this


def _local(tag: Any) -> str:
    """An element's local name: its tag without the namespace ("" for a comment's or an entity's). Looked up, not
    cut, for the tags seen before: a product or an offer is read from twenty of them."""
    try:
        return _LOCAL_NAMES[tag]
    except KeyError:
        name = tag.rpartition("}")[2] if isinstance(tag, str) else ""
        if len(_LOCAL_NAMES) < _KNOWN_TAGS:
            _LOCAL_NAMES[tag] = name
        return name


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
    if text is None:
        return None
    try:
        value = Decimal(text)  # what 1C writes nearly always («1234.50»; Decimal allows the spaces around it)
    except InvalidOperation:
        cleaned = text.strip().replace("\xa0", "").replace(" ", "").replace(",", ".")
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
    """The file's records in document order; `info` says, once they are read, what kind of package it was.

    Only the ends of elements are reported (an element's start would be one more event per record): the attributes
    of the document and of its sections are there at their ends too, and `info` is read after the last record."""
    units: dict[str, str] = {}  # a unit's code or id -> its short name (Классификатор/ЕдиницыИзмерения, 2.08+)
    codes: dict[str, str] = {}  # a unit's code or id -> its OKEI code (the same classifier)
    position = 0
    context = etree.iterparse(
        str(source),
        events=("end",),
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
        for _, elem in context:
            name = _local(elem.tag)
            if first:
                _refuse_dtd(elem)
                root = elem.getroottree().getroot()
                if _local(root.tag) != ROOT:
                    raise NotCommerceML(f"the root element is not {ROOT}")
                first = False
            parent = elem.getparent()
            within = _local(parent.tag) if parent is not None else ""
            # The records by the hundred thousand first.
            if name == "Предложение":
                if within == "Предложения":
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
            elif name == "Товар":
                if within == "Товары" and _local(parent.getparent().tag) == "Каталог":
                    product = _product(elem, units, codes)
                    if product is not None:
                        yield product
                    _drop(elem)
            elif name == ROOT:
                info.version = elem.get("ВерсияСхемы")
            elif name in ("Классификатор", "Каталог", "ПакетПредложений"):
                info.only_changes |= _true(elem.get("СодержитТолькоИзменения"))
                if name == "Каталог":
                    info.kinds.add("products")
            elif name == "СодержитТолькоИзменения":
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
                code = _text(elem, "Код")
                for key in (_text(elem, "Ид"), code):
                    if key and short:
                        units[key] = short
                    if key and code:
                        codes[key] = code
                _drop(elem)
            elif name == "ТипЦены" and within == "ТипыЦен":
                external_id = _text(elem, "Ид")
                if external_id:
                    yield PriceType(
                        external_id, _text(elem, "Наименование") or external_id, _text(elem, "Валюта") or "RUB"
                    )
                _drop(elem)
            elif name == "Склады":
                for store in _children(elem, "Склад"):
                    external_id = _text(store, "Ид")
                    if external_id:
                        yield Warehouse(external_id, _text(store, "Наименование") or external_id)
                _drop(elem)
            elif name == "Контрагент" and within == "Контрагенты":
                # The package's counterparties (at the top, in the classifier or the catalogue). Those of a sale
                # document are the sale exchange's; a representative's nested Контрагент is read with its own.
                if _local(parent.getparent().tag) != "Документ":
                    found = onec_contragent(elem)
                    if found is not None:
                        yield Organisation(**found)
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


# A product and an offer are read in one pass over their children, each child's local name looked up once; of a
# child that may repeat, the first counts (as 1C writes one), except where all are read (Склад, Картинка…).


def _by_name(elem: Any, repeated: frozenset[str]) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """One pass over `elem`'s children: the first child of each local name, and every child of the `repeated` ones."""
    first: dict[str, Any] = {}
    every: dict[str, list[Any]] = {name: [] for name in repeated}
    for child in elem:
        local = _local(child.tag)
        if local in every:
            every[local].append(child)
        elif local not in first:
            first[local] = child
    return first, every


def _own(first: dict[str, Any], name: str) -> str | None:
    """The text of the first child so named: None when there is none, "" when it is empty."""
    child = first.get(name)
    return None if child is None else child.text or ""


_PRODUCT_REPEATED = frozenset({"ЗначенияСвойств", "ЗначенияРеквизитов", "Картинка"})
_OFFER_REPEATED = frozenset({"Склад"})


def _product(elem: Any, units: dict[str, str], codes: dict[str, str]) -> Product | None:
    first, every = _by_name(elem, _PRODUCT_REPEATED)
    external_id, name, article = _own(first, "Ид"), _own(first, "Наименование"), _own(first, "Артикул")
    barcode, description, status = _own(first, "Штрихкод"), _own(first, "Описание"), _own(first, "Статус")
    unit_elem, groups = first.get("БазоваяЕдиница"), first.get("Группы")
    values, requisites_holders = every["ЗначенияСвойств"], every["ЗначенияРеквизитов"]
    images = [image for image in ((c.text or "").strip() for c in every["Картинка"]) if image]
    external_id = (external_id or "").strip()
    if not external_id:
        return None
    unit = code = None
    if unit_elem is not None:
        text = (unit_elem.text or "").strip()
        unit = units.get(text) or text or unit_elem.get("НаименованиеКраткое") or None
        if unit is None:
            unit = units.get(unit_elem.get("Код") or "")
        # Its OKEI code: an attribute (2.05-2.08), or the classifier's unit the text names (2.09+).
        code = (unit_elem.get("Код") or "").strip() or codes.get(text) or None
    group = _text(groups, "Ид") if groups is not None else ""
    properties: list[tuple[str, str]] = []
    for holder in values:
        for value in _children(holder, "ЗначенияСвойства"):
            prop = ""
            texts = []
            seen_id = False
            for part in value:
                local = _local(part.tag)
                if local == "Ид":
                    if not seen_id:
                        prop, seen_id = (part.text or "").strip(), True
                elif local == "Значение":
                    found = (part.text or "").strip()
                    if found:
                        texts.append(found)
            if prop and texts:
                properties.append((prop, ", ".join(texts)))
    requisites: list[tuple[str, str]] = []
    for holder in requisites_holders:
        for requisite in _children(holder, "ЗначениеРеквизита"):
            requisite_name, value_text = _text(requisite, "Наименование"), _text(requisite, "Значение")
            if requisite_name and value_text:
                requisites.append((requisite_name, value_text))
    status = (status or "").strip() or elem.get("Статус") or ""
    return Product(
        external_id,
        (name or "").strip() or external_id,
        (article or "").strip() or None,
        (barcode or "").strip() or None,
        unit,
        (description or "").strip() or None,
        group or None,
        tuple(properties),
        tuple(requisites),
        tuple(images),
        status.strip().lower() == "удален" or _true(elem.get("ПометкаУдаления")),
        code[:16] if code else None,
    )


def _price(elem: Any) -> Price | None:
    kind = value = currency = None
    for part in elem:
        local = _local(part.tag)
        if local == "ИдТипаЦены":
            if kind is None:
                kind = part.text or ""
        elif local == "ЦенаЗаЕдиницу":
            if value is None:
                value = part.text or ""
        elif local == "Валюта":
            if currency is None:
                currency = part.text or ""
    amount = number(value)
    kind = (kind or "").strip()
    if amount is None or not kind:
        return None
    return Price(kind, amount.quantize(CENT), (currency or "").strip() or None)


def _offer(elem: Any) -> Offer | None:
    first, every = _by_name(elem, _OFFER_REPEATED)
    external_id, name, quantity_text = _own(first, "Ид"), _own(first, "Наименование"), _own(first, "Количество")
    prices_elem, rests, features = first.get("Цены"), first.get("Остатки"), first.get("ХарактеристикиТовара")
    stores = every["Склад"]
    external_id = (external_id or "").strip()
    if not external_id:
        return None
    prices: tuple[Price, ...] | None = None
    if prices_elem is not None:
        found = []
        for child in prices_elem:
            if _local(child.tag) == "Цена":
                price = _price(child)
                if price is not None:
                    found.append(price)
        prices = tuple(found)
    quantity = number(quantity_text) if quantity_text is not None else None
    stock: list[tuple[str, Decimal]] | None = None
    # Stock as Склад attributes (ИдСклада, КоличествоНаСкладе), from 2.07
    for store in stores:
        warehouse = store.get("ИдСклада")
        if warehouse:
            stock = stock if stock is not None else []
            stock.append((warehouse, number(store.get("КоличествоНаСкладе")) or Decimal(0)))
    # …or as Остатки/Остаток, by warehouse (Склад/Ид, Склад/Количество) or in total (Количество), newer 1C
    if rests is not None:
        for rest in _children(rests, "Остаток"):
            places = list(_children(rest, "Склад"))
            for place in places:
                warehouse = _text(place, "Ид")
                if warehouse:
                    stock = stock if stock is not None else []
                    stock.append((warehouse, number(_text(place, "Количество")) or Decimal(0)))
            if not places and _child(rest, "Количество") is not None:
                quantity = (quantity or Decimal(0)) + (number(_text(rest, "Количество")) or Decimal(0))
    characteristics: list[tuple[str, str]] = []
    if features is not None:
        for feature in _children(features, "ХарактеристикаТовара"):
            feature_name = _text(feature, "Наименование")
            if feature_name:
                characteristics.append((feature_name, _text(feature, "Значение")))
    return Offer(
        external_id,
        (name or "").strip() or None,
        prices,
        quantity,
        tuple(stock) if stock is not None else None,
        tuple(characteristics),
    )
