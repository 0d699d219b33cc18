"""aiosqlite with one thread hop per statement.

aiosqlite runs each call of the sqlite3 connection on the connection's own thread: a statement through
SQLAlchemy is four hops (open a cursor, execute, fetch the rows, close the cursor), each a queue put, a thread
wake-up and a callback back into the event loop. In the bot's profile those hops were most of the CPU an update
cost on SQLite. Here a cursor does all four in one call on the connection's thread and keeps the rows; reading
them afterwards costs no hop. Same sqlite3 connection, same statements, same errors (raised from the thread as
before); only the round trips between the threads are fewer.
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


class OneHopConnection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors cost no hop of their own (see `OneHopCursor`)."""

    def cursor(self) -> OneHopCursor:  # type: ignore[override]  # awaited by SQLAlchemy's __aenter__ call
        return OneHopCursor(self)


def connect(database: str, **kwargs: Any) -> OneHopConnection:
    """`aiosqlite.connect`, giving a `OneHopConnection` (awaited by SQLAlchemy to open it)."""
    def open_connection() -> sqlite3.Connection:
        connection = sqlite3.connect(database, **kwargs)
        # Temporary storage in memory: a case step's write (db/step_writes.py, a trigger on a temporary view) costs a
        # third less of SQLite's CPU than with a temporary file, which its statements opened and deleted every step.
        connection.execute("PRAGMA temp_store=MEMORY")
        return connection

    connection = OneHopConnection(open_connection, iter_chunk_size=64)
    connection._thread.daemon = True  # as SQLAlchemy does for aiosqlite: a forgotten connection never blocks exit
    return connection
