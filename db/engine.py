"""Database engines and sessions; migrations run through Alembic on both SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import weakref
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, func, inspect, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, UOWTransaction
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.util.concurrency import await_only, in_greenlet

from db import sqlite_driver
from db.sessions import StepSession

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_LOCK_TIMEOUT = 30.0  # seconds a transaction waits for its turn, as `busy_timeout` waits for the file lock
SQLITE_CONNECTIONS = 4  # one in a transaction, the next ones ready


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


POOL_RECYCLE = 1800  # seconds: a connection older than this is closed and opened anew when next taken


def make_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    if is_sqlite(url):
        # One writer at a time is SQLite's nature; WAL lets readers go on and busy_timeout waits for the lock.
        def one_hop_connection() -> sqlite_driver.OneHopConnection:
            # The URL's own arguments (the file, URI mode, threads), as the stock aiosqlite dialect computes them.
            args, params = engine.sync_engine.dialect.create_connect_args(engine.sync_engine.url)
            return sqlite_driver.connect(*args, **{**params, "timeout": 30})

        # Every transaction takes the write lock (`WriterTurns`), so more connections add no concurrency, only
        # memory: each is a thread with its own page cache and statements (~3 MB; fifteen, SQLAlchemy's default
        # under load, were 40 MB of the bot's peak RSS). The rest wait their turn for a connection, in order.
        # Each connection runs a statement in one hop to its thread (db.sqlite_driver).
        engine = create_async_engine(
            url, echo=echo, async_creator=one_hop_connection, pool_size=SQLITE_CONNECTIONS, max_overflow=0,
            pool_timeout=SQLITE_LOCK_TIMEOUT,
        )  # fmt: skip

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_connection: object, _record: ConnectionPoolEntry) -> None:
            cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()
            # Take the write lock at BEGIN: a deferred transaction that reads and then writes can fail with
            # SQLITE_BUSY when another writer got in between; IMMEDIATE makes it wait its turn instead.
            dbapi_connection.isolation_level = None  # type: ignore[attr-defined]

        _one_writer_at_a_time(engine)
        return engine
    # No pre-ping: it is a round trip before every checkout (6% of the bot's CPU in the bench). A connection
    # the server dropped fails its first statement instead; SQLAlchemy then invalidates the whole pool, so one
    # update fails after a database restart, not every one. pool_recycle retires connections before
    # firewalls and poolers typically cut idle ones. The pool covers aiogram's concurrent updates plus the
    # outbox sender and the scheduler, so connections are not opened and closed under load.
    # LIFO: the few connections in use stay the warm ones (each prepares every statement it runs once), instead of
    # the load spreading over all twenty and each preparing everything anew.
    return create_async_engine(
        url, echo=echo, pool_size=20, max_overflow=30, pool_pre_ping=False, pool_recycle=POOL_RECYCLE,
        pool_use_lifo=True,
    )


def autocommit(engine: AsyncEngine) -> AsyncEngine | None:
    """PostgreSQL: the engine in autocommit, for work of one statement (a statement is atomic and durable on its
    own: no BEGIN and COMMIT round trips around it). SQLite: None (its transactions take the write lock in turns,
    `WriterTurns`; a statement there goes in a transaction as any other)."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    return None


def single_statements(engine: AsyncEngine) -> AsyncEngine:
    """The engine for work of one statement: in autocommit on PostgreSQL (`autocommit`), on SQLite as it is."""
    return autocommit(engine) or engine


