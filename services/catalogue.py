"""The maker's catalogue as 1C sends it (integrations/onec/ writes it; tables `catalog_*` in db/models/catalogue.py).

Read API (every function takes an AsyncSession; nothing here writes):

- `get_product(session, product_id)` / `get_product_by_external_id(session, external_id)` -> CatalogProduct | None
- `search(session, text="", *, group_id=None, in_stock=False, price_type_id=None, price_min=None, price_max=None,
  offset=0, limit=50, active_only=True)` -> SearchPage(hits=[Hit(product, price)], next_offset)
  `text` matches every word in name, article or barcode (case-insensitive, on both databases; see `terms`: a
  Russian word by its stem, so «газонокосилки» finds «Газонокосилка»; an article without its dashes); `group_id`
  includes its subgroups; `price_type_id` gives each hit's price in that type (None: no price) and is needed for
  `price_min`/`price_max` (a product without a price of that type is then left out); `next_offset` is None on the
  last page (Telegram's inline `next_offset` is `str(page.next_offset or "")`). Order: name, then id.
  Indexes for words: PostgreSQL's trigram index (migration 0014_search_index); on SQLite the FTS5 table
  `catalog_products_fts` (migration 0018_sqlite_search), asked for the products holding every trigram of the words
  of 3+ characters, the LIKE conditions then kept on those alone (so the same results as a scan).
- `find_price_type(session, key)` -> CatalogPriceType | None: by external id or by name (what
  `companies.price_type` holds); `price_types(session)` -> all of them by name.
- `price(session, product_id, price_type_id)` -> Decimal | None; `prices(session, product_ids, price_type_id)` ->
  {product_id: Decimal} for a page of products in one query.
- `stock(session, product_id)` -> [StockLine(warehouse_id, warehouse, quantity)] by warehouse name (zero rows
  left out); the product's total is `product.quantity`.
- `totals(session, external_ids)` -> {external id: the product's total stock now} for many products in one query
  (those the catalogue no longer has left out): what an approval card shows beside the stock at ordering.
- `stocks(session, product_ids)` -> {product_id: {warehouse name: quantity}} for many products in one query (zero
  rows left out), what an export's columns by warehouse are filled from.
- `groups(session, parent_id=None)` -> the active groups under a parent, in 1C's order; `group_path(session,
  group_id)` -> [root … group]; `subgroup_ids(session, group_id)` -> the group and all below it.
- `warehouses(session)` -> all warehouses by name.
- `stats(session)` -> {"groups", "products", "offers", "price_types", "prices", "warehouses", "stock",
  "organisations"} counts (products: active ones; offers: active products that offers.xml gave; organisations:
  active ones 1C knows, by its Ид), what `konveyer catalog stats` prints.
- `image_path(data_dir, relative)` -> the file of a product's image (`product.images` holds paths relative to the
  exchange directory, as 1C names them: "import_files/ab/abcd.jpg"); None when it would leave that directory.
- `fold(text)` -> the case-folded form that `search_text` is stored in; `search_text(name, article, barcode)` ->
  that text, with each dashed or spaced code also written solid («gm-46s gm46s»); `terms(text)` -> what a query's
  words are matched by.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from snowballstemmer import stemmer
from sqlalchemy import (
    Select,
    String,
    Subquery,
    and_,
    bindparam,
    cast,
    column,
    func,
    literal_column,
    null,
    or_,
    select,
    table,
    union,
)
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    CatalogGroup,
    CatalogPrice,
    CatalogPriceType,
    CatalogProduct,
    CatalogStock,
    CatalogWarehouse,
    Company,
)

EXCHANGE_DIR = "1c"  # under the data directory: the images 1C sent (kept; `images` are relative to it)
PAGE = 50  # Telegram shows at most 50 inline results at a time
# SQLite (migration 0018_sqlite_search): trigrams of the products' search_text, kept in step by triggers.
FTS = "catalog_products_fts"
_fts = table(FTS, column("rowid"))
# Words in this many products or more are searched without the index on SQLite: the walk of the name index then
# meets the page's matches soon, while gathering and sorting them all would cost a read of each.
DENSE = 10_000
# What people leave out of a code when typing it: «GM-46S» is typed «gm46s», «gm 46», «gm46».
SEPARATORS = re.compile(r"[-./\\\s]+")
_CYRILLIC = re.compile(r"[а-я]")
_russian = stemmer("russian")
SHORTEST_STEM = 3  # a shorter one («ел» of «ели») would match most of the catalogue


@dataclass(frozen=True)
class Hit:
    product: CatalogProduct
    price: Decimal | None  # in the price type asked for; None when none was asked or the product has none


@dataclass(frozen=True)
class SearchPage:
    hits: list[Hit]
    next_offset: int | None


@dataclass(frozen=True)
class StockLine:
    warehouse_id: int
    warehouse: str
    quantity: Decimal


def fold(text: str) -> str:
    """Case-folded, ё read as е, runs of spaces as one: how `search_text` is stored and how a query is matched."""
    return " ".join(text.casefold().replace("ё", "е").split())


def _solid(code: str) -> str:
    return SEPARATORS.sub("", code)


def search_text(name: str, article: str | None, barcode: str | None) -> str:
    """Name, article and barcode folded, then each word with a dash, dot or slash in it, and a spaced article or
    barcode, written solid: a query's code, written solid too (`terms`), is then a plain substring of it.
    (Migration 0036_search_codes gave the products stored before it the same.)"""
    text = fold(" ".join(part for part in (name, article, barcode) if part))
    words = text.split()
    codes = [word for word in words if SEPARATORS.search(word)]
    codes += [fold(code) for code in (article, barcode) if code and len(fold(code).split()) > 1]
    solid = [s for s in dict.fromkeys(_solid(code) for code in codes) if s and s not in words]
    return " ".join([text, *solid])


def terms(text: str) -> list[str]:
    """What each word of a query is matched by, as a substring of `search_text`: a code (a word with a dash, dot or
    slash) written solid, as `search_text` also holds it; a Russian word by its Snowball stem (only endings go, so
    the stem is a prefix of every form of the word: «косилки бензиновые» → «косилк», «бензинов» find «Газонокосилка
    бензиновая»), kept whole when the stem would be too short to tell products apart; any other word as typed."""
    found = []  # one for each word typed, in its place
    for word in fold(text).split():
        if SEPARATORS.search(word):
            word = _solid(word) or word
        elif _CYRILLIC.search(word) and word.isalpha():
            stem = _russian.stemWord(word)
            word = stem if len(stem) >= SHORTEST_STEM else word
        found.append(word)
    return found


def _like_escape(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _trigram_query(words: Iterable[str]) -> str:
    """An FTS5 query for the products holding every trigram of every word (each of 3+ characters): a superset of
    those whose text holds the words (the index keeps no positions), which the LIKE conditions then narrow."""
    grams = dict.fromkeys(word[i : i + 3] for word in words for i in range(len(word) - 2))
    return " AND ".join('"' + gram.replace('"', '""') + '"' for gram in grams)


async def _sqlite_matches(session: AsyncSession, words: list[str], typed: list[str] | None = None) -> Subquery | None:
    """The ids of a superset of the products matching `words` (by the trigram index and by barcode), or None
    when no word can use the index or the words are in most of the catalogue (the scan is then the cheaper)."""
    long = [word for word in words if len(word) >= 3]
    if not long:
        return None
    match = bindparam(None, _trigram_query(long), String)
    indexed = select(_fts.c.rowid.label("id")).where(literal_column(FTS).op("MATCH")(match))
    found = select(func.count()).select_from(indexed.limit(DENSE).subquery())
    if (await session.execute(found)).scalar_one() >= DENSE:
        return None
    # A product matches a word by its text or by its barcode equal to the word: the second kind, if its text
    # does not hold the word, is added here so that nothing the LIKE conditions would find is left out.
    by_barcode = select(CatalogProduct.id).where(CatalogProduct.barcode.in_(typed or words))
    return union(indexed, by_barcode).subquery("matches")


async def get_product(session: AsyncSession, product_id: int) -> CatalogProduct | None:
    return await session.get(CatalogProduct, product_id)


async def get_product_by_external_id(session: AsyncSession, external_id: str) -> CatalogProduct | None:
    found = await session.execute(select(CatalogProduct).where(CatalogProduct.external_id == external_id))
    return found.scalar_one_or_none()


async def subgroup_ids(session: AsyncSession, group_id: int) -> list[int]:
    # Groups are few (hundreds), so the tree is walked here rather than by a recursive query on two dialects.
    rows = (await session.execute(select(CatalogGroup.id, CatalogGroup.parent_id))).all()
    children: dict[int | None, list[int]] = {}
    for gid, parent in rows:
        children.setdefault(parent, []).append(gid)
    found, todo = [], [group_id]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, ()))
    return found


async def search(
    session: AsyncSession,
    text: str = "",
    *,
    group_id: int | None = None,
    in_stock: bool = False,
    price_type_id: int | None = None,
    price_min: Decimal | None = None,
    price_max: Decimal | None = None,
    offset: int = 0,
    limit: int = PAGE,
    active_only: bool = True,
) -> SearchPage:
    if (price_min is not None or price_max is not None) and price_type_id is None:
        raise ValueError("a price range needs a price type")
    # Two steps in one statement: the page's ids are picked first, from the narrow columns the filters and the
    # order need, and only that page's rows are then read whole and joined to their price (not every match).
    words = terms(text)
    typed = fold(text).split()
    dialect = session.get_bind().dialect.name
    matches = await _sqlite_matches(session, words, typed) if words and dialect == "sqlite" else None
    page = select(CatalogProduct.id, CatalogProduct.name)
    if matches is not None:
        # The index's matches first, each product then read by its id and the few sorted: not the walk of the whole
        # name index for a rare word.
        page = page.select_from(matches).join(CatalogProduct, CatalogProduct.id == matches.c.id)
    if price_type_id is not None and (price_min is not None or price_max is not None):
        ranged = CatalogPrice.__table__.alias("ranged")
        page = page.join(
            ranged, and_(ranged.c.product_id == CatalogProduct.id, ranged.c.price_type_id == price_type_id)
        )
        if price_min is not None:
            page = page.where(ranged.c.value >= price_min)
        if price_max is not None:
            page = page.where(ranged.c.value <= price_max)
    if active_only:
        # With the index's matches, `active` in a function: else SQLite prefers walking the (active, name) index,
        # which gives the order, probing the matches for each of the catalogue's products.
        active = CatalogProduct.active if matches is None else func.coalesce(CatalogProduct.active, False)
        page = page.where(active.is_(True))
    for word, as_typed in zip(words, typed, strict=True):
        # The words go into the statement as literals: a prepared statement run a few times gets a generic plan on
        # PostgreSQL, blind to which words the trigram index can serve (a two-letter word it cannot: the generic
        # plan then scanned the whole index for it).
        pattern = bindparam(None, f"%{_like_escape(word)}%", String, literal_execute=True)
        exact = bindparam(None, as_typed, String, literal_execute=True)
        page = page.where(or_(CatalogProduct.search_text.like(pattern, escape="\\"), CatalogProduct.barcode == exact))
    if group_id is not None:
        page = page.where(CatalogProduct.group_id.in_(await subgroup_ids(session, group_id)))
    if in_stock:
        page = page.where(CatalogProduct.quantity > 0)
    offset = max(offset, 0)
    if words and dialect == "postgresql":
        # The matches of words are gathered first (the trigram index) and then sorted: given the order alone, the
        # planner walks the name index hoping to meet matches evenly, and a word that only names sorting late
        # (every «Триммер …») had it read most of the catalogue. OFFSET 0 keeps the subquery apart. On SQLite
        # without the index's matches (short or common words), the walk of the name index, stopping at the page's
        # end, is the better of its two.
        matches = page.offset(0).subquery("matches")
        page = select(matches.c.id, matches.c.name).order_by(matches.c.name, matches.c.id)
    else:
        page = page.order_by(CatalogProduct.name, CatalogProduct.id)
    picked = page.offset(offset).limit(limit + 1).subquery("page")
    value = CatalogPrice.value if price_type_id is not None else cast(null(), CatalogPrice.value.type)
    query = select(CatalogProduct, value).join(picked, picked.c.id == CatalogProduct.id)
    if price_type_id is not None:
        priced = and_(CatalogPrice.product_id == CatalogProduct.id, CatalogPrice.price_type_id == price_type_id)
        query = query.outerjoin(CatalogPrice, priced)
    rows = (await session.execute(query.order_by(picked.c.name, picked.c.id))).all()
    hits = [Hit(product, value) for product, value in rows[:limit]]
    return SearchPage(hits, offset + limit if len(rows) > limit else None)


async def find_price_type(session: AsyncSession, key: str) -> CatalogPriceType | None:
    found = await session.execute(
        select(CatalogPriceType)
        .where(or_(CatalogPriceType.external_id == key, CatalogPriceType.name == key))
        .order_by(CatalogPriceType.external_id != key)  # an exact id wins over a name
        .limit(1)
    )
    return found.scalar_one_or_none()


async def price_types(session: AsyncSession) -> list[CatalogPriceType]:
    return list((await session.execute(select(CatalogPriceType).order_by(CatalogPriceType.name))).scalars())


async def price(session: AsyncSession, product_id: int, price_type_id: int) -> Decimal | None:
    found = await session.execute(
        select(CatalogPrice.value).where(
            CatalogPrice.product_id == product_id, CatalogPrice.price_type_id == price_type_id
        )
    )
    return found.scalar_one_or_none()


async def prices(session: AsyncSession, product_ids: Iterable[int], price_type_id: int) -> dict[int, Decimal]:
    ids = list(product_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(CatalogPrice.product_id, CatalogPrice.value).where(
            CatalogPrice.product_id.in_(ids), CatalogPrice.price_type_id == price_type_id
        )
    )
    return {product_id: value for product_id, value in rows.all()}


async def stock(session: AsyncSession, product_id: int) -> list[StockLine]:
    rows = await session.execute(
        select(CatalogWarehouse.id, CatalogWarehouse.name, CatalogStock.quantity)
        .join(CatalogStock, CatalogStock.warehouse_id == CatalogWarehouse.id)
        .where(CatalogStock.product_id == product_id, CatalogStock.quantity != 0)
        .order_by(CatalogWarehouse.name)
    )
    return [StockLine(wid, name, quantity) for wid, name, quantity in rows.all()]


async def totals(session: AsyncSession, external_ids: Iterable[str]) -> dict[str, Decimal]:
    wanted = sorted(set(external_ids))
    if not wanted:
        return {}
    rows = await session.execute(
        select(CatalogProduct.external_id, CatalogProduct.quantity).where(CatalogProduct.external_id.in_(wanted))
    )
    return {external_id: quantity for external_id, quantity in rows.all()}


async def stocks(session: AsyncSession, product_ids: Iterable[int]) -> dict[int, dict[str, Decimal]]:
    ids = list(product_ids)
    found: dict[int, dict[str, Decimal]] = {}
    for start in range(0, len(ids), 1000):  # bound the IN list: an export may hold thousands of products
        rows = await session.execute(
            select(CatalogStock.product_id, CatalogWarehouse.name, CatalogStock.quantity)
            .join(CatalogWarehouse, CatalogStock.warehouse_id == CatalogWarehouse.id)
            .where(CatalogStock.product_id.in_(ids[start : start + 1000]), CatalogStock.quantity != 0)
        )
        for product_id, warehouse, quantity in rows.all():
            found.setdefault(product_id, {})[warehouse] = quantity
    return found


async def groups(session: AsyncSession, parent_id: int | None = None) -> list[CatalogGroup]:
    query = select(CatalogGroup).where(CatalogGroup.active.is_(True))
    query = query.where(CatalogGroup.parent_id.is_(None) if parent_id is None else CatalogGroup.parent_id == parent_id)
    return list((await session.execute(query.order_by(CatalogGroup.position, CatalogGroup.name))).scalars())


async def all_groups(session: AsyncSession) -> list[CatalogGroup]:
    """Every active group in one read, each level in the order `groups` gives it (a tree is built from it)."""
    query = select(CatalogGroup).where(CatalogGroup.active.is_(True))
    return list((await session.execute(query.order_by(CatalogGroup.position, CatalogGroup.name))).scalars())


async def group_path(session: AsyncSession, group_id: int) -> list[CatalogGroup]:
    path: list[CatalogGroup] = []
    current = await session.get(CatalogGroup, group_id)
    while current is not None and len(path) < 64:  # 64: a loop in bad data must not hang a card
        path.append(current)
        current = None if current.parent_id is None else await session.get(CatalogGroup, current.parent_id)
    return path[::-1]


async def warehouses(session: AsyncSession) -> list[CatalogWarehouse]:
    return list((await session.execute(select(CatalogWarehouse).order_by(CatalogWarehouse.name))).scalars())


async def stats(session: AsyncSession) -> dict[str, int]:
    active = CatalogProduct.active.is_(True)

    async def count(query: Select[Any]) -> int:
        return int((await session.execute(query)).scalar_one())

    return {
        "groups": await count(select(func.count()).select_from(CatalogGroup).where(CatalogGroup.active.is_(True))),
        "products": await count(select(func.count()).select_from(CatalogProduct).where(active)),
        "offers": await count(
            select(func.count()).select_from(CatalogProduct).where(active, CatalogProduct.offer_run.is_not(None))
        ),
        "price_types": await count(select(func.count()).select_from(CatalogPriceType)),
        "prices": await count(select(func.count()).select_from(CatalogPrice)),
        "warehouses": await count(select(func.count()).select_from(CatalogWarehouse)),
        "stock": await count(select(func.count()).select_from(CatalogStock)),
        # The organisations 1C knows (its counterparties, by Ид): what an admin compares with 1C's list.
        "organisations": await count(
            select(func.count()).select_from(Company).where(Company.onec_id.is_not(None), Company.active.is_(True))
        ),
    }


def image_path(data_dir: Path, relative: str) -> Path | None:
    root = (data_dir / EXCHANGE_DIR).resolve()
    target = (root / relative).resolve()
    return target if target.is_relative_to(root) else None


__all__: Sequence[str] = (
    "PAGE",
    "Hit",
    "SearchPage",
    "StockLine",
    "find_price_type",
    "fold",
    "get_product",
    "get_product_by_external_id",
    "group_path",
    "groups",
    "image_path",
    "price",
    "price_types",
    "prices",
    "search",
    "stats",
    "stock",
    "stocks",
    "subgroup_ids",
    "warehouses",
)
