"""`CatalogueWriter`: what a CommerceML package says, written into the catalogue (`catalog_*` tables) in batches.

The parser (integrations/onec/commerceml.py) turns a file into records (records.py); the writer keeps a few
thousand of them at a time and writes each batch in a transaction of its own: the few groups, properties, price
types and warehouses with INSERT … ON CONFLICT DO UPDATE, the products, prices and stock as plain rows
(rows.py `bulk_upsert`), the products' stock totals with one UPDATE. Memory stays flat however large the file,
and readers are never held up for the whole import. Every row written is stamped with the package's number
(`import_run`/`offer_run`, a catalog_imports id), which the sweep at the end of a full package reads (sweep.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Text, any_, bindparam, delete, insert, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import (
    CatalogGroup,
    CatalogImport,
    CatalogPriceType,
    CatalogProduct,
    CatalogProperty,
    CatalogStock,
    CatalogWarehouse,
    UTCDateTime,
)
from services import companies
from services.catalogue import search_text
from services.catalogue_import import sweep as sweeping
from services.catalogue_import.records import (
    Group,
    Offer,
    Organisation,
    PriceType,
    Product,
    Property,
    Record,
    Warehouse,
)
from services.catalogue_import.rows import (
    PRICE_COLUMNS,
    PRODUCT_COLUMNS,
    STOCK_COLUMNS,
    bulk_upsert,
    bulk_upsert_columns,
    is_pg,
    pg_json,
    sqlite_time,
    table_of,
    upsert,
)

BATCH = 5000  # products or offers per transaction (on a busy machine every round trip waits its turn)


# Rows prepared while the batch before is written: products as catalog_products rows; offers as `OfferRows`.
ProductRows = list[tuple[Any, ...]]


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


@dataclass
class CatalogueWriter:
    """One package's writes. `stamp` is the package's number; `now` the clock."""

    sessionmaker: async_sessionmaker[AsyncSession]
    now: Callable[[], datetime]
    stamp: int
    batch: int = BATCH
    counts: Counter[str] = field(default_factory=Counter)
    _groups: list[Group] = field(default_factory=list)
    _properties: list[Property] = field(default_factory=list)
    _price_types: list[PriceType] = field(default_factory=list)
    _warehouses: list[Warehouse] = field(default_factory=list)
    _products: list[Product] = field(default_factory=list)
    _offers: list[Offer] = field(default_factory=list)
    _organisations: list[Organisation] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # a line per organisation left alone, with why
    # external id -> row id (groups, price types and warehouses are few); properties: id -> (name, choices)
    _group_ids: dict[str, int] | None = None
    _price_type_ids: dict[str, int] | None = None
    _warehouse_ids: dict[str, int] | None = None
    _property_info: dict[str, tuple[str, dict[str, str]]] | None = None
    _pg: bool | None = None  # PostgreSQL (or SQLite), once the first batch has been written
    _running: asyncio.Task[None] | None = None  # the batch being written while the next is read and prepared

    async def add(self, records: Iterable[Record]) -> None:
        for record in records:
            match record:
                case Offer():
                    self._offers.append(record)
                case Product():
                    self._products.append(record)
                case Group():
                    self._groups.append(record)
                case Property():
                    self._properties.append(record)
                case PriceType():
                    self._price_types.append(record)
                case Warehouse():
                    self._warehouses.append(record)
                case Organisation():
                    self._organisations.append(record)
            if max(len(self._products), len(self._offers), len(self._organisations)) >= self.batch:
                await self._flush(wait=False)

    async def flush(self) -> None:
        """Writes what is held, and waits until every batch is written (an exception of one is raised here)."""
        await self._flush(wait=True)

    async def abort(self) -> None:
        """Stops the batch being written, if any (its transaction rolls back); after a failure."""
        running, self._running = self._running, None
        if running is not None:
            running.cancel()
            with contextlib.suppress(BaseException):
                await running

    async def _settle(self) -> None:
        running, self._running = self._running, None
        if running is not None:
            await running

    async def _flush(self, wait: bool) -> None:
        """A batch of products and offers only is prepared (its rows built) while the batch before it is still
        being written, and then written in the background while the next one is read and prepared: the database
        and the importing process work at the same time. A batch with anything else (the classifier, price types,
        warehouses, organisations), or before the ids it needs are known, is written on its own."""
        classifier = self._groups or self._properties or self._price_types or self._warehouses or self._organisations
        known = self._pg is not None and (
            not self._products or (self._group_ids is not None and self._property_info is not None)
        ) and (not self._offers or (self._price_type_ids is not None and self._warehouse_ids is not None))
        if classifier or not known:
            await self._settle()
            if classifier or self._products or self._offers:
                await self._write_batch(None, None)
            return
        if self._products or self._offers:
            products = self._product_rows() if self._products else None
            offers = self._offer_rows() if self._offers else None
            await self._settle()
            self._running = asyncio.create_task(self._write_batch(products, offers, held=False))
        if wait:
            await self._settle()

    async def _write_batch(self, products: ProductRows | None, offers: OfferRows | None, held: bool = True) -> None:
        """One transaction: what is held (the classifier, products, offers, organisations), or (`held` False, in the
        background while more is read and held) only the rows prepared."""
        async with self.sessionmaker() as session, session.begin():
            self._pg = pg = is_pg(session)
            if pg:
                # A batch's commit does not wait for its WAL to reach the disk. A crash may lose the last batches
                # (never half of one), and then also the import's end, which is committed synchronously after
                # them (finish_import): the import shows as not done and is run again, as after any failure.
                await session.execute(text("SET LOCAL synchronous_commit TO OFF"))
            # In this order: products name groups, offers name products, price types and warehouses.
            if held:
                await self._write_groups(session)
                await self._write_properties(session)
                await self._write_price_types(session)
                await self._write_warehouses(session)
            if held and products is None and self._products:
                await self.group_ids(session)
                await self.property_info(session)
                products = self._product_rows()
            if products is not None:
                await self._write_products(session, products)
            if held and offers is None and self._offers:
                if self._price_type_ids is None:
                    self._price_type_ids = await self._ids(session, CatalogPriceType)
                if self._warehouse_ids is None:
                    self._warehouse_ids = await self._ids(session, CatalogWarehouse)
                offers = self._offer_rows()
            if offers is not None:
                await self._write_offers(session, offers)
            if held:
                await self._write_organisations(session)
            await session.execute(
                update(table_of(CatalogImport))
                .where(CatalogImport.id == self.stamp)
                .values(heartbeat_at=self.now(), counts=dict(self.counts))
            )

    # -- the classifier ---------------------------------------------------------------------------------------

    async def _write_groups(self, session: AsyncSession) -> None:
        if not self._groups:
            return
        groups, self._groups = self._groups, []
        rows = [
            {
                "external_id": g.external_id,
                "name": g.name[:300],
                "position": g.position,
                "active": True,
                "import_run": self.stamp,
            }
            for g in groups
        ]
        await upsert(session, CatalogGroup, rows, ["external_id"], ["name", "position", "active", "import_run"])
        ids = await self.group_ids(session, reload=True)
        # Parents are set once every group of the batch has its id (a child may come before its parent).
        parents = [(ids[g.external_id], ids.get(g.parent) if g.parent else None) for g in groups]
        await session.execute(
            update(table_of(CatalogGroup)).where(CatalogGroup.id == bindparam("gid")).values(parent_id=bindparam("up")),
            [{"gid": gid, "up": up} for gid, up in parents],
        )
        self.counts["groups"] += len(groups)

    async def _write_properties(self, session: AsyncSession) -> None:
        if not self._properties:
            return
        properties, self._properties = self._properties, []
        rows = [
            {
                "external_id": p.external_id,
                "name": p.name[:300],
                "kind": p.kind[:32],
                "choices": p.choices,
                "import_run": self.stamp,
            }
            for p in properties
        ]
        await upsert(session, CatalogProperty, rows, ["external_id"], ["name", "kind", "choices", "import_run"])
        info = await self.property_info(session)
        info.update({p.external_id: (p.name, p.choices) for p in properties})
        self.counts["properties"] += len(properties)

    async def _write_price_types(self, session: AsyncSession) -> None:
        if not self._price_types:
            return
        kinds, self._price_types = self._price_types, []
        rows = [
            {"external_id": t.external_id, "name": t.name[:200], "currency": t.currency[:8], "import_run": self.stamp}
            for t in kinds
        ]
        await upsert(session, CatalogPriceType, rows, ["external_id"], ["name", "currency", "import_run"])
        self._price_type_ids = None
        self.counts["price_types"] += len(kinds)

    async def _write_warehouses(self, session: AsyncSession) -> None:
        if not self._warehouses:
            return
        stores, self._warehouses = self._warehouses, []
        rows = [{"external_id": w.external_id, "name": w.name[:200], "import_run": self.stamp} for w in stores]
        await upsert(session, CatalogWarehouse, rows, ["external_id"], ["name", "import_run"])
        self._warehouse_ids = None
        self.counts["warehouses"] += len(stores)

    async def group_ids(self, session: AsyncSession, reload: bool = False) -> dict[str, int]:
        if self._group_ids is None or reload:
            rows = await session.execute(select(CatalogGroup.external_id, CatalogGroup.id))
            self._group_ids = {ext: gid for ext, gid in rows.all()}
        return self._group_ids

    async def property_info(self, session: AsyncSession) -> dict[str, tuple[str, dict[str, str]]]:
        if self._property_info is None:
            rows = await session.execute(
                select(CatalogProperty.external_id, CatalogProperty.name, CatalogProperty.choices)
            )
            self._property_info = {ext: (name, choices or {}) for ext, name, choices in rows.all()}
        return self._property_info

    async def _ids(self, session: AsyncSession, table: Any) -> dict[str, int]:
        return {ext: row_id for ext, row_id in (await session.execute(select(table.external_id, table.id))).all()}

    # -- products ---------------------------------------------------------------------------------------------

    def _product_rows(self) -> ProductRows:
        """The held products as rows of catalog_products (PRODUCT_COLUMNS), ready for the database at hand: the
        work in Python, done while the batch before is being written."""
        products, self._products = self._products, []
        assert self._group_ids is not None and self._property_info is not None
        groups, info, stamp = self._group_ids, self._property_info, self.stamp
        now = self.now()
        pg = bool(self._pg)
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
            )
        written = list(rows.values())
        self.counts["deleted"] += sum(1 for row in written if not row[9])
        return written

    async def _write_products(self, session: AsyncSession, rows: ProductRows) -> None:
        await bulk_upsert(
            session,
            "catalog_products",
            PRODUCT_COLUMNS,
            rows,
            ["external_id"],
            [name for name, _ in PRODUCT_COLUMNS if name not in ("external_id", "quantity")],
        )
        self.counts["products"] += len(rows)

    # -- offers -----------------------------------------------------------------------------------------------

    def _offer_rows(self) -> OfferRows:
        """The held offers with their prices and stock as columns (by the ids of their price types and warehouses,
        in what the database at hand stores), the offer's place in `offers` standing for the product's id, which
        the write finds (`_write_offers`)."""
        held: dict[str, Offer] = {}
        for offer in self._offers:
            held[offer.external_id] = offer  # an offer twice in a batch is written once, the last
        self._offers = []
        assert self._price_type_ids is not None and self._warehouse_ids is not None
        price_types, warehouses = self._price_type_ids, self._warehouse_ids
        number: Callable[[Decimal], Any] = _same if self._pg else float  # SQLite stores NUMERIC as REAL
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
            self.counts["unknown_price_types"] += unknown_price_types
        if unknown_warehouses:
            self.counts["unknown_warehouses"] += unknown_warehouses
        return rows

    async def _write_offers(self, session: AsyncSession, rows: OfferRows) -> None:
        if not rows.offers:
            return
        ids = await self._product_ids(session, rows.offers)
        products: list[int | None] = [ids.get(offer.external_id) for offer in rows.offers]
        unknown = products.count(None)
        if unknown:
            self.counts["unknown"] += unknown
        stamp = self.stamp
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
        await self._totals(session, list(zip(total_ids, _keep(rows.totals, total_keep), strict=True)), self.now())
        counted = set(total_ids)
        rest = [pid for pid in products if pid is not None and pid not in counted]
        for start in range(0, len(rest), 10_000):
            await session.execute(
                update(table_of(CatalogProduct))
                .where(CatalogProduct.id.in_(rest[start : start + 10_000]))
                .values(offer_run=stamp)
            )
        self.counts["offers"] += len(products) - unknown
        self.counts["prices"] += len(price_ids)  # (a price type twice in one offer counts once)
        self.counts["stock"] += len(stock_ids)

    async def _totals(self, session: AsyncSession, quantities: list[tuple[int, Decimal]], now: datetime) -> None:
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
                {"stamp": self.stamp, "now": now, "ids": [p for p, _ in quantities], "qs": [q for _, q in quantities]},
            )
            return
        # SQLite runs an executemany in process, row after row without a round trip.
        connection = await session.connection()
        when = sqlite_time(now)
        await connection.exec_driver_sql(
            "UPDATE catalog_products SET quantity = ?, offer_run = ?, updated_at = ? WHERE id = ?",
            [(float(q), self.stamp, when, pid) for pid, q in quantities],
        )

    async def _product_ids(self, session: AsyncSession, offers: Iterable[Offer]) -> dict[str, int]:
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
        now = self.now()
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
                        "description": base.description,
                        "properties": properties,
                        "images": list(base.images or []),
                        "active": base.active,
                        "search_text": search_text(name, base.article, base.barcode),
                        "import_run": self.stamp,
                        "updated_at": now,
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
                        "description": None,
                        "properties": dict(offer.characteristics),
                        "images": [],
                        "active": True,
                        "search_text": search_text(offer.name, None, None),
                        "import_run": self.stamp,
                        "updated_at": now,
                        "quantity": Decimal(0),
                    }
                )
        if new_rows:
            table = table_of(CatalogProduct)
            inserted = await session.execute(insert(table).returning(table.c.external_id, table.c.id), new_rows)
            ids.update({ext: pid for ext, pid in inserted.all()})
        self.counts["variants"] += sum(1 for row in new_rows if row["variant_of_id"] is not None)
        if renamed:
            await session.execute(
                update(table_of(CatalogProduct))
                .where(CatalogProduct.id == bindparam("pid"))
                .values(name=bindparam("name"), search_text=bindparam("text")),
                renamed,
            )
        return ids

    # -- organisations ----------------------------------------------------------------------------------------

    async def _write_organisations(self, session: AsyncSession) -> None:
        """1C's counterparties become our organisations, by 1C's Ид, else by INN, never twice (an INN checked by its
        check digits; a wrong one is skipped with a line saying so). Counted: `organisations` read, and of them
        `organisations_created`, `organisations_updated`, `organisations_skipped`."""
        if not self._organisations:
            return
        found, self._organisations = self._organisations, []
        result = await companies.from_onec(session, [o.details() for o in found], self.now())
        self.counts["organisations"] += len(found)
        self.counts["organisations_created"] += result.created
        self.counts["organisations_updated"] += result.updated
        self.counts["organisations_skipped"] += len(result.skipped)
        self.skipped += result.skipped

    # -- the end of a full package ----------------------------------------------------------------------------

    async def sweep(self, kinds: Iterable[str]) -> None:
        """What a full package did not mention: products and groups deactivated, offers' prices and stock removed
        (sweep.py)."""
        kinds = set(kinds)
        if not kinds:
            return
        await self.flush()
        async with self.sessionmaker() as session, session.begin():
            await sweeping.sweep(session, self.stamp, kinds, self.now(), self.counts)
