"""Rows into the catalogue's tables at speed, with no per-row work in SQLAlchemy.

`upsert`: INSERT … ON CONFLICT DO UPDATE of the few rows of the classifier (groups, properties, price types,
warehouses), compiled once and sent as multi-row pages. `bulk_upsert`: the many rows of products, prices and stock
as plain tuples: on PostgreSQL one statement for a batch, each column's values as one array (`unnest`), the rows
that exist updated and the others plainly inserted; on SQLite the driver's executemany (or multi-row INSERTs where
triggers make a statement's overhead count).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def table_of(model: Any) -> Table:
    """A model's table: updates and deletes here are Core statements (no ORM synchronisation of the session)."""
    return cast(Table, model.__table__)


def _insert(session: AsyncSession, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


async def upsert(
    session: AsyncSession, model: Any, rows: Sequence[dict[str, Any]], keys: list[str], columns: list[str]
) -> None:
    """INSERT … ON CONFLICT (keys) DO UPDATE of a batch: one statement compiled once (and cached), its rows sent as
    multi-row VALUES pages of up to 1,000 rows. Building a `.values([...])` list per batch instead spent five times
    the database's work in compiling it."""
    if not rows:
        return
    statement = _insert(session, table_of(model))
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
    ("unit_code", "text"),
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


def sqlite_time(moment: datetime) -> str:
    """A datetime as SQLAlchemy stores it on SQLite (UTC, naive, microseconds always written)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


# One encoder for the import: json.dumps with any option but the defaults builds a new JSONEncoder each call.
_PG_JSON = json.JSONEncoder(ensure_ascii=False)


def pg_json(value: Any) -> str:
    return _PG_JSON.encode(value)


_SQLITE_ROWS = 500  # rows a multi-row INSERT on SQLite: well under its 32,766 bound parameters


def is_pg(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def bulk_upsert(
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
    if is_pg(session):
        await _pg_upsert(session, table, columns, [list(values) for values in zip(*rows, strict=True)], keys, updated)
        return
    await _sqlite_upsert(session, table, columns, rows, keys, updated)


async def bulk_upsert_columns(
    session: AsyncSession,
    table: str,
    columns: Sequence[tuple[str, str]],
    values: Sequence[list[Any]],
    keys: Sequence[str],
    updated: Sequence[str],
) -> None:
    """`bulk_upsert` of rows given as columns (`values[n]`: the values of `columns[n]`, all of one length), which
    PostgreSQL takes as they are (the offers' prices and stock are gathered so)."""
    if not values or not values[0]:
        return
    if is_pg(session):
        await _pg_upsert(session, table, columns, values, keys, updated)
        return
    await _sqlite_upsert(session, table, columns, list(zip(*values, strict=True)), keys, updated)


async def _pg_upsert(
    session: AsyncSession,
    table: str,
    columns: Sequence[tuple[str, str]],
    values: Sequence[list[Any]],
    keys: Sequence[str],
    updated: Sequence[str],
) -> None:
    names = ", ".join(name for name, _ in columns)
    # Not INSERT … ON CONFLICT here: its speculative insertion made a new row cost three times a plain INSERT.
    # The rows that exist are updated, the others inserted, in one statement; an import is the only writer of
    # these tables (a second import of the same rows at the same moment would fail on the unique key).
    arrays = ", ".join(f"CAST(:c{n} AS {kind}[])" for n, (_, kind) in enumerate(columns))
    params = {f"c{n}": column for n, column in enumerate(values)}
    same = " AND ".join(f"t.{k} = d.{k}" for k in keys)
    found = " AND ".join(f"u.{k} = d.{k}" for k in keys)
    sets = ", ".join(f"{c} = d.{c}" for c in updated)
    statement = (
        f"WITH d AS (SELECT * FROM unnest({arrays}) AS d({names})), "
        f"u AS (UPDATE {table} AS t SET {sets} FROM d WHERE {same} RETURNING {', '.join(f't.{k}' for k in keys)}) "
        f"INSERT INTO {table} ({names}) SELECT {names} FROM d WHERE NOT EXISTS (SELECT FROM u WHERE {found})"
    )
    await session.execute(text(statement), params)


async def _sqlite_upsert(
    session: AsyncSession,
    table: str,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[tuple[Any, ...]],
    keys: Sequence[str],
    updated: Sequence[str],
) -> None:
    names = ", ".join(name for name, _ in columns)
    conflict = f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in updated)
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
