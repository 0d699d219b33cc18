"""The catalogue's integrity without the foreign keys from prices and stock to products (migration
0020_catalog_offer_fks): deleting a product through `delete_products` removes its prices, its stock and its
variants with theirs, and nothing of other products; the migrated schema is the models' (db/models/); the import's
modules load without the bot (aiogram), so the importing process stays small."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import schema_compare
from db.engine import make_engine, migrate
from db.models import Base, CatalogPrice, CatalogProduct, CatalogStock
from flows.clock import FrozenClock
from integrations.onec.importer import import_files
from services.catalogue_import import delete_products
from tests import commerceml as cml
from tests.conftest import START

ROOT = Path(__file__).resolve().parent.parent




async def _rows(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, dict[str, int]]:
    """Per product's external id: its prices and stock rows; and under "" the rows pointing at no product."""
    async with sessionmaker() as session:
        ids = {
            pid: ext
            for pid, ext in (await session.execute(select(CatalogProduct.id, CatalogProduct.external_id))).all()
        }
        found: dict[str, dict[str, int]] = {}
        for kind, model in (("prices", CatalogPrice), ("stock", CatalogStock)):
            counted = await session.execute(select(model.product_id, func.count()).group_by(model.product_id))
            for product_id, count in counted.all():
                found.setdefault(ids.get(product_id, ""), {"prices": 0, "stock": 0})[kind] += count
        return found


async def test_deleting_a_product_deletes_its_prices_stock_and_variants(
    sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    await import_files(
        sessionmaker,
        FrozenClock(START),
        [
            cml.write(tmp_path, "import.xml", cml.import_xml("2.08")),
            cml.write(tmp_path, "offers.xml", cml.offers_xml("2.08", stock="attributes")),
        ],
    )
    before = await _rows(sessionmaker)
    variant = cml.VARIANT[0]
    assert {"prod-1", variant, "prod-2"} <= set(before) and "" not in before
    assert before["prod-1"]["prices"] and before["prod-1"]["stock"] and before[variant]["prices"]
    async with sessionmaker() as session, session.begin():
        prod_1 = (await session.execute(select(CatalogProduct.id).where(CatalogProduct.external_id == "prod-1"))).one()
        assert await delete_products(session, [prod_1.id]) == 2  # the product and its variant
    after = await _rows(sessionmaker)
    assert after == {k: v for k, v in before.items() if k not in ("prod-1", variant)}  # no row left without a product
    async with sessionmaker() as session:
        left = set((await session.execute(select(CatalogProduct.external_id))).scalars())
    assert "prod-1" not in left and variant not in left and "prod-2" in left


def _diffs(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts=schema_compare.options(connection.dialect.name))
    return list(compare_metadata(context, Base.metadata))


async def test_the_migrated_schema_is_the_models(empty_database_url: str) -> None:
    """Alembic's comparison of the head revision with db/models/ finds nothing, on either database (leaving out,
    as autogenerate does, SQLite's own FTS5 tables and the indexes the models make on PostgreSQL only)."""
    engine = make_engine(empty_database_url)
    try:
        await migrate(engine)
        async with engine.connect() as connection:
            diffs = await connection.run_sync(_diffs)
    finally:
        await engine.dispose()
    assert diffs == []


def test_the_import_loads_without_the_bot() -> None:
    """aiogram is ~150 MB of a process: the import (`konveyer catalog import`, the bench's child)
    must not load them (services.companies took services.core, and its i18n aiogram, for a type annotation)."""
    code = (
        "import sys\n"
        "import integrations.onec.importer, services.catalogue, db.engine\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'aiogram'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
