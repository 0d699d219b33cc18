"""`CatalogueWriter`: what a CommerceML package says, written into the catalogue (`catalog_*` tables) in batches.

The parser (integrations/onec/commerceml.py) turns a file into records (records.py); the writer keeps a few
thousand of them at a time and writes each batch in a transaction of its own: the few groups, properties, price
types and warehouses with INSERT … ON CONFLICT DO UPDATE, the products, prices and stock as plain rows
(rows.py `bulk_upsert`), the products' stock totals with one UPDATE. Memory stays flat however large the file,
and readers are never held up for the whole import. Every row written is stamped with the package's number
(`import_run`/`offer_run`, a catalog_imports id), which the sweep at the end of a full package reads (sweep.py).
Here the batching, the classifier and the organisations; a batch's products in products.py, its offers in offers.py.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import (
    CatalogGroup,
    CatalogImport,
    CatalogPriceType,
    CatalogProperty,
    CatalogWarehouse,
)
from services import companies
from services.catalogue_import import sweep as sweeping
from services.catalogue_import.offers import OfferRows, offer_rows, write_offers
from services.catalogue_import.products import ProductRows, product_rows, write_products
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
from services.catalogue_import.rows import is_pg, table_of, upsert

BATCH = 5000  # products or offers per transaction (on a busy machine every round trip waits its turn)


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
                await write_products(session, products, self.counts)
            if held and offers is None and self._offers:
                if self._price_type_ids is None:
                    self._price_type_ids = await self._ids(session, CatalogPriceType)
                if self._warehouse_ids is None:
                    self._warehouse_ids = await self._ids(session, CatalogWarehouse)
                offers = self._offer_rows()
            if offers is not None:
                await write_offers(session, offers, self.stamp, self.now, self.counts)
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

    # -- products and offers (products.py, offers.py) -----------------------------------------------------------

    def _product_rows(self) -> ProductRows:
        """The held products as rows, the work in Python, done while the batch before is being written."""
        products, self._products = self._products, []
        assert self._group_ids is not None and self._property_info is not None
        return product_rows(
            products, self._group_ids, self._property_info, self.stamp, self.now(), bool(self._pg), self.counts
        )

    def _offer_rows(self) -> OfferRows:
        offers, self._offers = self._offers, []
        assert self._price_type_ids is not None and self._warehouse_ids is not None
        return offer_rows(offers, self._price_type_ids, self._warehouse_ids, bool(self._pg), self.counts)

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
