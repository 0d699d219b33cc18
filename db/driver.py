"""PostgreSQL: one statement run on the driver's own connection under a SQLAlchemy connection — for the hot paths
where SQLAlchemy's execution path (execution context, cursor adapter, result) costs more client CPU than the
statement's round trip (asyncpg keeps each statement prepared per connection): a case step's read and writes, the
outbox sender's lock and queue read, an update's inbox claim with its person's read and a form answer's draft and
messages (`fetch`, a prebuilt SQLAlchemy statement inside the session's transaction), the sender's claim and outcome
writes, the inbox's webhook INSERT, its look behind and the timed passes' questions (`fetch_on`, the same on a
connection, in its transaction or in autocommit).

What SQLAlchemy would do around the statement is kept: the `before_cursor_execute` listeners are told (the bench
and the tests count statements), and an error — of the statement, or of the BEGIN sent before it — is raised as
`connection.execute` raises it (translated, a dropped connection invalidated)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from db.step_writes import connection_of


def in_autocommit(connection: AsyncConnection) -> bool:
    """A PostgreSQL connection of `db.engine.autocommit`: each statement its own transaction, none to begin."""
    return (
        connection.dialect.name == "postgresql"
        and connection.sync_connection is not None
        and connection.sync_connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
    )


async def driver_of(connection: AsyncConnection, raw: Any = None, *, begin: bool) -> Any:
    """The asyncpg connection under `connection` (None if the driver is not asyncpg); with `begin`, its transaction
    begun, unless it is already, as SQLAlchemy's asyncpg adapter begins it at its first statement (the same BEGIN,
    the same isolation level), so that SQLAlchemy's commit or rollback ends it. `raw`: the pool's record of the
    driver's connection, when the caller holds it already (`connection_of`).

    SQLAlchemy offers neither without a statement of its own: the pool's record is looked up on the connection
    (`_dbapi_connection`: no hop through SQLAlchemy's greenlet when the connection is checked out, as it always is
    here — the caller ran a statement on it or opened it to run this one), and the transaction is begun by the
    adapter's own `_start_transaction` (its `_transaction` None: checked out, no transaction yet). Kept to this one
    place, so that a SQLAlchemy upgrade that renames them is mended here."""
    if raw is None:
        sync = connection.sync_connection
        assert sync is not None
        raw = sync._dbapi_connection
        if raw is None:
            raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    if begin and driver is not None and not driver.is_in_transaction():
        adapted: Any = raw.dbapi_connection
        if getattr(adapted, "_transaction", False) is None:  # SQLAlchemy's asyncpg adapter, no transaction yet
            try:
                await adapted._start_transaction()
            except Exception as error:
                # The first round trip on a connection checked out without a pre-ping: a connection the server
                # dropped meanwhile fails here, and must be invalidated as SQLAlchemy's own BEGIN would have it
                # (else it goes back to the pool and fails the next transaction too).
                await connection.run_sync(_raise_as_sqlalchemy, error, "BEGIN", ())
                raise
    return driver


async def run(connection: AsyncConnection, driver: Any, sql: str, args: Sequence[Any]) -> list[Any]:
    """`sql` with `args` on `driver`, the asyncpg connection under `connection`; its rows."""
    sync = connection.sync_connection
    if sync is not None and (sync._has_events or sync.engine._has_events):
        sync.dispatch.before_cursor_execute(sync, None, sql, tuple(args), None, False)
    try:
        return list(await driver.fetch(sql, *args))
    except Exception as error:
        # The driver's error as connection.execute raises it: translated by SQLAlchemy's asyncpg adapter, then
        # handled by the connection as any statement's (the same DBAPIError subclass, `handle_error` listeners, and
        # a dropped connection invalidated, which db/engine.py relies on instead of a pre-ping). Inside a greenlet,
        # as SQLAlchemy runs it: invalidating closes the connection. tests/test_pg_step_writes.py holds it to that.
        await connection.run_sync(_raise_as_sqlalchemy, error, sql, tuple(args))
        raise


def _raise_as_sqlalchemy(sync: Any, error: Exception, sql: str, args: tuple[Any, ...]) -> None:
    try:
        sync.connection.dbapi_connection._handle_exception(error)
    except Exception as adapted:
        sync._handle_dbapi_exception(adapted, sql, args, None, None)


# By id(statement): the statement (kept alive, so its id is never reused), its SQL, its parameters' names and
# the values of the ones it binds itself.
_SQL: dict[int, tuple[Any, str, tuple[str, ...], dict[str, Any]]] = {}


async def fetch(
    session: AsyncSession, statement: Any, params: dict[str, Any], *, keep: bool = True, begin: bool = False
) -> list[Any]:
    """Run a prebuilt statement (compiled once per process) on the driver's connection and return its rows.
    Only inside the session's transaction, already begun by an earlier statement or by this one (`begin`); the
    statement still reaches `before_cursor_execute` listeners (the bench and the tests count statements). It skips
    the session's `do_orm_execute` hooks (services/people/directory.py watches people's tables): not for those.
    `keep=False`: a statement built for this call only, run through SQLAlchemy (not worth keeping compiled).
    `begin`: the transaction's first statement (a case's load, the sender's lock, an update's claim) begins it on
    the driver's connection as SQLAlchemy's adapter would at its first statement (the same BEGIN, the same isolation
    level)."""
    connection, raw = await connection_of(session)
    driver = await driver_of(connection, raw, begin=begin and keep)
    if not keep or driver is None or not driver.is_in_transaction():
        result: Any = await session.execute(statement, params)  # a CursorResult: it may return no rows
        return list(result.all()) if result.returns_rows else []
    return await run(connection, driver, *_bound(connection, statement, params))


def _bound(connection: AsyncConnection, statement: Any, params: dict[str, Any]) -> tuple[str, list[Any]]:
    """A prebuilt statement's SQL (compiled once per process) and its arguments in their order."""
    entry = _SQL.get(id(statement))
    if entry is None:
        compiled = statement.compile(dialect=connection.dialect)
        entry = _SQL[id(statement)] = (statement, str(compiled), tuple(compiled.positiontup or ()), compiled.params)
    _statement, sql, names, defaults = entry
    return sql, [params[name] if name in params else defaults[name] for name in names]


