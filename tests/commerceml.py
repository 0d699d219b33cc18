"""CommerceML 2 files as 1C writes them (the published standard, versions 2.03–2.10), for the tests.

The maker's catalogue: five groups two levels deep, five products, one of them with a variant (a
characteristic), two price types, two warehouses. Each version differs where the standard does:
- 2.03, 2.04: СодержитТолькоИзменения is an element; 2.03 names a classifier property СвойствоНоменклатуры;
  stock is one Количество per offer.
- 2.05, 2.06: СодержитТолькоИзменения becomes an attribute, the unit gets its code as attributes.
- 2.07, 2.08: stock by warehouse as `<Склад ИдСклада=… КоличествоНаСкладе=…/>`.
- 2.09, 2.10: price types and warehouses may sit in the classifier, units are listed in the classifier and named
  by code; newer 1C splits the package (import___*, offers___*, prices___*, rests___*) and gives stock as
  Остатки/Остаток/Склад.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import (
    CatalogGroup,
    CatalogPrice,
    CatalogPriceType,
    CatalogProduct,
    CatalogProperty,
    CatalogStock,
    CatalogWarehouse,
)

NS = "urn:1C.ru:commerceml_2"

# (id, name, parent)
GROUPS = [
    ("g-tools", "Электроинструмент", None),
    ("g-drills", "Дрели", "g-tools"),
    ("g-cordless", "Аккумуляторные дрели", "g-drills"),
    ("g-saws", "Пилы", "g-tools"),
    ("g-parts", "Запчасти и оснастка", None),
]
# (id, article, barcode, name, group, unit, brand value id, power)
PRODUCTS = [
    ("prod-1", "DX-500", "4601234567001", "Дрель ударная DX-500", "g-drills", "шт", "v-bosch", "500"),
    ("prod-2", "CD-18", "4601234567002", "Дрель аккумуляторная CD-18", "g-cordless", "шт", "v-makita", "0"),
    ("prod-3", "CS-190", "4601234567003", "Пила дисковая CS-190", "g-saws", "шт", "v-makita", "1200"),
    ("prod-4", "BR-610", "4601234567004", "Щётка угольная 6x10", "g-parts", "компл", "v-bosch", ""),
    ("prod-5", "SD-190", "4601234567005", "Диск пильный 190 мм", "g-parts", "шт", "v-bosch", ""),
]
VARIANT = ("prod-1#char-case", "Дрель ударная DX-500 (в кейсе)", "Комплектация", "в кейсе")
PRICE_TYPES = [("pt-wholesale", "Оптовая"), ("pt-retail", "Розничная")]
WAREHOUSES = [("w-msk", "Склад Москва"), ("w-spb", "Склад Санкт-Петербург")]
# offer id -> (wholesale, retail, stock in Moscow, stock in St Petersburg)
OFFERS = {
    "prod-1": ("4500.00", "5990.00", "12", "3"),
    "prod-2": ("7200.50", "8990.00", "0", "5"),
    "prod-3": ("6100.00", "7490.00", "4", "0"),
    "prod-4": ("150.00", "240.00", "200", "150"),
    "prod-5": ("390.00", "590.00", "0", "0"),
    VARIANT[0]: ("4900.00", "6490.00", "2", "0"),
}


@dataclass(frozen=True)
class Catalogue:
    """Which products and offers a package carries (a package of changes carries a few)."""

    products: tuple[str, ...] = tuple(p[0] for p in PRODUCTS)
    offers: tuple[str, ...] = tuple(OFFERS)
    groups: bool = True


def _attrs(version: str, namespace: bool) -> str:
    xmlns = f' xmlns="{NS}" xmlns:xs="http://www.w3.org/2001/XMLSchema"' if namespace else ""
    return f'{xmlns} ВерсияСхемы="{version}" ДатаФормирования="2026-12-21T10:00:00"'


def _minor(version: str) -> int:
    return int(version.split(".")[1])


def _changes(version: str, only_changes: bool) -> tuple[str, str]:
    """(attribute, element): where the version puts СодержитТолькоИзменения."""
    flag = "true" if only_changes else "false"
    if _minor(version) <= 4:
        return "", f"<СодержитТолькоИзменения>{flag}</СодержитТолькоИзменения>"
    return f' СодержитТолькоИзменения="{flag}"', ""


def _groups_xml(parent: str | None) -> str:
    inner = "".join(
        f"<Группа><Ид>{gid}</Ид><Наименование>{escape(name)}</Наименование>{_groups_xml(gid)}</Группа>"
        for gid, name, up in GROUPS
        if up == parent
    )
    return f"<Группы>{inner}</Группы>" if inner else ""


def _price_types_xml() -> str:
    kinds = "".join(
        f"<ТипЦены><Ид>{pid}</Ид><Наименование>{name}</Наименование><Валюта>RUB</Валюта>"
        f"<Налог><Наименование>НДС</Наименование><УчтеноВСумме>true</УчтеноВСумме></Налог></ТипЦены>"
        for pid, name in PRICE_TYPES
    )
    return f"<ТипыЦен>{kinds}</ТипыЦен>"


def _warehouses_xml() -> str:
    stores = "".join(f"<Склад><Ид>{wid}</Ид><Наименование>{name}</Наименование></Склад>" for wid, name in WAREHOUSES)
    return f"<Склады>{stores}</Склады>"


def classifier(version: str, with_groups: bool = True) -> str:
    minor = _minor(version)
    prop = "СвойствоНоменклатуры" if minor == 3 else "Свойство"
    properties = (
        f"<Свойства><{prop}><Ид>p-brand</Ид><Наименование>Марка</Наименование><ТипЗначений>Справочник</ТипЗначений>"
        "<ВариантыЗначений><Справочник><ИдЗначения>v-bosch</ИдЗначения><Значение>Bosch</Значение></Справочник>"
        "<Справочник><ИдЗначения>v-makita</ИдЗначения><Значение>Makita</Значение></Справочник></ВариантыЗначений>"
        f"</{prop}><{prop}><Ид>p-power</Ид><Наименование>Мощность, Вт</Наименование><ТипЗначений>Число</ТипЗначений>"
        f"</{prop}></Свойства>"
    )
    units = ""
    extra = ""
    if minor >= 9:
        units = (
            "<ЕдиницыИзмерения><ЕдиницаИзмерения><Ид>796</Ид><Код>796</Код><НаименованиеКраткое>шт</НаименованиеКраткое>"
            "<НаименованиеПолное>Штука</НаименованиеПолное></ЕдиницаИзмерения><ЕдиницаИзмерения><Ид>704</Ид>"
            "<Код>704</Код><НаименованиеКраткое>компл</НаименованиеКраткое></ЕдиницаИзмерения></ЕдиницыИзмерения>"
        )
        extra = _price_types_xml() + _warehouses_xml()
    groups = _groups_xml(None) if with_groups else ""
    return (
        f"<Классификатор><Ид>cls-1</Ид><Наименование>Классификатор (Основной каталог товаров)</Наименование>"
        f"<Владелец><Ид>org-1</Ид><Наименование>ООО «Завод»</Наименование></Владелец>"
        f"{groups}{properties}{extra}{units}</Классификатор>"
    )


def _unit(version: str, unit: str) -> str:
    minor = _minor(version)
    code = "796" if unit == "шт" else "704"
    if minor >= 9:
        return f"<БазоваяЕдиница>{code}</БазоваяЕдиница>"
    if minor >= 5:
        full = "Штука" if unit == "шт" else "Комплект"
        attributes = f'Код="{code}" НаименованиеПолное="{full}" МеждународноеСокращение="PCE"'
        return f"<БазоваяЕдиница {attributes}>{unit}</БазоваяЕдиница>"
    return f"<БазоваяЕдиница>{unit}</БазоваяЕдиница>"


def products_xml(version: str, products: tuple[str, ...], deleted: tuple[str, ...] = ()) -> str:
    items = []
    for pid, article, barcode, name, group, unit, brand, power in PRODUCTS:
        if pid not in products:
            continue
        power_xml = (
            f"<ЗначенияСвойства><Ид>p-power</Ид><Значение>{power}</Значение></ЗначенияСвойства>" if power else ""
        )
        status = "<Статус>Удален</Статус>" if pid in deleted else ""
        items.append(
            f"<Товар><Ид>{pid}</Ид><Штрихкод>{barcode}</Штрихкод><Артикул>{article}</Артикул>"
            f"<Наименование>{escape(name)}</Наименование>{_unit(version, unit)}"
            f"<Группы><Ид>{group}</Ид></Группы><Описание>{escape(name)}: описание</Описание>"
            f"<Картинка>import_files/{pid[-1]}0/{pid}.jpg</Картинка>"
            f"<ЗначенияСвойств><ЗначенияСвойства><Ид>p-brand</Ид><Значение>{brand}</Значение></ЗначенияСвойства>"
            f"{power_xml}</ЗначенияСвойств>"
            "<СтавкиНалогов><СтавкаНалога><Наименование>НДС</Наименование><Ставка>20</Ставка></СтавкаНалога>"
            "</СтавкиНалогов><ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>ВидНоменклатуры</Наименование>"
            f"<Значение>Товар</Значение></ЗначениеРеквизита></ЗначенияРеквизитов>{status}</Товар>"
        )
    return f"<Товары>{''.join(items)}</Товары>"


def import_xml(
    version: str,
    *,
    namespace: bool = True,
    only_changes: bool = False,
    catalogue: Catalogue = Catalogue(),
    deleted: tuple[str, ...] = (),
) -> str:
    attr, element = _changes(version, only_changes)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<КоммерческаяИнформация{_attrs(version, namespace)}>'
        f"{classifier(version, catalogue.groups)}"
        f"<Каталог{attr}>{element}<Ид>cat-1</Ид><ИдКлассификатора>cls-1</ИдКлассификатора>"
        f"<Наименование>Основной каталог товаров</Наименование>"
        f"{products_xml(version, catalogue.products, deleted)}</Каталог></КоммерческаяИнформация>\n"
    )


def _name(offer: str) -> str:
    if offer == VARIANT[0]:
        return VARIANT[1]
    return next(p[3] for p in PRODUCTS if p[0] == offer)


def _prices_xml(offer: str) -> str:
    wholesale, retail = OFFERS[offer][:2]
    return (
        "<Цены>"
        + "".join(
            f"<Цена><Представление>{value} RUB за шт</Представление><ИдТипаЦены>{pid}</ИдТипаЦены>"
            f"<ЦенаЗаЕдиницу>{value}</ЦенаЗаЕдиницу><Валюта>RUB</Валюта><Единица>шт</Единица>"
            f"<Коэффициент>1</Коэффициент></Цена>"
            for (pid, _), value in zip(PRICE_TYPES, (wholesale, retail), strict=True)
        )
        + "</Цены>"
    )


def _stock_xml(offer: str, form: str) -> str:
    msk, spb = OFFERS[offer][2:]
    if form == "total":
        return f"<Количество>{int(msk) + int(spb)}</Количество>"
    if form == "attributes":
        return f"<Количество>{int(msk) + int(spb)}</Количество>" + "".join(
            f'<Склад ИдСклада="{wid}" КоличествоНаСкладе="{qty}"/>'
            for (wid, _), qty in zip(WAREHOUSES, (msk, spb), strict=True)
        )
    assert form == "rests"
    return (
        "<Остатки>"
        + "".join(
            f"<Остаток><Склад><Ид>{wid}</Ид><Количество>{qty}</Количество></Склад></Остаток>"
            for (wid, _), qty in zip(WAREHOUSES, (msk, spb), strict=True)
        )
        + "</Остатки>"
    )


def offers_xml(
    version: str,
    *,
    namespace: bool = True,
    only_changes: bool = False,
    stock: str = "total",
    catalogue: Catalogue = Catalogue(),
    names: bool = True,
    prices: bool = True,
    definitions: bool = True,
) -> str:
    """offers.xml, or a part of a split package: without names and prices (rests___), without stock and names
    (prices___), without prices and stock (offers___: stock="none", prices=False)."""
    attr, element = _changes(version, only_changes)
    offers = []
    for offer in catalogue.offers:
        features = ""
        if offer == VARIANT[0]:
            features = (
                f"<ХарактеристикиТовара><ХарактеристикаТовара><Наименование>{VARIANT[2]}</Наименование>"
                f"<Значение>{VARIANT[3]}</Значение></ХарактеристикаТовара></ХарактеристикиТовара>"
            )
        name = f"<Наименование>{escape(_name(offer))}</Наименование>{features}" if names else ""
        offers.append(
            f"<Предложение><Ид>{offer}</Ид>{name}{_prices_xml(offer) if prices else ''}"
            f"{_stock_xml(offer, stock) if stock != 'none' else ''}</Предложение>"
        )
    kinds = (_price_types_xml() if prices else "") + (_warehouses_xml() if stock in ("attributes", "rests") else "")
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<КоммерческаяИнформация{_attrs(version, namespace)}>'
        f"<ПакетПредложений{attr}>{element}<Ид>cat-1#</Ид><Наименование>Пакет предложений</Наименование>"
        f"<ИдКаталога>cat-1</ИдКаталога><ИдКлассификатора>cls-1</ИдКлассификатора>"
        f"{kinds if definitions else ''}<Предложения>{''.join(offers)}</Предложения></ПакетПредложений>"
        f"</КоммерческаяИнформация>\n"
    )


def write(folder: Path, name: str, text: str, *, encoding: str = "utf-8", bom: bool = False) -> Path:
    """The file as 1C saves it: its XML declaration names the encoding actually used."""
    if encoding != "utf-8":
        text = text.replace('encoding="UTF-8"', f'encoding="{encoding}"', 1)
    data = text.encode(encoding)
    path = folder / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


async def wipe_catalogue(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """The catalogue emptied between two imports of one test (dependants first)."""
    async with sessionmaker() as session, session.begin():
        for model in (
            CatalogStock,
            CatalogPrice,
            CatalogWarehouse,
            CatalogPriceType,
            CatalogProduct,
            CatalogProperty,
            CatalogGroup,
        ):
            await session.execute(delete(model))
