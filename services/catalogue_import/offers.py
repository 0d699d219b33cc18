"""A batch of offers: their prices and stock as columns, built while the batch before is being written
(writer.py), then written as plain rows (rows.py `bulk_upsert_columns`) with each product's stock total.

An offer names its product by external id; the product's row id is found (or a variant made) only when the batch
is written (products.py `offer_products`), so a price or stock row stands for its product by its offer's place.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import bindparam, delete, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import CatalogProduct, CatalogStock, UTCDateTime
from services.catalogue_import.products import offer_products
from services.catalogue_import.records import Offer
from services.catalogue_import.rows import (
    PRICE_COLUMNS,
    STOCK_COLUMNS,
    bulk_upsert_columns,
    is_pg,
    sqlite_time,
    table_of,
)


@dataclass(slots=True)
class OfferRows:
    """A batch of offers, its prices and stock as columns: a price or stock row's `*_at` is its offer's place in
    `offers` (the product's id is found only when the batch is written)."""

    offers: list[Offer]
    price_at: list[int] = field(default_factory=list)
    price_type: list[int] = field(default_factory=list)
    price_value: list[Any] = field(default_factory=list)
    currency: list[str] = field(default_factory=list)
    stock_at: list[int] = field(default_factory=list)
    warehouse: list[int] = field(default_factory=list)
    quantity: list[Any] = field(default_factory=list)
    by_warehouse: list[int] = field(default_factory=list)  # the offers whose stock is given by warehouse
    total_at: list[int] = field(default_factory=list)  # the offers with a total (Количество, or their stock's sum)
    totals: list[Decimal] = field(default_factory=list)


def _pick(products: list[int | None], at: list[int]) -> tuple[list[int], list[int] | None]:
    """The product ids of rows given by their offer's place; and which rows to keep when an offer's product is
    unknown (None: all of them)."""
    ids = [products[n] for n in at]
    if None not in ids:
        return cast(list[int], ids), None
    keep = [n for n, pid in enumerate(ids) if pid is not None]
    return [pid for pid in ids if pid is not None], keep


def _keep(column: list[Any], keep: list[int] | None) -> list[Any]:
    return column if keep is None else [column[n] for n in keep]


def _same(value: Decimal) -> Decimal:
    return value


def offer_rows(
    offers: list[Offer], price_types: dict[str, int], warehouses: dict[str, int], pg: bool, counts: Counter[str]
) -> OfferRows:
    """The offers with their prices and stock as columns (by the ids of their price types and warehouses, in what
    the database at hand stores), the offer's place in `offers` standing for the product's id, which the write
    finds (`write_offers`)."""
    held: dict[str, Offer] = {}
    for offer in offers:
        held[offer.external_id] = offer  # an offer twice in a batch is written once, the last
    number: Callable[[Decimal], Any] = _same if pg else float  # SQLite stores NUMERIC as REAL
    rows = OfferRows(list(held.values()))
    price_at, price_type, price_value = rows.price_at, rows.price_type, rows.price_value
    price_currency = rows.currency
    stock_at, stock_warehouse, stock_quantity = rows.stock_at, rows.warehouse, rows.quantity
    unknown_price_types = unknown_warehouses = 0
    for at, offer in enumerate(rows.offers):
        if offer.prices:
            found = []
            for price in offer.prices:
                price_type_id = price_types.get(price.price_type)
                if price_type_id is None:
                    unknown_price_types += 1
                else:
                    found.append((price_type_id, number(price.value), (price.currency or "RUB")[:8]))
            if len(found) > 1 and len({kind for kind, _, _ in found}) < len(found):
                found = list({kind: (kind, value, currency) for kind, value, currency in found}.values())
            for price_type_id, value, currency in found:
                price_at.append(at)
                price_type.append(price_type_id)
                price_value.append(value)
                price_currency.append(currency)
        total = offer.quantity
        if offer.stock is not None:
            rows.by_warehouse.append(at)
            summed = Decimal(0)
            stored: dict[int, Any] = {}  # a warehouse given twice: the last
            for warehouse, quantity in offer.stock:
                warehouse_id = warehouses.get(warehouse)
                if warehouse_id is None:
                    unknown_warehouses += 1
                    continue
                summed += quantity
                stored[warehouse_id] = number(quantity)
            for warehouse_id, quantity in stored.items():
                stock_at.append(at)
                stock_warehouse.append(warehouse_id)
                stock_quantity.append(quantity)
            total = summed if total is None else total
        if total is not None:
            rows.total_at.append(at)
            rows.totals.append(total)
    if unknown_price_types:
        counts["unknown_price_types"] += unknown_price_types
    if unknown_warehouses:
        counts["unknown_warehouses"] += unknown_warehouses
    return rows


async def write_offers(
    session: AsyncSession, rows: OfferRows, stamp: int, now: Callable[[], datetime], counts: Counter[str]
) -> None:
    """The batch's prices and stock (an offer's stock by warehouse is the whole of it), its products' totals and
    the mark that this package offered them; an offer of no product known or made is counted `unknown`."""
    if not rows.offers:
        return
    ids = await offer_products(session, rows.offers, stamp, now, counts)
    products: list[int | None] = [ids.get(offer.external_id) for offer in rows.offers]
    unknown = products.count(None)
    if unknown:
        counts["unknown"] += unknown
    price_ids, price_keep = _pick(products, rows.price_at)
    stock_ids, stock_keep = _pick(products, rows.stock_at)
    prices = [price_ids, *(_keep(c, price_keep) for c in (rows.price_type, rows.price_value, rows.currency))]
    stock = [stock_ids, *(_keep(c, stock_keep) for c in (rows.warehouse, rows.quantity))]
    await bulk_upsert_columns(
        session,
        "catalog_prices",
        PRICE_COLUMNS,
        [*prices, [stamp] * len(price_ids)],
        ["product_id", "price_type_id"],
        ["value", "currency", "import_run"],
    )
    await bulk_upsert_columns(
        session,
        "catalog_stock",
        STOCK_COLUMNS,
        [*stock, [stamp] * len(stock_ids)],
        ["product_id", "warehouse_id"],
        ["quantity", "import_run"],
    )
    by_warehouse = [pid for pid in (products[at] for at in rows.by_warehouse) if pid is not None]
    if by_warehouse:
        # An offer's stock by warehouse is the whole of it: a warehouse it no longer lists holds none. Removed after
        # the upsert (which stamps what it lists), so a repeated package updates its rows rather than deleting
        # and inserting them again (an insert's foreign-key checks cost more than the row itself).
        if is_pg(session):
            await session.execute(
                text(
                    "DELETE FROM catalog_stock WHERE product_id = ANY(CAST(:ids AS integer[])) AND import_run != :s"
                ),
                {"ids": by_warehouse, "s": stamp},
            )
        else:
            await session.execute(
                delete(table_of(CatalogStock)).where(
                    CatalogStock.product_id.in_(by_warehouse), CatalogStock.import_run != stamp
                )
            )
    total_ids, total_keep = _pick(products, rows.total_at)
    await _totals(session, list(zip(total_ids, _keep(rows.totals, total_keep), strict=True)), stamp, now())
    counted = set(total_ids)
    rest = [pid for pid in products if pid is not None and pid not in counted]
    for start in range(0, len(rest), 10_000):
        await session.execute(
            update(table_of(CatalogProduct))
            .where(CatalogProduct.id.in_(rest[start : start + 10_000]))
            .values(offer_run=stamp)
        )
    counts["offers"] += len(products) - unknown
    counts["prices"] += len(price_ids)  # (a price type twice in one offer counts once)
    counts["stock"] += len(stock_ids)


async def _totals(session: AsyncSession, quantities: list[tuple[int, Decimal]], stamp: int, now: datetime) -> None:
    """Each product's total stock, and the mark that this package offered it."""
    if not quantities:
        return
    if session.get_bind().dialect.name == "postgresql":
        # One statement for the batch: the ids and totals as two arrays (an executemany is a round trip a row).
        await session.execute(
            text(
                "UPDATE catalog_products AS p SET quantity = d.q, offer_run = :stamp, updated_at = :now "
                "FROM unnest(CAST(:ids AS integer[]), CAST(:qs AS numeric[])) AS d(id, q) WHERE p.id = d.id"
            ).bindparams(bindparam("now", type_=UTCDateTime())),
            {"stamp": stamp, "now": now, "ids": [p for p, _ in quantities], "qs": [q for _, q in quantities]},
        )
        return
    # SQLite runs an executemany in process, row after row without a round trip.
    connection = await session.connection()
    when = sqlite_time(now)
    await connection.exec_driver_sql(
        "UPDATE catalog_products SET quantity = ?, offer_run = ?, updated_at = ? WHERE id = ?",
        [(float(q), stamp, when, pid) for pid, q in quantities],
    )
