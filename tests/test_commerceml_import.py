"""The maker's 1C sends its catalogue as CommerceML 2 files; every variant real installations write lands as the
same catalogue (tests/commerceml.py writes the files from the standard)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from db.models import (
    CatalogGroup,
    CatalogImport,
    CatalogPrice,
    CatalogPriceType,
    CatalogProduct,
    CatalogStock,
    CatalogWarehouse,
)
from flows.clock import FrozenClock
from integrations.onec.commerceml import NotCommerceML
from integrations.onec.importer import import_files
from services import catalogue
from services.catalogue_import import BATCH
from tests import commerceml as cml
from tests.conftest import START

VERSIONS = ["2.03", "2.04", "2.05", "2.06", "2.07", "2.08", "2.09", "2.10"]
# How each version's 1C gives stock: one total before 2.07, by warehouse after.
STOCK_FORM = {
    "2.03": "total",
    "2.04": "total",
    "2.05": "total",
    "2.06": "total",
    "2.07": "attributes",
    "2.08": "attributes",
    "2.09": "rests",
    "2.10": "rests",
}
BY_WAREHOUSE = {
    "groups": 5, "products": 6, "offers": 6, "price_types": 2, "prices": 12, "warehouses": 2, "stock": 12,
    "organisations": 0,
}  # fmt: skip
TOTAL_ONLY = {**BY_WAREHOUSE, "warehouses": 0, "stock": 0}




async def _stats(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessionmaker() as session:
        return await catalogue.stats(session)


async def _product(sessionmaker: async_sessionmaker[AsyncSession], external_id: str) -> CatalogProduct:
    async with sessionmaker() as session:
        product = await catalogue.get_product_by_external_id(session, external_id)
        assert product is not None
        return product


async def _prices(sessionmaker: async_sessionmaker[AsyncSession], external_id: str) -> dict[str, Decimal]:
    async with sessionmaker() as session:
        product = await catalogue.get_product_by_external_id(session, external_id)
        assert product is not None
        found = {}
        for kind in await catalogue.price_types(session):
            value = await catalogue.price(session, product.id, kind.id)
            if value is not None:
                found[kind.name] = value
        return found


async def _stock(sessionmaker: async_sessionmaker[AsyncSession], external_id: str) -> dict[str, Decimal]:
    async with sessionmaker() as session:
        product = await catalogue.get_product_by_external_id(session, external_id)
        assert product is not None
        return {line.warehouse: line.quantity for line in await catalogue.stock(session, product.id)}


async def _load(sessionmaker: async_sessionmaker[AsyncSession], *paths: Path) -> dict[str, int]:
    result = await import_files(sessionmaker, FrozenClock(START), list(paths))
    return result.counts


async def test_every_version_from_2_03_to_2_10_lands_as_the_same_catalogue(
    sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    for version in VERSIONS:
        await cml.wipe_catalogue(sessionmaker)
        form = STOCK_FORM[version]
        folder = tmp_path / version
        folder.mkdir()
        goods = cml.write(folder, "import.xml", cml.import_xml(version))
        offers = cml.write(folder, "offers.xml", cml.offers_xml(version, stock=form))
        await _load(sessionmaker, goods, offers)

        assert await _stats(sessionmaker) == (TOTAL_ONLY if form == "total" else BY_WAREHOUSE), version
        drill = await _product(sessionmaker, "prod-1")
        assert (drill.name, drill.article, drill.barcode, drill.unit) == (
            "Дрель ударная DX-500",
            "DX-500",
            "4601234567001",
            "шт",
        ), version
        assert drill.properties["Марка"] == "Bosch" and drill.properties["Мощность, Вт"] == "500", version
        assert drill.images == ["import_files/10/prod-1.jpg"], version
        assert drill.quantity == 15, version
        brush = await _product(sessionmaker, "prod-4")
        assert (brush.unit, brush.quantity) == ("компл", 350), version
        assert await _prices(sessionmaker, "prod-2") == {"Оптовая": Decimal("7200.50"), "Розничная": Decimal("8990.00")}
        variant = await _product(sessionmaker, "prod-1#char-case")
        assert variant.variant_of_id == drill.id and variant.name == "Дрель ударная DX-500 (в кейсе)", version
        assert variant.properties["Комплектация"] == "в кейсе" and variant.quantity == 2, version
        if form != "total":
            assert await _stock(sessionmaker, "prod-1") == {"Склад Москва": 12, "Склад Санкт-Петербург": 3}, version
        cordless = await _product(sessionmaker, "prod-2")
        async with sessionmaker() as session:
            assert cordless.group_id is not None
            path = [g.name for g in await catalogue.group_path(session, cordless.group_id)]
        assert path == ["Электроинструмент", "Дрели", "Аккумуляторные дрели"], version


@pytest.mark.parametrize(
    ("encoding", "bom", "namespace"),
    [
        ("utf-8", False, True),
        ("utf-8", False, False),
        ("utf-8", True, False),
        ("utf-8", True, True),
        ("windows-1251", False, True),
        ("windows-1251", False, False),
    ],
)
async def test_encodings_and_the_namespace_do_not_change_what_is_read(
    sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path, encoding: str, bom: bool, namespace: bool
) -> None:
    goods = cml.write(tmp_path, "import.xml", cml.import_xml("2.08", namespace=namespace), encoding=encoding, bom=bom)
    offers = cml.write(
        tmp_path,
        "offers.xml",
        cml.offers_xml("2.08", namespace=namespace, stock="attributes"),
        encoding=encoding,
        bom=bom,
    )
    await _load(sessionmaker, goods, offers)
    assert await _stats(sessionmaker) == BY_WAREHOUSE
    assert (await _product(sessionmaker, "prod-4")).name == "Щётка угольная 6x10"
    async with sessionmaker() as session:
        assert [g.name for g in await catalogue.groups(session)] == ["Электроинструмент", "Запчасти и оснастка"]


async def test_the_split_files_of_newer_1c_make_one_package(
    sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    first, second = (
        cml.Catalogue(products=("prod-1", "prod-2", "prod-3")),
        cml.Catalogue(products=("prod-4", "prod-5"), groups=False),
    )
    files = [
        cml.write(tmp_path, "import___0a1b.xml", cml.import_xml("2.10", catalogue=first)),
        cml.write(tmp_path, "import___0a1c.xml", cml.import_xml("2.10", catalogue=second)),
        cml.write(tmp_path, "offers___0a1d.xml", cml.offers_xml("2.10", stock="none", prices=False)),
        cml.write(tmp_path, "prices___0a1e.xml", cml.offers_xml("2.10", stock="none", names=False)),
        cml.write(tmp_path, "rests___0a1f.xml", cml.offers_xml("2.10", stock="rests", names=False, prices=False)),
    ]
    counts = await _load(sessionmaker, *files)
    assert (counts["products"], counts["offers"], counts["prices"], counts["stock"]) == (5, 18, 12, 12)
    assert await _stats(sessionmaker) == BY_WAREHOUSE
    assert (await _product(sessionmaker, "prod-5")).quantity == 0
    assert await _stock(sessionmaker, "prod-4") == {"Склад Москва": 200, "Склад Санкт-Петербург": 150}


async def test_a_package_of_changes_never_deactivates_and_a_full_one_does(
    sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    await _load(
        sessionmaker,
        cml.write(tmp_path, "import.xml", cml.import_xml("2.07")),
        cml.write(tmp_path, "offers.xml", cml.offers_xml("2.07", stock="attributes")),
    )
    # Changes only: one product and one offer; everything else stays as it was.
    changes = tmp_path / "changes"
    changes.mkdir()
    only = cml.Catalogue(products=("prod-3",), offers=("prod-3",), groups=False)
    await _load(
        sessionmaker,
        cml.write(changes, "import.xml", cml.import_xml("2.07", only_changes=True, catalogue=only)),
        cml.write(changes, "offers.xml", cml.offers_xml("2.07", only_changes=True, stock="attributes", catalogue=only)),
    )
    assert await _stats(sessionmaker) == BY_WAREHOUSE
    # 2.04 says it with an element, not an attribute: the same.
    older = tmp_path / "older"
    older.mkdir()
    await _load(sessionmaker, cml.write(older, "import.xml", cml.import_xml("2.04", only_changes=True, catalogue=only)))
    assert await _stats(sessionmaker) == BY_WAREHOUSE

    # A full package without prod-5 (and so without its offer): it is no longer sold, its prices and stock go.
    full = tmp_path / "full"
    full.mkdir()
    without = cml.Catalogue(
        products=("prod-1", "prod-2", "prod-3", "prod-4"),
        offers=("prod-1", "prod-2", "prod-3", "prod-4", cml.VARIANT[0]),
    )
    await _load(
        sessionmaker,
        cml.write(full, "import.xml", cml.import_xml("2.07", catalogue=without, deleted=("prod-4",))),
        cml.write(full, "offers.xml", cml.offers_xml("2.07", stock="attributes", catalogue=without)),
    )
    # prod-4 is marked deleted in 1C, prod-5 is missing: four products left (three and the variant).
    assert await _stats(sessionmaker) == {**BY_WAREHOUSE, "products": 4, "offers": 4, "prices": 10, "stock": 10}
    gone = await _product(sessionmaker, "prod-5")
    assert (gone.active, gone.quantity, gone.offer_run) == (False, 0, None)
    async with sessionmaker() as session:
        assert [h.product.external_id for h in (await catalogue.search(session, "диск пильный")).hits] == []


async def test_an_offer_s_stock_by_warehouse_is_the_whole_of_it(
    sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    """A changed offer listing one warehouse of two: the other holds none of it (its row goes), the one listed is
    restamped with its new quantity, other offers' stock is untouched (the writer upserts first, then removes)."""
    await _load(
        sessionmaker,
        cml.write(tmp_path, "import.xml", cml.import_xml("2.07")),
        cml.write(tmp_path, "offers.xml", cml.offers_xml("2.07", stock="attributes")),
    )
    async with sessionmaker() as session:
        before = {(r.product_id, r.warehouse_id): r.import_run for r in (await session.scalars(select(CatalogStock)))}
    changes = tmp_path / "changes"
    changes.mkdir()
    only = cml.Catalogue(products=("prod-1",), offers=("prod-1",), groups=False)
    text = cml.offers_xml("2.07", only_changes=True, stock="attributes", catalogue=only)
    msk, spb = '<Склад ИдСклада="w-msk" КоличествоНаСкладе=', '<Склад ИдСклада="w-spb" КоличествоНаСкладе='
    text = text.replace(f'{msk}"12"/>', f'{msk}"7"/>')
    text = text.replace(f'{spb}"3"/>', "").replace(">15<", ">7<")
    await _load(sessionmaker, cml.write(changes, "offers.xml", text))

    assert await _stock(sessionmaker, "prod-1") == {"Склад Москва": Decimal(7)}
    assert await _stock(sessionmaker, "prod-2") == {"Склад Санкт-Петербург": Decimal(5)}
    assert (await _product(sessionmaker, "prod-1")).quantity == Decimal(7)
    assert await _stats(sessionmaker) == {**BY_WAREHOUSE, "stock": BY_WAREHOUSE["stock"] - 1}
    async with sessionmaker() as session:
        after = {(r.product_id, r.warehouse_id): r.import_run for r in (await session.scalars(select(CatalogStock)))}
    prod_1 = (await _product(sessionmaker, "prod-1")).id
    changed = {key for key in after if before[key] != after[key]}
    assert len(changed) == 1 and next(iter(changed))[0] == prod_1  # only the row listed again is restamped
    assert set(before) - set(after) == {key for key in before if key[0] == prod_1} - changed