async def fetch_on(connection: AsyncConnection, statement: Any, params: dict[str, Any]) -> list[Any]:
    """`fetch` on a PostgreSQL connection rather than a session's: a prebuilt statement (compiled once per process)
    on the driver's connection, its rows as the driver gives them (no result processing). In autocommit
    (`in_autocommit`) the statement is its own transaction; otherwise it runs in the connection's transaction,
    begun on the driver's connection here (as `fetch`'s `begin` does) if no statement has begun it yet. The outbox
    sender's claim and outcome writes; the inbox's webhook INSERT, look behind and timed passes' questions."""
    autocommit = in_autocommit(connection)
    driver = await driver_of(connection, begin=not autocommit and connection.in_transaction())
    if not autocommit and not driver.is_in_transaction():
        raise RuntimeError("fetch_on: the connection is neither in autocommit nor in a transaction")
    return await run(connection, driver, *_bound(connection, statement, params))


_PROCESSORS: dict[tuple[str, str], list[Any]] = {}


def result_processors(table: Table, dialect: Any) -> list[Any]:
    """Each column's result processing for this dialect (None: the driver's value as it is), once per process: what
    SQLAlchemy's result would apply to rows of `table` that `fetch`/`fetch_on` return as the driver gave them."""
    found = _PROCESSORS.get((dialect.name, table.name))
    if found is None:
        found = _PROCESSORS[(dialect.name, table.name)] = [
            column.type._cached_result_processor(dialect, None) for column in table.columns
        ]
    return found


_SELECTED: dict[tuple[int, str], tuple[Any, list[Any]]] = {}


def rows_as_sqlalchemy(statement: Any, dialect: Any, rows: Sequence[Any]) -> list[tuple[Any, ...]]:
    """The driver's rows of a prebuilt statement (`fetch`) as SQLAlchemy's result would give them: each selected
    column through its type's result processing for this dialect (aware UTC datetimes, statuses as their enums),
    as tuples. The processing is looked up once per statement and process, so the statement must be built once.
    For the column types a result processor needs no cursor type for (not Numeric or Float), and for rows as the
    driver gave them (`fetch`'s fallback through SQLAlchemy, for a driver other than asyncpg, processed them
    already: the types used here leave a processed value as it is)."""
    key = (id(statement), dialect.name)
    found = _SELECTED.get(key)
    if found is None:  # the statement kept alive with its processors, so its id is never reused
        found = _SELECTED[key] = (
            statement, [column.type._cached_result_processor(dialect, None) for column in statement.selected_columns]
        )
    processors = found[1]
    if not any(processors):
        return [tuple(row) for row in rows]
    return [
        tuple(value if process is None or value is None else process(value)
              for process, value in zip(processors, row, strict=True))
        for row in rows
    ]  # fmt: skip
