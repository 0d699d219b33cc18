"""Writes what a CommerceML package says into the catalogue (`catalog_*` tables), in batches.

The parser (integrations/onec/commerceml.py) turns a file into the records below; `CatalogueWriter` keeps a few
thousand of them at a time and writes each batch in a transaction of its own: the few groups, properties, price
types and warehouses with INSERT … ON CONFLICT DO UPDATE, the products, prices and stock as plain rows
(`_bulk_upsert`: arrays through `unnest` on PostgreSQL, the driver's executemany on SQLite), the products' stock
totals with one UPDATE. Memory stays flat however large the file, and readers are never held up for the whole
import.

Every row written is stamped with the package's number (`import_run`/`offer_run`, a catalog_imports id). A full
package (no СодержитТолькоИзменения) ends with a sweep (`sweep`) of the kinds it carried: what it did not mention
is deactivated (products, groups) or removed (prices, stock). A package of changes only never sweeps.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, Text, and_, any_, bindparam, delete, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import (
    CatalogGroup,
    CatalogImport,
    CatalogPrice,
    CatalogPriceType,
    CatalogProduct,
    CatalogProperty,
    CatalogStock,
    CatalogWarehouse,
    UTCDateTime,
)
from services import companies
from services.catalogue import search_text

BATCH = 5000  # products or offers per transaction (on a busy machine every round trip waits its turn)


@dataclass(frozen=True)
class Group:
    external_id: str
    name: str
    parent: str | None  # the parent's external id
    position: int


@dataclass(frozen=True)
class Property:
    external_id: str
    name: str
    kind: str
    choices: dict[str, str]  # a directory's value id -> its text


@dataclass(frozen=True)
class Product:
    external_id: str
    name: str
    article: str | None = None
    barcode: str | None = None
    unit: str | None = None
    description: str | None = None
    group: str | None = None  # the group's external id
    properties: tuple[tuple[str, str], ...] = ()  # (property id, value text or value id)
    requisites: tuple[tuple[str, str], ...] = ()  # ЗначенияРеквизитов: (name, value)
    images: tuple[str, ...] = ()
    deleted: bool = False


@dataclass(frozen=True)
class PriceType:
    external_id: str
    name: str
    currency: str


@dataclass(frozen=True)
class Warehouse:
    external_id: str
    name: str


@dataclass(frozen=True)
class Price:
    price_type: str  # external id
    value: Decimal
    currency: str | None


@dataclass(frozen=True)
class Offer:
    """An offer: `external_id` is a product's id, or `product#characteristic` for a variant. What a part of a split
    package leaves out stays None/empty and is not touched (a prices___ file has no stock, a rests___ no prices)."""

    external_id: str
    name: str | None = None
    prices: tuple[Price, ...] | None = None
    quantity: Decimal | None = None  # the total (Количество), when given
    stock: tuple[tuple[str, Decimal], ...] | None = None  # (warehouse id, quantity)
    characteristics: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Organisation:
    """A `Контрагент` of the package's `Контрагенты` (services/companies.py `onec_contragent`): found by 1C's Ид,
    else by INN, and created or updated as 1C's documents' counterparties are (`companies.from_onec`)."""

    onec_id: str
    name: str
    inn: str = ""
    kpp: str = ""
    contacts: str = ""

    def details(self) -> dict[str, str]:
        return {"onec_id": self.onec_id, "name": self.name, "inn": self.inn, "kpp": self.kpp, "contacts": self.contacts}


Record = Group | Property | Product | PriceType | Warehouse | Offer | Organisation

# What a full package sweeps, by what it carried.
SWEEPS = ("groups", "products", "offers", "prices", "stock")


def _table(model: Any) -> Table:
    """A model's table: updates and deletes here are Core statements (no ORM synchronisation of the session)."""
    return cast(Table, model.__table__)


