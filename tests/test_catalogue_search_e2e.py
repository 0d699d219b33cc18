"""The inline catalogue search as people type it (seed 4): a plural or another case of a word («газонокосилки»,
«косилки бензиновые»), part of a word, and an article without its dashes or with spaces («gm46», «GM 46S») find
the products 1C named «Газонокосилка бензиновая …», «GM-46S»; on SQLite (its FTS5 index) and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from integrations.onec.importer import import_files
from services import catalogue
from tests.conftest import Harness
from tests.test_organisations_e2e import dealer_person, organisation

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" '
    'ВерсияСхемы="2.08" ДатаФормирования="2026-12-01T08:00:00">'
)
# name, article, barcode
PRODUCTS = [
    ("Газонокосилка бензиновая STIGA Combi 48", "GM-46S", "8019720000011"),
    ("Газонокосилка аккумуляторная STIGA Multiclip", "2L0500848", "8019720000035"),
    ("Нож для газонокосилки 48 см", "1111-9101-01", "8019720000059"),
    ("Триммер бензиновый STIGA SBC 900", "2T1090048", "8019720000042"),
    ("Масло для четырёхтактных двигателей", "OIL 4T.600", "4 600123 450018"),
]


def package(folder: Path) -> list[Path]:
    goods = "".join(
        f"<Товар><Ид>p-{n}</Ид><Штрихкод>{barcode}</Штрихкод><Артикул>{article}</Артикул>"
        f"<Наименование>{name}</Наименование></Товар>"
        for n, (name, article, barcode) in enumerate(PRODUCTS)
    )
    offers = "".join(
        f"<Предложение><Ид>p-{n}</Ид><Наименование>{name}</Наименование><Цены><Цена><ИдТипаЦены>opt</ИдТипаЦены>"
        f"<ЦенаЗаЕдиницу>{1000 + n}</ЦенаЗаЕдиницу><Валюта>RUB</Валюта></Цена></Цены><Количество>1</Количество>"
        "</Предложение>"
        for n, (name, _article, _barcode) in enumerate(PRODUCTS)
    )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "import.xml").write_text(
        f"{HEAD}<Каталог><Ид>cat-1</Ид><Наименование>Каталог</Наименование><Товары>{goods}</Товары></Каталог>"
        "</КоммерческаяИнформация>\n",
        encoding="utf-8",
    )
    (folder / "offers.xml").write_text(
        f"{HEAD}<ПакетПредложений><Ид>cat-1#</Ид><Наименование>Пакет</Наименование><ИдКаталога>cat-1</ИдКаталога>"
        "<ТипыЦен><ТипЦены><Ид>opt</Ид><Наименование>Оптовая</Наименование><Валюта>RUB</Валюта></ТипЦены>"
        f"</ТипыЦен><Предложения>{offers}</Предложения></ПакетПредложений></КоммерческаяИнформация>\n",
        encoding="utf-8",
    )
    return [folder / "import.xml", folder / "offers.xml"]


async def load(harness: Harness, folder: Path) -> None:
    await import_files(harness.core.sessionmaker, harness.core.clock, package(folder))


async def test_a_dealer_finds_products_by_other_forms_of_their_words_and_by_articles_typed_loosely(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    harness = await harness_factory()
    await load(harness, tmp_path / "1c")
    await organisation(harness, "ООО Сад region=Москва inn=7707083893 price=Оптовая")
    anna = await dealer_person(harness, "Анна", "ООО Сад", "Менеджер дилера")

    async def titles(query: str) -> list[str]:
        return [r["title"] for r in (await anna.inline(query))["results"]]

    mowers = ["Газонокосилка аккумуляторная STIGA Multiclip", "Газонокосилка бензиновая STIGA Combi 48"]
    knife, trimmer, oil = "Нож для газонокосилки 48 см", "Триммер бензиновый STIGA SBC 900", PRODUCTS[4][0]
    # The plural finds the mowers themselves, not only the knife named with it.
    assert await titles("газонокосилки") == [*mowers, knife]
    assert await titles("Газонокосилку") == [*mowers, knife]
    assert await titles("косилки бензиновые") == [mowers[1]]
    assert await titles("бензиновые") == [mowers[1], trimmer]
    assert await titles("триммеры stiga") == [trimmer]
    assert await titles("четырехтактного масла") == [oil]
    # Articles and barcodes: without dashes, with spaces or other dashes, in any case, a beginning of one.
    for typed in ("gm46", "GM46S", "GM 46S", "gm-46-s", "Gm-46"):
        assert await titles(typed) == [mowers[1]], typed
    assert await titles("1111910101") == [knife]
    assert await titles("oil4t600") == [oil]
    assert await titles("4600123450018") == [oil]
    assert await titles("46001234") == [oil]
    # A word found nowhere still finds nothing; a short word is not cut to nothing.
    assert await titles("газонокосилки культиваторы") == []
    assert catalogue.terms("ели ножи") == ["ели", "нож"]


async def test_the_catalogue_answers_those_who_work_with_it_and_nobody_of_another_process(
    harness_factory: Callable[..., Awaitable[Harness]], tmp_path: Path
) -> None:
    """Seed 5's sales manager typed `@bot газонокосилка` and got the maker's stock: he now gets no results, and a
    product's link opens no card for him; the maker's representative still finds them (no prices: he has none)."""
    harness = await harness_factory()
    await load(harness, tmp_path / "1c")
    medical = await harness.person("Марина", "sales_manager")
    rita = await harness.person("Рита", "representative")

    assert (await medical.inline("газонокосилка"))["results"] == []
    found = await rita.inline("газонокосилка")
    assert len(found["results"]) == 3  # the two mowers and the knife «для газонокосилки»
    async with harness.core.sessionmaker() as session:
        combi = await catalogue.get_product_by_external_id(session, "p-0")
    assert combi is not None
    await medical.send(f"/start product-{combi.id}")
    await medical.expect("Каталог — для дилеров")