class WriterTurns:
    """SQLite: every transaction begins IMMEDIATE (it takes the write lock at BEGIN: a deferred one that reads and
    then writes can fail with SQLITE_BUSY when another writer got in between), and this process's transactions
    take turns here first, in the order they asked, so they never meet at SQLite's own lock.

    There a waiter polls with sleeps growing to 100 ms (SQLite's busy handler) and is not woken when the lock
    frees, so newcomers keep getting in first: under the bench's load (the inbox, each update, the outbox sender)
    transactions held the lock ~6 ms at a time and waited for it up to seconds. Here the turn passes at once and
    in order. Another process on the same file (a CLI command) still waits through `busy_timeout`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.lock = asyncio.Lock()
        self.waiting = 0  # transactions waiting for their turn
        self.holder: int | None = None  # the driver connection whose transaction has the turn
        sync = engine.sync_engine
        event.listen(sync, "begin", self._begin)
        # No engine event follows COMMIT or ROLLBACK (`commit` and `rollback` come before them), so the dialect's
        # own calls are wrapped: the turn passes once SQLite has let go of its lock. The pool's reset on return goes
        # through `do_rollback` too; a connection closed or invalidated mid-transaction passes it in the pool events.
        dialect = sync.dialect
        do_commit, do_rollback = dialect.do_commit, dialect.do_rollback

        def commit_then_pass(raw: Any) -> None:
            try:
                do_commit(raw)
            finally:
                self._done(raw)

        def rollback_then_pass(raw: Any) -> None:
            try:
                do_rollback(raw)
            finally:
                self._done(raw)

        dialect.do_commit = commit_then_pass  # type: ignore[method-assign,assignment]
        dialect.do_rollback = rollback_then_pass  # type: ignore[method-assign,assignment]
        for name in ("checkin", "invalidate", "close"):
            event.listen(sync.pool, name, lambda raw, *_args: self._done(raw))

    async def _take(self) -> None:
        self.waiting += 1
        try:
            async with asyncio.timeout(SQLITE_LOCK_TIMEOUT):
                await self.lock.acquire()
        except TimeoutError as exc:
            raise sqlite3.OperationalError("database is locked (this process's other transactions)") from exc
        finally:
            self.waiting -= 1

    def _begin(self, connection: Connection) -> None:
        raw = connection.connection.dbapi_connection
        if in_greenlet() and self.holder != id(raw):
            await_only(self._take())
            self.holder = id(raw)
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            self._done(raw)
            raise

    def _done(self, raw: Any) -> None:
        if raw is not None and self.holder == id(getattr(raw, "dbapi_connection", raw)):
            self.holder = None
            self.lock.release()


_TURNS: weakref.WeakKeyDictionary[Engine, WriterTurns] = weakref.WeakKeyDictionary()


def _one_writer_at_a_time(engine: AsyncEngine) -> None:
    _TURNS[engine.sync_engine] = WriterTurns(engine)


def writer_turns(engine: AsyncEngine) -> WriterTurns | None:
    """SQLite: the engine's queue of transactions (`WriterTurns`); None on PostgreSQL."""
    return _TURNS.get(engine.sync_engine)


# Tables a step writes several rows of at once, whose ids the step needs (a card points at its message).
_TOP_NAMES = ("outbox", "task_cards", "tasks")  # `id_tops`'s columns, in its order
_NUMBERED_HERE = frozenset(_TOP_NAMES)
_TOPS = "sqlite_id_tops"  # session.info: (the transaction, {table name: the highest id taken so far})


def id_tops() -> list[Any]:
    """The current highest ids of the tables numbered here, as columns another SQLite query can carry (the
    case's load does, so the step's flush needs no read of its own)."""
    from db.models import Outbox, Task, TaskCard

    return [select(func.max(model.id)).scalar_subquery() for model in (Outbox, TaskCard, Task)]


def remember_id_tops(session: Session, tops: Any) -> None:
    """The maxima read by `id_tops` within this transaction: it holds SQLite's write lock (BEGIN IMMEDIATE),
    so nobody else inserts until it ends; they serve this transaction's flushes only."""
    names = _TOP_NAMES
    session.info[_TOPS] = (session.get_transaction(), {n: top or 0 for n, top in zip(names, tops, strict=True)})


def take_ids(session: Session, counts: dict[str, int]) -> dict[str, int]:
    """SQLite: the highest id in use of each table numbered here (`outbox`, `task_cards`), for a Core INSERT
    that numbers `counts[table]` new rows past it — the maxima remembered in this transaction (`id_tops`, and
    moved on here), else one read of them, then remembered: the ORM's later flushes in this transaction
    number their rows past these too. Flush the session's own pending rows first."""
    known = session.info.get(_TOPS)
    if known is not None and known[0] is session.get_transaction():
        tops = known[1]
    else:
        read = session.connection().execute(select(*id_tops())).one()
        tops = {name: top or 0 for name, top in zip(_TOP_NAMES, read, strict=True)}
        session.info[_TOPS] = (session.get_transaction(), tops)
    taken = dict(tops)
    for name, count in counts.items():
        tops[name] += count
    return taken


def numbering_here(session: Session) -> bool:
    """SQLite: whether this transaction numbers the rows of `take_ids`'s tables itself (their maxima are
    remembered). Then every new row of them takes its id from `take_ids`; otherwise a row may leave its id to
    SQLite (the next `take_ids` reads the maxima afresh)."""
    known = session.info.get(_TOPS)
    return known is not None and known[0] is session.get_transaction()