def _insert(session: AsyncSession, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


async def _upsert(
    session: AsyncSession, model: Any, rows: Sequence[dict[str, Any]], keys: list[str], columns: list[str]
) -> None:
    """INSERT … ON CONFLICT (keys) DO UPDATE of a batch: one statement compiled once (and cached), its rows sent as
    multi-row VALUES pages of up to 1,000 rows. Building a `.values([...])` list per batch instead spent five times
    the database's work in compiling it."""
    if not rows:
        return
    statement = _insert(session, _table(model))
    statement = statement.on_conflict_do_update(
        index_elements=keys, set_={name: statement.excluded[name] for name in columns}
    )
    # RETURNING makes SQLAlchemy send the rows as multi-row VALUES pages ("insertmanyvalues") rather than one
    # statement per row through the driver's executemany.
    await session.execute(statement.returning(statement.table.c[keys[0]]), list(rows))


PRODUCT_COLUMNS = (
    ("external_id", "text"),
    ("group_id", "integer"),
    ("name", "text"),
    ("article", "text"),
    ("barcode", "text"),
    ("unit", "text"),
    ("description", "text"),
    ("properties", "jsonb"),
    ("images", "jsonb"),
    ("active", "boolean"),
    ("search_text", "text"),
    ("import_run", "integer"),
    ("updated_at", "timestamptz"),
    ("quantity", "numeric"),
)
PRICE_COLUMNS = (
    ("product_id", "integer"),
    ("price_type_id", "integer"),
    ("value", "numeric"),
    ("currency", "text"),
    ("import_run", "integer"),
)
STOCK_COLUMNS = (
    ("product_id", "integer"),
    ("warehouse_id", "integer"),
    ("quantity", "numeric"),
    ("import_run", "integer"),
)


def _same(value: Decimal) -> Decimal:
    return value


def _sqlite_time(moment: datetime) -> str:
    """A datetime as SQLAlchemy stores it on SQLite (UTC, naive, microseconds always written)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _pg_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


_SQLITE_ROWS = 500  # rows a multi-row INSERT on SQLite: well under its 32,766 bound parameters


def _is_pg(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def _bulk_upsert(
    session: AsyncSession,
    table: str,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[tuple[Any, ...]],
    keys: Sequence[str],
    updated: Sequence[str],
) -> None:
    """INSERT … ON CONFLICT (keys) DO UPDATE of plain rows (tuples in the order of `columns`, (name, PostgreSQL
    type) pairs), for the import's big tables, with no per-row work in SQLAlchemy: on PostgreSQL one statement
    for the batch, the values as one array per column (`unnest`), on SQLite the driver's executemany, which runs
    row after row inside SQLite. Values must already be what the column stores (SQLite: no Decimal, no dict).
    Rows must not repeat a key: ON CONFLICT cannot change a row twice in one statement."""
    if not rows:
        return
    names = ", ".join(name for name, _ in columns)
    conflict = f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in updated)
    if _is_pg(session):
        # Not INSERT … ON CONFLICT here: its speculative insertion made a new row cost three times a plain INSERT.
        # The rows that exist are updated, the others inserted, in one statement; an import is the only writer of
        # these tables (a second import of the same rows at the same moment would fail on the unique key).
        arrays = ", ".join(f"CAST(:c{n} AS {kind}[])" for n, (_, kind) in enumerate(columns))
        params = {f"c{n}": list(values) for n, values in enumerate(zip(*rows, strict=True))}
        same = " AND ".join(f"t.{k} = d.{k}" for k in keys)
        found = " AND ".join(f"u.{k} = d.{k}" for k in keys)
        sets = ", ".join(f"{c} = d.{c}" for c in updated)
        statement = (
            f"WITH d AS (SELECT * FROM unnest({arrays}) AS d({names})), "
            f"u AS (UPDATE {table} AS t SET {sets} FROM d WHERE {same} RETURNING {', '.join(f't.{k}' for k in keys)}) "
            f"INSERT INTO {table} ({names}) SELECT {names} FROM d WHERE NOT EXISTS (SELECT FROM u WHERE {found})"
        )
        await session.execute(text(statement), params)
        return
    marks = ", ".join("?" for _ in columns)
    connection = await session.connection()
    if table == "catalog_products":
        # Its triggers feed SQLite's index for words (FTS5, migration 0018_sqlite_search), which writes out what
        # it holds at every statement's savepoint: an executemany, a statement a row, made that a segment a
        # product (+80 µs each). Rows go in a few hundred a statement instead.
        for start in range(0, len(rows), _SQLITE_ROWS):
            chunk = rows[start : start + _SQLITE_ROWS]
            values = ", ".join(f"({marks})" for _ in chunk)
            flat = tuple(value for row in chunk for value in row)
            await connection.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES {values} {conflict}", flat)
        return
    await connection.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({marks}) {conflict}", list(rows))


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
                await self.flush()

    async def flush(self) -> None:
        if not any(
            (self._groups, self._properties, self._price_types, self._warehouses, self._products, self._offers,
             self._organisations)
        ):  # fmt: skip
            return
        async with self.sessionmaker() as session, session.begin():
            if _is_pg(session):
                # A batch's commit does not wait for its WAL to reach the disk. A crash may lose the last batches
                # (never half of one), and then also the import's end, which is committed synchronously after
                # them (finish_import): the import shows as not done and is run again, as after any failure.
                await session.execute(text("SET LOCAL synchronous_commit TO OFF"))
            # In this order: products name groups, offers name products, price types and warehouses.
            await self._write_groups(session)
            await self._write_properties(session)
            await self._write_price_types(session)
            await self._write_warehouses(session)
            await self._write_products(session)
            await self._write_offers(session)
            await self._write_organisations(session)
            await session.execute(
                update(_table(CatalogImport))
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
        await _upsert(session, CatalogGroup, rows, ["external_id"], ["name", "position", "active", "import_run"])
        ids = await self.group_ids(session, reload=True)
        # Parents are set once every group of the batch has its id (a child may come before its parent).
        parents = [(ids[g.external_id], ids.get(g.parent) if g.parent else None) for g in groups]
        await session.execute(
            update(_table(CatalogGroup)).where(CatalogGroup.id == bindparam("gid")).values(parent_id=bindparam("up")),
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
        await _upsert(session, CatalogProperty, rows, ["external_id"], ["name", "kind", "choices", "import_run"])
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
        await _upsert(session, CatalogPriceType, rows, ["external_id"], ["name", "currency", "import_run"])
        self._price_type_ids = None
        self.counts["price_types"] += len(kinds)

    async def _write_warehouses(self, session: AsyncSession) -> None:
        if not self._warehouses:
            return
        stores, self._warehouses = self._warehouses, []
        rows = [{"external_id": w.external_id, "name": w.name[:200], "import_run": self.stamp} for w in stores]
        await _upsert(session, CatalogWarehouse, rows, ["external_id"], ["name", "import_run"])
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

    async def _write_products(self, session: AsyncSession) -> None:
        if not self._products:
            return
        products, self._products = self._products, []
        groups = await self.group_ids(session)
        info = await self.property_info(session)
        now = self.now()
        rows: dict[str, dict[str, Any]] = {}  # by external id: a product twice in a batch is written once, the last
        for p in products:
            properties: dict[str, Any] = {}
            for prop, value in p.properties:
                name, choices = info.get(prop, (prop, {}))
                properties[name] = choices.get(value, value)
            for name, value in p.requisites:
                properties.setdefault(name, value)
            rows[p.external_id] = {
                "external_id": p.external_id,
                "group_id": groups.get(p.group) if p.group else None,
                "name": p.name[:500],
                "article": (p.article or None) and p.article[:100],
                "barcode": (p.barcode or None) and p.barcode[:64],
                "unit": (p.unit or None) and p.unit[:32],
                "description": p.description or None,
                "properties": properties,
                "images": list(p.images),
                "active": not p.deleted,
                "search_text": search_text(p.name, p.article, p.barcode),
                "import_run": self.stamp,
                "updated_at": now,
                "quantity": Decimal(0),
            }
        written = list(rows.values())
        pg = _is_pg(session)
        stamp = now if pg else _sqlite_time(now)
        zero: Decimal | float = Decimal(0) if pg else 0.0
        encode = _pg_json if pg else json.dumps
        await _bulk_upsert(
            session,
            "catalog_products",
            PRODUCT_COLUMNS,
            [
                (
                    row["external_id"],
                    row["group_id"],
                    row["name"],
                    row["article"],
                    row["barcode"],
                    row["unit"],
                    row["description"],
                    encode(row["properties"]),
                    encode(row["images"]),
                    row["active"],
                    row["search_text"],
                    row["import_run"],
                    stamp,
                    zero,
                )
                for row in written
            ],
            ["external_id"],
            [name for name, _ in PRODUCT_COLUMNS if name not in ("external_id", "quantity")],
        )
        self.counts["products"] += len(written)
        self.counts["deleted"] += sum(1 for row in written if not row["active"])

    # -- offers -----------------------------------------------------------------------------------------------

    async def _write_offers(self, session: AsyncSession) -> None:
        if not self._offers:
            return
        offers: dict[str, Offer] = {}
        for offer in self._offers:
            offers[offer.external_id] = offer
        self._offers = []
        if self._price_type_ids is None:
            self._price_type_ids = await self._ids(session, CatalogPriceType)
        if self._warehouse_ids is None:
            self._warehouse_ids = await self._ids(session, CatalogWarehouse)
        ids = await self._product_ids(session, offers.values())
        now = self.now()
        pg = _is_pg(session)
        number: Callable[[Decimal], Any] = _same if pg else float  # SQLite stores NUMERIC as REAL
        prices: dict[tuple[int, int], tuple[Any, ...]] = {}  # by key: a price type twice in an offer, the last
        stock: dict[tuple[int, int], tuple[Any, ...]] = {}
        quantities: list[tuple[int, Decimal]] = []
        mentioned: list[int] = []
        by_warehouse: list[int] = []
        for offer in offers.values():
            product_id = ids.get(offer.external_id)
            if product_id is None:
                self.counts["unknown"] += 1
                continue
            mentioned.append(product_id)
            for price in offer.prices or ():
                price_type_id = self._price_type_ids.get(price.price_type)
                if price_type_id is None:
                    self.counts["unknown_price_types"] += 1
                    continue
                prices[product_id, price_type_id] = (
                    product_id,
                    price_type_id,
                    number(price.value),
                    (price.currency or "RUB")[:8],
                    self.stamp,
                )
            total = offer.quantity
            if offer.stock is not None:
                by_warehouse.append(product_id)
                summed = Decimal(0)
                for warehouse, quantity in offer.stock:
                    warehouse_id = self._warehouse_ids.get(warehouse)
                    if warehouse_id is None:
                        self.counts["unknown_warehouses"] += 1
                        continue
                    summed += quantity
                    stock[product_id, warehouse_id] = (product_id, warehouse_id, number(quantity), self.stamp)
                total = summed if total is None else total
            if total is not None:
                quantities.append((product_id, total))
        await _bulk_upsert(
            session,
            "catalog_prices",
            PRICE_COLUMNS,
            list(prices.values()),
            ["product_id", "price_type_id"],
            ["value", "currency", "import_run"],
        )
        await _bulk_upsert(
            session,
            "catalog_stock",
            STOCK_COLUMNS,
            list(stock.values()),
            ["product_id", "warehouse_id"],
            ["quantity", "import_run"],
        )
        if by_warehouse:
            # An offer's stock by warehouse is the whole of it: a warehouse it no longer lists holds none. Removed after
            # the upsert (which stamps what it lists), so a repeated package updates its rows rather than deleting
            # and inserting them again (an insert's foreign-key checks cost more than the row itself).
            if pg:
                await session.execute(
                    text(
                        "DELETE FROM catalog_stock WHERE product_id = ANY(CAST(:ids AS integer[])) AND import_run != :s"
                    ),
                    {"ids": by_warehouse, "s": self.stamp},
                )
            else:
                await session.execute(
                    delete(_table(CatalogStock)).where(
                        CatalogStock.product_id.in_(by_warehouse), CatalogStock.import_run != self.stamp
                    )
                )
        await self._totals(session, quantities, now)
        counted = {pid for pid, _ in quantities}
        rest = [pid for pid in mentioned if pid not in counted]
        for start in range(0, len(rest), 10_000):
            await session.execute(
                update(_table(CatalogProduct))
                .where(CatalogProduct.id.in_(rest[start : start + 10_000]))
                .values(offer_run=self.stamp)
            )
        self.counts["offers"] += len(mentioned)
        self.counts["prices"] += len(prices)  # (a price type twice in one offer counts once)
        self.counts["stock"] += len(stock)

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
        when = _sqlite_time(now)
        await connection.exec_driver_sql(
            "UPDATE catalog_products SET quantity = ?, offer_run = ?, updated_at = ? WHERE id = ?",
            [(float(q), self.stamp, when, pid) for pid, q in quantities],
        )

    async def _product_ids(self, session: AsyncSession, offers: Iterable[Offer]) -> dict[str, int]:
        """The product row of each offer; a variant (`product#characteristic`) seen for the first time is made from
        its product, and an offer of an unknown product that has a name becomes a product of its own."""
        wanted = {o.external_id: o for o in offers}
        keys = list(set(wanted) | {ext.split("#", 1)[0] for ext in wanted})
        # Only the few columns needed to match and rename: a batch of offers loads no whole rows.
        found: dict[str, tuple[int, str, str | None, str | None]] = {}
        columns = (
            CatalogProduct.external_id,
            CatalogProduct.id,
            CatalogProduct.name,
            CatalogProduct.article,
            CatalogProduct.barcode,
        )
        if _is_pg(session):  # one array parameter rather than a thousand bound values to compile and send
            rows = await session.execute(
                select(*columns).where(
                    CatalogProduct.external_id == any_(bindparam("keys", keys, type_=postgresql.ARRAY(Text)))
                )
            )
            found.update({ext: (pid, name, article, barcode) for ext, pid, name, article, barcode in rows.all()})
        else:
            for start in range(0, len(keys), 10_000):
                rows = await session.execute(
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
            table = _table(CatalogProduct)
            inserted = await session.execute(insert(table).returning(table.c.external_id, table.c.id), new_rows)
            ids.update({ext: pid for ext, pid in inserted.all()})
        self.counts["variants"] += sum(1 for row in new_rows if row["variant_of_id"] is not None)
        if renamed:
            await session.execute(
                update(_table(CatalogProduct))
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
        """What a full package did not mention: products and groups deactivated, offers' prices and stock removed."""
        kinds = set(kinds)
        if not kinds:
            return
        await self.flush()
        stamp = self.stamp
        async with self.sessionmaker() as session, session.begin():
            if "groups" in kinds:
                done = await session.execute(
                    update(_table(CatalogGroup))
                    .where(CatalogGroup.import_run != stamp, CatalogGroup.active.is_(True))
                    .values(active=False)
                )
                self.counts["groups_deactivated"] += done.rowcount or 0  # type: ignore[attr-defined]
            if "products" in kinds:
                done = await session.execute(
                    update(_table(CatalogProduct))
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
                    .values(active=False, updated_at=self.now())
                )
                self.counts["deactivated"] += done.rowcount or 0  # type: ignore[attr-defined]
            offers_gone = CatalogProduct.offer_run.is_not(None) & (CatalogProduct.offer_run != stamp)
            if "prices" in kinds:
                await session.execute(delete(_table(CatalogPrice)).where(CatalogPrice.import_run != stamp))
            if "stock" in kinds:
                await session.execute(delete(_table(CatalogStock)).where(CatalogStock.import_run != stamp))
                await session.execute(update(_table(CatalogProduct)).where(offers_gone).values(quantity=0))
            if "offers" in kinds:
                # A variant is its offer: gone from a full package of offers, it is no longer sold.
                await session.execute(
                    update(_table(CatalogProduct))
                    .where(offers_gone, CatalogProduct.variant_of_id.is_not(None))
                    .values(active=False)
                )
                await session.execute(update(_table(CatalogProduct)).where(offers_gone).values(offer_run=None))


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
            await session.execute(delete(_table(CatalogPrice)).where(CatalogPrice.product_id.in_(ids)))
            await session.execute(delete(_table(CatalogStock)).where(CatalogStock.product_id.in_(ids)))
            await session.execute(delete(_table(CatalogProduct)).where(CatalogProduct.id.in_(ids)))
        deleted += len(doomed)
    return deleted


# -- the import's own row (catalog_imports): what `konveyer catalog import` and 1C's `mode=import` report ------


async def start_import(
    sessionmaker: async_sessionmaker[AsyncSession], now: datetime, filename: str, session: str | None = None
) -> int:
    async with sessionmaker() as db, db.begin():
        row = CatalogImport(
            session=session,
            filename=filename[:255],
            status="running",
            only_changes=False,
            counts={},
            started_at=now,
            heartbeat_at=now,
        )
        db.add(row)
        await db.flush()
        return row.id


async def finish_import(
    sessionmaker: async_sessionmaker[AsyncSession],
    now: datetime,
    import_id: int,
    status: str,
    writer: CatalogueWriter,
    only_changes: bool,
    error: str | None = None,
) -> None:
    async with sessionmaker() as db, db.begin():
        await db.execute(
            update(_table(CatalogImport))
            .where(CatalogImport.id == import_id)
            .values(
                status=status,
                counts=dict(writer.counts),
                only_changes=only_changes,
                error=error,
                finished_at=now,
                heartbeat_at=now,
            )
        )


async def import_of(session: AsyncSession, token_hash: str, filename: str) -> CatalogImport | None:
    """The latest import of a file in an exchange session."""
    found = await session.execute(
        select(CatalogImport)
        .where(CatalogImport.session == token_hash, CatalogImport.filename == filename[:255])
        .order_by(CatalogImport.id.desc())
        .limit(1)
    )
    return found.scalar_one_or_none()


async def fail_stale(session: AsyncSession, import_id: int, error: str, now: datetime) -> None:
    await session.execute(
        update(_table(CatalogImport))
        .where(CatalogImport.id == import_id, CatalogImport.status == "running")
        .values(status="failed", error=error, finished_at=now)
    )


async def heartbeat(session: AsyncSession, import_id: int) -> datetime | None:
    """When a running import last wrote (None: it never did, or there is no such import)."""
    found = await session.execute(select(CatalogImport.heartbeat_at).where(CatalogImport.id == import_id))
    return found.scalar_one_or_none()
