"""A batch of products: CommerceML's products as rows of catalog_products, and the product row of each offer (a
variant seen for the first time made from its product).

The rows are built in Python while the batch before is being written (writer.py); `write_products` sends them as
plain rows (rows.py `bulk_upsert`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Text, any_, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import CatalogProduct
from services.catalogue import search_text
from services.catalogue_import.records import Offer, Product
from services.catalogue_import.rows import PRODUCT_COLUMNS, bulk_upsert, is_pg, pg_json, sqlite_time, table_of

# Rows prepared while the batch before is written: products as catalog_products rows (PRODUCT_COLUMNS).
ProductRows = list[tuple[Any, ...]]


def product_rows(
    products: list[Product],
    groups: dict[str, int],
    info: dict[str, tuple[str, dict[str, str]]],
    stamp: int,
    now: datetime,
    pg: bool,
    counts: Counter[str],
) -> ProductRows:
    """The products as rows of catalog_products (PRODUCT_COLUMNS), ready for the database at hand (`pg`): their
    groups by `groups` (external id -> row id), their properties named and their choices in words by `info`."""
    when: datetime | str = now if pg else sqlite_time(now)
    zero: Decimal | float = Decimal(0) if pg else 0.0
    encode = pg_json if pg else json.dumps
    rows: dict[str, tuple[Any, ...]] = {}  # by external id: a product twice in a batch is written once, the last
    for p in products:
        if p.properties or p.requisites:
            properties: dict[str, Any] = {}
            for prop, value in p.properties:
                name, choices = info.get(prop, (prop, {}))
                properties[name] = choices.get(value, value)
            for name, value in p.requisites:
                properties.setdefault(name, value)
            encoded = encode(properties)
        else:
            encoded = "{}"
        article, barcode = p.article, p.barcode
        rows[p.external_id] = (
            p.external_id,
            groups.get(p.group) if p.group else None,
            p.name[:500],
            article[:100] if article else None,
            barcode[:64] if barcode else None,
            p.unit[:32] if p.unit else None,
            p.description or None,
            encoded,
            encode(p.images) if p.images else "[]",
            not p.deleted,
            search_text(p.name, article, barcode),
            stamp,
            when,
            zero,
            p.unit_code,
        )
    written = list(rows.values())
    counts["deleted"] += sum(1 for row in written if not row[9])
    return written


async def write_products(session: AsyncSession, rows: ProductRows, counts: Counter[str]) -> None:
    await bulk_upsert(
        session,
        "catalog_products",
        PRODUCT_COLUMNS,
        rows,
        ["external_id"],
        [name for name, _ in PRODUCT_COLUMNS if name not in ("external_id", "quantity")],
    )
    counts["products"] += len(rows)


async def offer_products(
    session: AsyncSession, offers: Iterable[Offer], stamp: int, now: Callable[[], datetime], counts: Counter[str]
) -> dict[str, int]:
    """The product row of each offer; a variant (`product#characteristic`) seen for the first time is made from
    its product, and an offer of an unknown product that has a name becomes a product of its own."""
    wanted = {o.external_id: o for o in offers}
    keys = list(set(wanted) | {ext.split("#", 1)[0] for ext in wanted if "#" in ext})
    # Only the few columns needed to match and rename: a batch of offers loads no whole rows.
    found: dict[str, tuple[int, str, str | None, str | None]] = {}
    columns = (
        CatalogProduct.external_id,
        CatalogProduct.id,
        CatalogProduct.name,
        CatalogProduct.article,
        CatalogProduct.barcode,
    )
    # Core statements on the connection: an ORM select would run its loading machinery for every row.
    connection = await session.connection()
    if is_pg(session):  # one array parameter rather than a thousand bound values to compile and send
        rows = await connection.execute(
            select(*columns).where(
                CatalogProduct.external_id == any_(bindparam("keys", keys, type_=postgresql.ARRAY(Text)))
            )
        )
        found.update({ext: (pid, name, article, barcode) for ext, pid, name, article, barcode in rows.all()})
    else:
        for start in range(0, len(keys), 10_000):
            rows = await connection.execute(
                select(*columns).where(CatalogProduct.external_id.in_(keys[start : start + 10_000]))
            )
            found.update({ext: (pid, name, article, barcode) for ext, pid, name, article, barcode in rows.all()})
    ids = {ext: found[ext][0] for ext in wanted if ext in found}
    needed = {ext.split("#", 1)[0] for ext in wanted if ext not in found and "#" in ext} & set(found)
    bases: dict[str, CatalogProduct] = {}
    if needed:  # the products of variants seen for the first time
        loaded = await session.execute(select(CatalogProduct).where(CatalogProduct.external_id.in_(needed)))
        bases = {p.external_id: p for p in loaded.scalars()}
    when = now()
    new_rows: list[dict[str, Any]] = []
    renamed: list[dict[str, Any]] = []
    for ext, offer in wanted.items():
        if ext in found:
            pid, name, article, barcode = found[ext]
            if "#" in ext and offer.name and name != offer.name:  # a variant renamed in 1C
                renamed.append(
                    {"pid": pid, "name": offer.name[:500], "text": search_text(offer.name, article, barcode)}
                )
            continue
        base = bases.get(ext.split("#", 1)[0]) if "#" in ext else None
        if base is not None:
            name = offer.name or base.name
            properties = dict(base.properties or {})
            properties.update(dict(offer.characteristics))
            new_rows.append(
                {
                    "external_id": ext,
                    "variant_of_id": base.id,
                    "group_id": base.group_id,
                    "name": name[:500],
                    "article": base.article,
                    "barcode": base.barcode,
                    "unit": base.unit,
                    "unit_code": base.unit_code,
                    "description": base.description,
                    "properties": properties,
                    "images": list(base.images or []),
                    "active": base.active,
                    "search_text": search_text(name, base.article, base.barcode),
                    "import_run": stamp,
                    "updated_at": when,
                    "quantity": Decimal(0),
                }
            )
        elif offer.name:
            new_rows.append(
                {
                    "external_id": ext,
                    "variant_of_id": None,
                    "group_id": None,
                    "name": offer.name[:500],
                    "article": None,
                    "barcode": None,
                    "unit": None,
                    "unit_code": None,
                    "description": None,
                    "properties": dict(offer.characteristics),
                    "images": [],
                    "active": True,
                    "search_text": search_text(offer.name, None, None),
                    "import_run": stamp,
                    "updated_at": when,
                    "quantity": Decimal(0),
                }
            )
    if new_rows:
        table = table_of(CatalogProduct)
        inserted = await session.execute(insert(table).returning(table.c.external_id, table.c.id), new_rows)
        ids.update({ext: pid for ext, pid in inserted.all()})
    counts["variants"] += sum(1 for row in new_rows if row["variant_of_id"] is not None)
    if renamed:
        await session.execute(
            update(table_of(CatalogProduct))
            .where(CatalogProduct.id == bindparam("pid"))
            .values(name=bindparam("name"), search_text=bindparam("text")),
            renamed,
        )
    return ids