@event.listens_for(Session, "before_flush")
def _sqlite_ids(session: Session, _context: UOWTransaction, _instances: object) -> None:
    """SQLite cannot return the ids of a multi-row INSERT in a guaranteed order, so the ORM inserts such rows
    one statement each. Its writers are serialised (BEGIN IMMEDIATE holds the write lock), so the ids can be
    taken here instead — from the maxima read with the case (`id_tops`), else from one read of them — and the
    rows go in as one executemany."""
    pending: dict[Any, list[Any]] = {}
    for obj in session.new:
        table = getattr(obj, "__table__", None)
        if table is not None and table.name in _NUMBERED_HERE and getattr(obj, "id", 0) is None:
            pending.setdefault(table, []).append(obj)
    known = session.info.get(_TOPS)
    tops: dict[str, int] | None = known[1] if known is not None and known[0] is session.get_transaction() else None
    if tops is None:
        pending = {table: objs for table, objs in pending.items() if len(objs) > 1}
    if not pending:
        return
    if tops is None:
        connection = session.connection()
        if connection.dialect.name != "sqlite":
            return
        tables = list(pending)
        read = connection.execute(select(*(select(func.max(t.c.id)).scalar_subquery() for t in tables))).one()
        found = {table.name: top or 0 for table, top in zip(tables, read, strict=True)}
    else:
        # Every row of these tables in this transaction is numbered here, so the maxima stay true.
        found = tops
    for table, objs in pending.items():
        # In the order they were added: the outbox delivers a chat's messages in id order.
        for obj in sorted(objs, key=lambda o: inspect(o).insert_order):
            found[table.name] += 1
            obj.id = found[table.name]


def make_sessionmaker(engine: AsyncEngine, info: dict[str, Any] | None = None) -> async_sessionmaker[AsyncSession]:
    """`info`: process-wide objects every session carries (the people directory). Its sessions begin, find their
    connection and close in place when that does no I/O (`db.sessions.StepSession`)."""
    return async_sessionmaker(engine, class_=StepSession, expire_on_commit=False, info=info or {})


def alembic_config(url: str) -> Config:
    # Alembic keeps its options in a configparser, which reads `%` as the start of an interpolation: a password or a
    # Unix socket's path percent-encoded in the URL (`p%40ss`, `host=%2Fvar%2Frun%2Fpostgresql`), or a folder named
    # «100%», would stop every start at the migration. Doubled, it reads back as written.
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _upgrade_sync(connection: Connection, url: str, revision: str, /) -> None:
    config = alembic_config(url)
    config.attributes["connection"] = connection
    before = MigrationContext.configure(connection).get_current_revision()
    command.upgrade(config, revision)
    if is_sqlite(url) and MigrationContext.configure(connection).get_current_revision() != before:
        # The tables rebuilt with foreign keys off must still agree with each other before this commits.
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"migration left rows pointing at nothing: {broken[:10]}")


async def _sqlite_foreign_keys(connection: AsyncConnection, on: bool) -> None:
    """Outside any transaction (SQLite ignores the pragma inside one), on the driver's connection."""
    raw = await connection.get_raw_connection()
    await raw.driver_connection.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")  # type: ignore[union-attr]


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to the newest migration (idempotent; safe for several workers on PostgreSQL)."""
    url = engine.url.render_as_string(hide_password=False)
    sqlite = is_sqlite(url)
    async with engine.connect() as connection:
        if sqlite:
            # Batch mode rebuilds a table to change its constraints: a copy is made and the old table dropped.
            # With foreign keys on, that DROP would first delete every row, cascading to the rows that point
            # at them (a case's tasks, timers, audit). They are off for the migration, checked, and on again.
            await _sqlite_foreign_keys(connection, on=False)
        try:
            async with connection.begin():
                if not sqlite:
                    # Two workers starting together must not both create the tables.
                    await connection.exec_driver_sql("SELECT pg_advisory_xact_lock(727001)")
                await connection.run_sync(_upgrade_sync, url, revision)
        finally:
            if sqlite:
                await _sqlite_foreign_keys(connection, on=True)
    log.info("database schema is up to date")


def sqlite_path_url(path: str | Path) -> str:
    return f"sqlite+aiosqlite:///{Path(path).resolve()}"


__all__ = [
    "POOL_RECYCLE", "asyncio", "autocommit", "is_sqlite", "make_engine", "make_sessionmaker", "migrate",
    "single_statements", "sqlite_path_url",
]
