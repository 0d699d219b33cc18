"""aiosqlite with one thread hop per statement.

aiosqlite runs each call of the sqlite3 connection on the connection's own thread: a statement through
SQLAlchemy is four hops (open a cursor, execute, fetch the rows, close the cursor), each a queue put, a thread
wake-up and a callback back into the event loop. In the bot's profile those hops were most of the CPU an update
cost on SQLite. Here a cursor does all four in one call on the connection's thread and keeps the rows; reading
them afterwards costs no hop. Same sqlite3 connection, same statements, same errors (raised from the thread as
before); only the round trips between the threads are fewer.

A transaction's BEGIN costs no hop of its own either: it is kept and run on the thread just before the next call
there (its first statement), so a failing BEGIN raises from that statement, before it runs, and nothing began; a
transaction that ends before any statement began nothing, so its COMMIT or ROLLBACK costs no hop. The pool's
ROLLBACK when a connection comes back (after every COMMIT) costs none either when SQLite has no transaction open —
as seen on the thread after the last call, with no call in flight.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import aiosqlite


class OneHopCursor:
    """What SQLAlchemy's aiosqlite adapter uses of `aiosqlite.Cursor`, each statement run whole in one hop."""

    arraysize = 1

    def __init__(self, connection: OneHopConnection) -> None:
        self._connection = connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: list[Any] = []

    async def __aenter__(self) -> OneHopCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def _run(self, call: Callable[[sqlite3.Cursor], object]) -> Callable[[], tuple[Any, list[Any], int, int | None]]:
        conn = self._connection

        def whole() -> tuple[Any, list[Any], int, int | None]:
            cursor = conn._conn.cursor()
            try:
                call(cursor)
                description = cursor.description
                rows = cursor.fetchall() if description else []
                return description, rows, cursor.rowcount, cursor.lastrowid
            finally:
                cursor.close()

        return whole

    async def _hop(self, call: Callable[[sqlite3.Cursor], object]) -> OneHopCursor:
        self.description, self._rows, self.rowcount, self.lastrowid = await self._connection._execute(self._run(call))
        return self

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] | None = None) -> OneHopCursor:
        if not parameters and sql.upper() in _BEGINS:
            self._connection.begin_later(sql)
            self.description, self._rows, self.rowcount, self.lastrowid = None, [], -1, None
            return self
        if parameters is None:
            return await self._hop(lambda cursor: cursor.execute(sql))
        return await self._hop(lambda cursor: cursor.execute(sql, parameters))

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any] | dict[str, Any]]) -> OneHopCursor:
        return await self._hop(lambda cursor: cursor.executemany(sql, parameters))

    async def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        size = self.arraysize if size is None else size
        rows, self._rows = self._rows[:size], self._rows[size:]
        return rows

    async def close(self) -> None:
        self._rows = []  # the sqlite3 cursor was closed in the hop that ran the statement


_BEGINS = frozenset({"BEGIN", "BEGIN DEFERRED", "BEGIN IMMEDIATE", "BEGIN EXCLUSIVE"})


class OneHopConnection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors cost no hop of their own (see `OneHopCursor`), whose BEGIN rides with
    the next call, and whose COMMIT or ROLLBACK of no open transaction costs no hop."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._begin: str | None = None  # a BEGIN not yet run: it goes before the next call on the thread
        # Each written by one thread only: calls sent (the event loop's), calls finished and whether SQLite had no
        # transaction open after the last one (the connection's thread).
        self._sent = 0
        self._finished = 0
        self._no_transaction = True

    def begin_later(self, sql: str) -> None:
        self._begin = sql

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        begin, self._begin = self._begin, None
        self._sent += 1

        def call() -> Any:
            try:
                if begin is not None:
                    self._conn.execute(begin).close()
                return fn(*args, **kwargs)
            finally:
                try:
                    self._no_transaction = not self._conn.in_transaction
                except (sqlite3.Error, ValueError):  # closed by this call
                    self._no_transaction = True
                self._finished += 1

        return await super()._execute(call)

    def _nothing_open(self) -> bool:
        """No BEGIN run and no transaction open, nothing in flight: a COMMIT or ROLLBACK now has nothing to end."""
        self._begin = None
        return self._no_transaction and self._finished == self._sent

    async def commit(self) -> None:
        if not self._nothing_open():
            await super().commit()

    async def rollback(self) -> None:
        if not self._nothing_open():
            await super().rollback()

    async def close(self) -> None:
        self._begin = None  # never run: closing ends whatever was open
        await super().close()

    def cursor(self) -> OneHopCursor:  # type: ignore[override]  # awaited by SQLAlchemy's __aenter__ call
        return OneHopCursor(self)


def connect(database: str, **kwargs: Any) -> OneHopConnection:
    """`aiosqlite.connect`, giving a `OneHopConnection` (awaited by SQLAlchemy to open it)."""
    def open_connection() -> sqlite3.Connection:
        connection = sqlite3.connect(database, **kwargs)
        # Temporary storage in memory: statement journals (a multi-row statement's, a case step's savepoint in
        # db/step_writes.py) are temporary files otherwise, opened and deleted every step (measured with the step
        # write of the time, a trigger on a temporary view: a third less of SQLite's CPU in memory).
        connection.execute("PRAGMA temp_store=MEMORY")
        return connection

    connection = OneHopConnection(open_connection, iter_chunk_size=64)
    connection._thread.daemon = True  # as SQLAlchemy does for aiosqlite: a forgotten connection never blocks exit
    return connection