async def test_the_catalogue_is_searched_by_name_article_and_barcode_with_filters(
    sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    await _load(
        sessionmaker,
        cml.write(tmp_path, "import.xml", cml.import_xml("2.08")),
        cml.write(tmp_path, "offers.xml", cml.offers_xml("2.08", stock="attributes")),
    )
    drills = await _product(sessionmaker, "prod-1")
    async with sessionmaker() as session:
        wholesale = await catalogue.find_price_type(session, "Оптовая")
        assert wholesale is not None and await catalogue.find_price_type(session, "pt-wholesale") == wholesale

        async def found(text: str = "", **filters: object) -> list[str]:
            page = await catalogue.search(session, text, **filters)  # type: ignore[arg-type]
            return [hit.product.external_id for hit in page.hits]

        assert await found("ДРЕЛЬ") == ["prod-2", "prod-1", "prod-1#char-case"]
        assert await found("cd-18") == ["prod-2"]
        assert await found("4601234567003") == ["prod-3"]
        assert await found("щетка") == ["prod-4"]  # ё is read as е
        assert await found(group_id=drills.group_id) == ["prod-2", "prod-1", "prod-1#char-case"]
        assert await found(in_stock=True) == ["prod-2", "prod-1", "prod-1#char-case", "prod-3", "prod-4"]
        cheap = await catalogue.search(session, price_type_id=wholesale.id, price_max=Decimal(500))
        assert [(h.product.external_id, h.price) for h in cheap.hits] == [
            ("prod-5", Decimal("390.00")),
            ("prod-4", Decimal("150.00")),
        ]
        first = await catalogue.search(session, limit=4)
        rest = await catalogue.search(session, offset=first.next_offset or 0, limit=4)
        assert (first.next_offset, rest.next_offset, len(rest.hits)) == (4, None, 2)


async def test_a_file_with_a_document_type_or_not_commerceml_is_refused(
    sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    bomb = tmp_path / "import.xml"
    bomb.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>\n'
        "<КоммерческаяИнформация><Каталог><Товары><Товар><Ид>x</Ид><Наименование>&lol2;</Наименование></Товар>"
        "</Товары></Каталог></КоммерческаяИнформация>",
        encoding="utf-8",
    )
    with pytest.raises(ValueError):
        await _load(sessionmaker, bomb)
    other = tmp_path / "offers.xml"
    other.write_text('<?xml version="1.0"?><html><body>not 1C</body></html>', encoding="utf-8")
    with pytest.raises(NotCommerceML):
        await _load(sessionmaker, other)
    async with sessionmaker() as session:
        statuses = (await session.execute(select(CatalogImport.status).order_by(CatalogImport.id))).scalars().all()
    assert statuses == ["failed", "failed"]
    assert (await _stats(sessionmaker))["products"] == 0


async def _snapshot(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, list[tuple[object, ...]]]:
    """The whole catalogue by 1C's ids (none of our row ids): products with their group and base product, prices,
    stock."""
    group, base = aliased(CatalogGroup), aliased(CatalogProduct)
    async with sessionmaker() as session:
        products = await session.execute(
            select(
                CatalogProduct.external_id, CatalogProduct.name, CatalogProduct.article, CatalogProduct.barcode,
                CatalogProduct.unit, CatalogProduct.description, CatalogProduct.properties, CatalogProduct.images,
                CatalogProduct.quantity, CatalogProduct.active, CatalogProduct.search_text, group.external_id,
                base.external_id,
            )
            .outerjoin(group, group.id == CatalogProduct.group_id)
            .outerjoin(base, base.id == CatalogProduct.variant_of_id)
            .order_by(CatalogProduct.external_id)
        )  # fmt: skip
        prices = await session.execute(
            select(CatalogProduct.external_id, CatalogPriceType.external_id, CatalogPrice.value, CatalogPrice.currency)
            .join(CatalogProduct, CatalogProduct.id == CatalogPrice.product_id)
            .join(CatalogPriceType, CatalogPriceType.id == CatalogPrice.price_type_id)
            .order_by(CatalogProduct.external_id, CatalogPriceType.external_id)
        )
        stock = await session.execute(
            select(CatalogProduct.external_id, CatalogWarehouse.external_id, CatalogStock.quantity)
            .join(CatalogProduct, CatalogProduct.id == CatalogStock.product_id)
            .join(CatalogWarehouse, CatalogWarehouse.id == CatalogStock.warehouse_id)
            .order_by(CatalogProduct.external_id, CatalogWarehouse.external_id)
        )
        return {
            "products": [tuple(row) for row in products.all()],
            "prices": [tuple(row) for row in prices.all()],
            "stock": [tuple(row) for row in stock.all()],
        }


@pytest.mark.parametrize(("version", "form"), [("2.08", "attributes"), ("2.10", "rests"), ("2.05", "total")])
async def test_batches_written_while_the_next_are_read_make_the_same_catalogue(
    sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path, version: str, form: str
) -> None:
    """Batches of one and of two products or offers: each is prepared while the one before is still being written,
    in the background. The catalogue and the counts are those of the whole file in one batch."""
    goods = cml.write(tmp_path, "import.xml", cml.import_xml(version))
    offers = cml.write(tmp_path, "offers.xml", cml.offers_xml(version, stock=form))
    seen = []
    for batch in (BATCH, 2, 1):
        await cml.wipe_catalogue(sessionmaker)
        result = await import_files(sessionmaker, FrozenClock(START), [goods, offers], batch=batch)
        seen.append((result.counts, await _snapshot(sessionmaker)))
    assert seen[0][1]["products"] and seen[0][1]["prices"]
    assert seen[1] == seen[0] and seen[2] == seen[0]
