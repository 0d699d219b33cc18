"""The catalogue's index for words on SQLite (migration 0018_sqlite_search, an FTS5 trigram table kept in step by
triggers): a catalogue imported from 1C, then changed by a second package (renamed, deleted, new products), is
searched with the index and without it (`catalogue.DENSE = 0` sends every search down the scan), and each query
gives the same products in the same order, page after page. On PostgreSQL the revision creates nothing."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import CatalogProduct
from flows.clock import FrozenClock
from integrations.onec.importer import import_files
from services import catalogue
from tests.conftest import START

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" '
    'ВерсияСхемы="2.08" ДатаФормирования="2026-12-21T10:00:00">\n'
)
KINDS = ("Дрель", "ДРЕЛЬ-шуруповёрт", "Щётка дисковая", "Пила цепная", "Газонокосилка", "Триммер", "Насос 50%_x")
BRANDS = ("Makita", "BOSCH", "Интерскол", "ЗУБР", "stiga")


def _name(n: int, renamed: bool) -> str:
    name = f"{KINDS[n % len(KINDS)]} {BRANDS[n // len(KINDS) % len(BRANDS)]} {18 + n % 7 * 6}В модель {n}"
    return f"Ёлочная {name.lower()}" if renamed else name


def _write(folder: Path, products: range, *, renamed: range = range(0), only_changes: bool = False) -> list[Path]:
    goods = [HEAD, "<Классификатор><Ид>cls</Ид><Наименование>Каталог</Наименование><Группы>"]
    goods += [f"<Группа><Ид>g{g}</Ид><Наименование>Раздел {g}</Наименование></Группа>" for g in range(3)]
    goods.append(
        f'</Группы></Классификатор><Каталог СодержитТолькоИзменения="{str(only_changes).lower()}"><Ид>cat</Ид>'
        "<ИдКлассификатора>cls</ИдКлассификатора><Наименование>Каталог</Наименование><Товары>"
    )
    offers = [
        HEAD,
        f'<ПакетПредложений СодержитТолькоИзменения="{str(only_changes).lower()}"><Ид>cat#</Ид>'
        "<Наименование>Пакет</Наименование><ИдКаталога>cat</ИдКаталога><ТипыЦен><ТипЦены><Ид>opt</Ид>"
        "<Наименование>Оптовая</Наименование><Валюта>RUB</Валюта></ТипЦены></ТипыЦен><Предложения>",
    ]
    for n in products:
        name = escape(_name(n, n in renamed))
        goods.append(
            f"<Товар><Ид>p-{n}</Ид><Штрихкод>46{n:011d}</Штрихкод><Артикул>ART-{n:05d}</Артикул>"
            f"<Наименование>{name}</Наименование><Группы><Ид>g{n % 3}</Ид></Группы></Товар>"
        )
        offers.append(
            f"<Предложение><Ид>p-{n}</Ид><Наименование>{name}</Наименование><Цены><Цена><ИдТипаЦены>opt"
            f"</ИдТипаЦены><ЦенаЗаЕдиницу>{1000 + n * 37 % 9000}.00</ЦенаЗаЕдиницу><Валюта>RUB</Валюта></Цена>"
            f"</Цены><Количество>{n % 3}</Количество></Предложение>"
        )
    goods.append("</Товары></Каталог></КоммерческаяИнформация>\n")
    offers.append("</Предложения></ПакетПредложений></КоммерческаяИнформация>\n")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "import.xml").write_text("".join(goods), encoding="utf-8")
    (folder / "offers.xml").write_text("".join(offers), encoding="utf-8")
    return [folder / "import.xml", folder / "offers.xml"]



def _sqlite(database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the FTS5 index is SQLite's (PostgreSQL has its trigram index, migration 0014)")


async def _index_agrees(session: AsyncSession) -> None:
    """FTS5's own check of an external-content index against its table (rank 1: compare with the content)."""
    await session.execute(
        text(f"INSERT INTO {catalogue.FTS} ({catalogue.FTS}, rank) VALUES ('integrity-check', 1)")
    )


QUERIES: list[tuple[str, dict[str, object]]] = [
    ("дрель", {}),
    ("ДРЕЛЬ", {}),  # Cyrillic in capitals
    ("Шуруповерт", {}),  # ё in the name, е typed
    ("щётка BOSCH", {}),  # two words, ё typed, Latin in capitals
    ("makita 24в", {}),
    ("газонокосилка stiga", {"in_stock": True}),
    ("модель", {}),  # in every product
    ("пила 18", {}),  # a long word and a short one
    ("18", {}),  # short words alone: the scan
    ("ёлочная", {}),  # the renamed products only
    ("art-00123", {}),  # an article
    ("4600000000477", {}),  # a barcode
    ("50%_x", {}),  # LIKE's own characters, read as themselves
    ("триммер", {"price_min": Decimal(2000), "price_max": Decimal(6000)}),
    ("насос", {"group": 1}),
    ("нет такого", {}),
]


