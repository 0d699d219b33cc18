"""PostgreSQL: one statement of SQL written for asyncpg, run on the driver's own connection under a SQLAlchemy
connection — for the hot paths where SQLAlchemy's execution path (execution context, cursor adapter, result) costs
more client CPU than the statement's round trip (asyncpg keeps each statement prepared per connection).

What SQLAlchemy would do around the statement is kept: the `before_cursor_execute` listeners are told (the bench
and the tests count statements), and an error is raised as `connection.execute` raises it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection


def in_autocommit(connection: AsyncConnection) -> bool:
    """A PostgreSQL connection of `db.engine.autocommit`: each statement its own transaction, none to begin."""
    return (
        connection.dialect.name == "postgresql"
        and connection.sync_connection is not None
        and connection.sync_connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
    )


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


async def fetch(connection: AsyncConnection, sql: str, *args: Any) -> list[Any]:
    """`run` on an autocommit connection (`in_autocommit`): the statement is its own transaction."""
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    return await run(connection, driver, sql, args)
