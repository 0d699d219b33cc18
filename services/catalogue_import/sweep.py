"""The end of a full package, and the one way to delete products.

Every row an import writes carries the package's number (`import_run`, `offer_run`). A full package (no
СодержитТолькоИзменения) ends with `sweep` of the kinds it carried: what it did not mention is deactivated
(products, groups) or removed (prices, stock). A package of changes only never sweeps.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import CatalogGroup, CatalogPrice, CatalogProduct, CatalogStock
from services.catalogue_import.rows import table_of


async def sweep(session: AsyncSession, stamp: int, kinds: Iterable[str], now: datetime, counts: Counter[str]) -> None:
    """What a full package (number `stamp`) did not mention: products and groups deactivated (counted in `counts`
    as `deactivated` and `groups_deactivated`), offers' prices and stock removed. In the caller's transaction."""
    kinds = set(kinds)
    if "groups" in kinds:
        done = await session.execute(
            update(table_of(CatalogGroup))
            .where(CatalogGroup.import_run != stamp, CatalogGroup.active.is_(True))
            .values(active=False)
        )
        counts["groups_deactivated"] += done.rowcount or 0  # type: ignore[attr-defined]
    if "products" in kinds:
        done = await session.execute(
            update(table_of(CatalogProduct))
            .where(
                CatalogProduct.active.is_(True),
                or_(
                    and_(CatalogProduct.variant_of_id.is_(None), CatalogProduct.import_run != stamp),
                    CatalogProduct.variant_of_id.in_(
                        select(CatalogProduct.id).where(
                            CatalogProduct.variant_of_id.is_(None), CatalogProduct.import_run != stamp
                        )
                    ),
                ),
            )
            .values(active=False, updated_at=now)
        )
        counts["deactivated"] += done.rowcount or 0  # type: ignore[attr-defined]
    offers_gone = CatalogProduct.offer_run.is_not(None) & (CatalogProduct.offer_run != stamp)
    if "prices" in kinds:
        await session.execute(delete(table_of(CatalogPrice)).where(CatalogPrice.import_run != stamp))
    if "stock" in kinds:
        await session.execute(delete(table_of(CatalogStock)).where(CatalogStock.import_run != stamp))
        await session.execute(update(table_of(CatalogProduct)).where(offers_gone).values(quantity=0))
    if "offers" in kinds:
        # A variant is its offer: gone from a full package of offers, it is no longer sold.
        await session.execute(
            update(table_of(CatalogProduct))
            .where(offers_gone, CatalogProduct.variant_of_id.is_not(None))
            .values(active=False)
        )
        await session.execute(update(table_of(CatalogProduct)).where(offers_gone).values(offer_run=None))


async def delete_products(session: AsyncSession, product_ids: Sequence[int]) -> int:
    """Deletes products, their variants, and the prices and stock of all of them; the number of products deleted.

    This is the one way to delete a product. catalog_prices and catalog_stock have no foreign key to catalog_products
    (migration 0020_catalog_offer_fks: its check per row was most of the cost of the offers' import), so no ON DELETE
    CASCADE removes their rows: this does, in the caller's transaction. (The application deactivates products, it
    never deletes them; the import writes prices and stock only for product ids read or made in the same
    transaction.)"""
    deleted = 0
    for start in range(0, len(product_ids), 10_000):
        chunk = list(product_ids[start : start + 10_000])
        found = await session.execute(
            select(CatalogProduct.id).where(or_(CatalogProduct.id.in_(chunk), CatalogProduct.variant_of_id.in_(chunk)))
        )
        doomed = list(found.scalars())
        for at in range(0, len(doomed), 10_000):
            ids = doomed[at : at + 10_000]
            await session.execute(delete(table_of(CatalogPrice)).where(CatalogPrice.product_id.in_(ids)))
            await session.execute(delete(table_of(CatalogStock)).where(CatalogStock.product_id.in_(ids)))
            await session.execute(delete(table_of(CatalogProduct)).where(CatalogProduct.id.in_(ids)))
        deleted += len(doomed)
    return deleted