async def test_the_index_finds_what_the_scan_finds_in_the_same_order(
    sessionmaker: async_sessionmaker[AsyncSession], database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _sqlite(database_url)
    clock = FrozenClock(START)
    await import_files(sessionmaker, clock, _write(tmp_path / "one", range(700)))
    # A second full package: 100 products renamed, the last 50 gone (deactivated); then three deleted.
    await import_files(sessionmaker, clock, _write(tmp_path / "two", range(650), renamed=range(300, 400)))
    async with sessionmaker() as session, session.begin():
        await session.execute(delete(CatalogProduct).where(CatalogProduct.external_id.in_(["p-5", "p-6", "p-7"])))
    async with sessionmaker() as session:
        await _index_agrees(session)
        wholesale = await catalogue.find_price_type(session, "Оптовая")
        groups = await catalogue.groups(session)
        assert wholesale is not None and len(groups) == 3
        used = 0
        for query, given in QUERIES:
            filters = dict(given)
            if "group" in filters:
                filters["group_id"] = groups[int(str(filters.pop("group")))].id
            if "price_min" in filters:
                filters["price_type_id"] = wholesale.id

            async def pages(scan: bool, query: str = query, filters: dict[str, object] = filters) -> list[object]:
                monkeypatch.setattr(catalogue, "DENSE", 0 if scan else 10_000)
                seen: list[object] = []
                offset: int | None = 0
                while offset is not None:
                    page = await catalogue.search(session, query, offset=offset, **filters)  # type: ignore[arg-type]
                    seen.append([(hit.product.id, hit.price) for hit in page.hits])
                    seen.append(page.next_offset)
                    offset = page.next_offset
                return seen

            indexed, scanned = await pages(scan=False), await pages(scan=True)
            assert indexed == scanned, query
            monkeypatch.setattr(catalogue, "DENSE", 10_000)
            used += await catalogue._sqlite_matches(session, catalogue.fold(query).split()) is not None
        # Every query with a word of 3+ characters went through the index (not the two without one).
        assert used == len(QUERIES) - 1
        found = await catalogue.search(session, "ДРЕЛЬ шуруповёрт makita")
        assert found.hits and all("дрель-шуруповерт makita" in hit.product.search_text for hit in found.hits)
        more = await catalogue.search(session, "дрель")  # (the comparison above is not of empty pages)
        assert len(more.hits) == 50 and more.next_offset == 50
        assert [h.product.external_id for h in (await catalogue.search(session, "4600000000477")).hits] == ["p-477"]
        assert [h.product.external_id for h in (await catalogue.search(session, "ART-00123")).hits] == ["p-123"]


async def test_the_index_follows_every_write_and_is_used_only_for_words_of_three(
    sessionmaker: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    _sqlite(database_url)
    now = START
    async with sessionmaker() as session, session.begin():
        names = ["Дрель ударная", "Перфоратор", "Дрель-миксер"]
        for n, name in enumerate(names):
            session.add(
                CatalogProduct(
                    external_id=f"x-{n}",
                    name=name,
                    properties={},
                    images=[],
                    search_text=catalogue.search_text(name, None, None),
                    updated_at=now,
                )
            )
    async with sessionmaker() as session, session.begin():
        mixer = await catalogue.get_product_by_external_id(session, "x-2")
        assert mixer is not None
        mixer.search_text = catalogue.search_text("Миксер строительный", None, None)
        await session.execute(delete(CatalogProduct).where(CatalogProduct.external_id == "x-1"))
    async with sessionmaker() as session:
        await _index_agrees(session)
        ids = await session.execute(
            text(f"SELECT rowid FROM {catalogue.FTS} WHERE {catalogue.FTS} MATCH :q ORDER BY rowid"),
            {"q": catalogue._trigram_query(["миксер"])},
        )
        assert [row[0] for row in ids] == [mixer.id]
        assert [h.product.external_id for h in (await catalogue.search(session, "дрель")).hits] == ["x-0"]
        assert [h.product.external_id for h in (await catalogue.search(session, "перфоратор")).hits] == []
        assert await catalogue._sqlite_matches(session, ["др"]) is None  # a trigram index cannot serve 2 letters
        assert await catalogue._sqlite_matches(session, ["др", "ударная"]) is not None


async def test_the_revision_makes_the_index_on_sqlite_only(
    sessionmaker: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    async with sessionmaker() as session:
        if database_url.startswith("sqlite"):
            found = await session.execute(
                text("SELECT type, name FROM sqlite_master WHERE name LIKE 'catalog_products_fts%' ORDER BY name")
            )
            assert {tuple(row) for row in found} == {
                ("table", "catalog_products_fts"),
                *(("table", f"catalog_products_fts_{shadow}") for shadow in ("config", "data", "docsize", "idx")),
                *(("trigger", f"catalog_products_fts_{on}") for on in ("insert", "delete", "update")),
            }
        else:
            found = await session.execute(text("SELECT to_regclass('catalog_products_fts')"))
            assert found.scalar_one() is None
