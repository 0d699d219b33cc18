"""SQLite: a step's rows written in one call on the connection's thread.

PostgreSQL writes a step's rows (the case, its tasks, timers, audit, outbox, cards) as data-modifying CTEs of one
statement (services/cases/pg_writes.py). SQLite has no such CTEs, and every statement sent from Python pays the
driver's hop to its thread and SQLAlchemy's execution — about as much as the write itself. So on SQLite the step's
rows go to the connection's thread in one call (`aiosqlite.Connection._execute`, one hop), which runs plain
prepared statements there in the order the foreign keys need — the case (its version checked first: a writer that
read an older state is refused), task updates, new tasks, cancelled timers, audit entries, new timers, messages,
cards — each table's rows by one `executemany` of one statement. (Until 2026-12-02 the rows went as one JSON document
into a temporary view whose INSTEAD OF trigger fanned them out: SQLite's JSON parsing of it cost more than the
statements; see `git log` of this file for the A/B.)

The statements name every column of a new row (a column the row leaves out is NULL, its scalar default filled by
`new_row`), and a task update only the columns it changes; their SQL is built once per process per shape. Values
arrive already converted by each column's own type (what SQLAlchemy would bind), so a date, a JSON column or a
boolean is stored exactly as an ORM or Core write stores it. A step's statements are one unit, as one statement
is: when one fails, a savepoint takes back what the earlier ones wrote, and the transaction goes on as it was.
Listeners see one statement per call (its SQL the statements' joined): the bench counts round trips. A call may
begin with reads the rows depend on (`write`'s `prepare`, run on the thread in the same transaction: a form's answer
claims its first message there, `services/outbox_answer.py`).

The step's rows (every section optional), as the writers (`services/cases/sqlite_writes.py`,
`services/outbox_answer.py`) hand them over:

    {"case": {"id": …, "version": <the version read>, "values": {column: value, …}},
     "task_updates": [{"id": …, column: value, …}, …],       # only the columns that changed
     "tasks": [{column: value, …}, …],                        # ids included (numbered by the step)
     "cancel_task_timers": [task_id, …],                      # pending timers of these tasks
     "cancel_case_timers": [{"case_id": …, "kind": …}, …],    # pending timers of a case of one kind
     "audit": […], "timers": […], "outbox": […], "task_cards": […],
     "user_updates": [{"id": …, column: value, …}, …]}       # a person's form pointer (an answer's)
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from typing import Any, NoReturn

from sqlalchemy import Table
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.util import await_only

from flows.status import TimerStatus

_DIALECT = sqlite.dialect()
_PROCESSORS: dict[Table, dict[str, Callable[[Any], Any] | None]] = {}  # by table, by column
_DEFAULTS: dict[Table, list[tuple[str, Any]]] = {}
_COMPUTED = object()


class StaleCase(Exception):
    pass


_CONNECTION = "konveyer_step_connection"  # the session's info: its transaction, and that transaction's connection


async def connection_of(session: AsyncSession) -> tuple[Any, Any]:
    """The session's connection in its current transaction and the pool's record of it (whose
    `driver_connection` is the driver's), as `await session.connection()` and `get_raw_connection()` give them —
    each a hop through SQLAlchemy's greenlet (~25 µs of CPU); a step asks two or three times, so they are kept in
    the session's info for as long as its transaction lasts (a new transaction, or an invalidated connection,
    looks them up again)."""
    transaction = session.sync_session.get_transaction()
    found = session.info.get(_CONNECTION)
    if found is not None and transaction is not None and found[0] is transaction and not found[1].invalidated:
        return found[1], found[2]
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    session.info[_CONNECTION] = (session.sync_session.get_transaction(), connection, raw)
    return connection, raw


def _quote(name: str) -> str:
    return _DIALECT.identifier_preparer.quote(name)


def step_tables() -> dict[str, Table]:
    """The tables a step writes, by their sections' names: every writer of a step document passes these."""
    from db.models import AuditEntry, Case, Outbox, Task, TaskCard, Timer, User

    models = {"cases": Case, "tasks": Task, "timers": Timer, "audit": AuditEntry, "outbox": Outbox,
              "task_cards": TaskCard, "users": User}  # fmt: skip
    return {name: model.__table__ for name, model in models.items()}  # type: ignore[misc]


def new_row(table: Table, values: dict[str, Any]) -> dict[str, Any]:
    """A row to insert: the columns it leaves out take their scalar defaults, as a Core INSERT gives them (the
    step's INSERTs name every column, so a missing one would otherwise be NULL)."""
    filled = dict(values)
    for name, default in _defaults(table):
        if name not in filled:
            if default is _COMPUTED:
                raise ValueError(f"{table.name}.{name}: a computed default; give the value")
            filled[name] = default
    return row(table, filled)


def row(table: Table, values: dict[str, Any]) -> dict[str, Any]:
    """A row's values as the column types bind them for SQLite (dates as text, JSON serialised, booleans 0/1)."""
    processors = _processors(table)
    return {name: value if (bind := processors[name]) is None else bind(value) for name, value in values.items()}


def _processors(table: Table) -> dict[str, Callable[[Any], Any] | None]:
    """Each column's bind processor for SQLite, looked up once per process."""
    found = _PROCESSORS.get(table)
    if found is None:
        found = _PROCESSORS[table] = {
            column.name: column.type.dialect_impl(_DIALECT).bind_processor(_DIALECT) for column in table.columns
        }
    return found


def _defaults(table: Table) -> list[tuple[str, Any]]:
    """The columns with a scalar Python default, and it (a computed one must be given)."""
    found = _DEFAULTS.get(table)
    if found is None:
        found = [
            (column.name, column.default.arg if column.default.is_scalar else _COMPUTED)  # type: ignore[attr-defined]
            for column in table.columns
            if column.default is not None
        ]
        _DEFAULTS[table] = found
    return found


# The statements' SQL by their shape (table, the columns named), built once per process.
_SQL: dict[tuple[str, Table, tuple[str, ...]], str] = {}  # by the table itself, not its name (a test's own)


def _sql(kind: str, table: Table, names: tuple[str, ...]) -> str:
    key = (kind, table, names)
    found = _SQL.get(key)
    if found is None:
        t = _quote(table.name)
        if kind == "insert":
            found = f"INSERT INTO {t} ({', '.join(map(_quote, names))}) VALUES ({', '.join('?' * len(names))})"
        elif kind == "update":  # the columns in `names`, the row by its id
            found = f"UPDATE {t} SET {', '.join(f'{_quote(n)} = ?' for n in names)} WHERE id = ?"
        elif kind == "case":  # the case's columns, only if its version is still the one read
            sets = ", ".join(f"{_quote(n)} = ?" for n in names)
            found = f"UPDATE {t} SET {sets} WHERE id = ? AND version = ?" if names else \
                f"SELECT 1 FROM {t} WHERE id = ? AND version = ?"  # fmt: skip
        else:  # pending timers cancelled, of a task or of a case and kind
            cancelled, pending = TimerStatus.CANCELLED.value, TimerStatus.PENDING.value
            found = f"UPDATE {t} SET status = '{cancelled}' WHERE status = '{pending}' AND " + \
                " AND ".join(f"{_quote(n)} = ?" for n in names)  # fmt: skip
        _SQL[key] = found
    return found


_Statement = tuple[str, Any, bool]  # SQL, its parameters (a list of rows when executed many), executed many


def plan(doc: dict[str, Any], tables: dict[str, Table]) -> tuple[_Statement | None, list[_Statement]]:
    """The step's rows as statements: the case's (None without one; refused unless it finds the case at the
    version read), then the rest in the order the foreign keys need, each table's rows one `executemany`."""
    check: _Statement | None = None
    case = doc.get("case")
    if case is not None:
        values = case["values"]
        names = tuple(name for name in values if name != "id")
        check = (_sql("case", tables["cases"], names), (*(values[n] for n in names), case["id"], case["version"]),
                 False)  # fmt: skip
    statements: list[_Statement] = []
    _updates(statements, doc, tables, "task_updates", "tasks")
    _inserts(statements, doc, tables, "tasks")
    cancelled = doc.get("cancel_task_timers")
    if cancelled:
        statements.append((_sql("cancel", tables["timers"], ("task_id",)), [(task,) for task in cancelled], True))
    cancelled = doc.get("cancel_case_timers")
    if cancelled:
        statements.append((_sql("cancel", tables["timers"], ("case_id", "kind")),
                           [(c["case_id"], c["kind"]) for c in cancelled], True))  # fmt: skip
    for section in ("audit", "timers", "outbox", "task_cards"):
        _inserts(statements, doc, tables, section)
    _updates(statements, doc, tables, "user_updates", "users")
    return check, statements


def _updates(statements: list[_Statement], doc: dict[str, Any], tables: dict[str, Table], section: str,
             table: str) -> None:
    """A section of row updates: one `executemany` per shape (the columns each row changes)."""
    updates = doc.get(section)
    if updates:
        shapes: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        for values in updates:
            names = tuple(name for name in values if name != "id")
            shapes.setdefault(names, []).append((*(values[n] for n in names), values["id"]))
        for names, rows in shapes.items():
            statements.append((_sql("update", tables[table], names), rows, True))


def _inserts(statements: list[_Statement], doc: dict[str, Any], tables: dict[str, Table], section: str) -> None:
    rows = doc.get(section)
    if rows:
        table = tables[section]
        names = _names(table)
        statements.append((_sql("insert", table, names), [tuple(map(r.get, names)) for r in rows], True))


_NAMES: dict[Table, tuple[str, ...]] = {}


def _names(table: Table) -> tuple[str, ...]:
    found = _NAMES.get(table)
    if found is None:
        found = _NAMES[table] = tuple(column.name for column in table.columns)
    return found


_BEGIN_STEP: _Statement = ("SAVEPOINT konveyer_step", (), False)
_END_STEP: _Statement = ("RELEASE konveyer_step", (), False)
_UNDO_STEP = "ROLLBACK TO konveyer_step"  # the savepoint stays open after it, till released


class _Failed(Exception):
    """A statement of the step failed on the thread: which one, and SQLite's error."""

    def __init__(self, statement: _Statement, error: sqlite3.Error) -> None:
        super().__init__(str(error))
        self.statement, self.error = statement, error


def _apply(check: _Statement | None, statements: list[_Statement]) -> Callable[[sqlite3.Connection], bool]:
    """The step's statements run on the connection's thread; False when the case's version moved on (nothing
    written). More than one statement under a savepoint: a failing one takes back those before it, the case's
    included, as one statement's failure would (the transaction goes on as it was before the step)."""
    every = [check, *statements] if check is not None else statements
    # executemany runs each row as a statement of its own: one statement of several rows needs the savepoint too.
    guarded = len(every) > 1 or any(many and len(params) > 1 for _sql, params, many in every)

    def run(connection: sqlite3.Connection) -> bool:
        cursor = connection.cursor()
        current: _Statement | None = None
        try:
            if guarded:
                current = _BEGIN_STEP
                cursor.execute(_BEGIN_STEP[0])
            try:
                for current in every:
                    if current is check:
                        cursor.execute(current[0], current[1])
                        if (cursor.rowcount if current[0][0] == "U" else len(cursor.fetchall())) != 1:
                            break  # the version moved on: nothing was written
                    else:
                        cursor.executemany(current[0], current[1])
                else:
                    current = None
            except BaseException:
                # SQLite may have rolled the whole transaction back itself (RAISE(ROLLBACK), a full disk, an I/O
                # error): no savepoint is left to go back to, and the caller must see the statement's own error.
                if guarded and connection.in_transaction:
                    cursor.execute(_UNDO_STEP)
                    cursor.execute(_END_STEP[0])
                raise
            written = current is None
            if guarded:
                current = _END_STEP
                cursor.execute(_END_STEP[0])
            return written
        except sqlite3.Error as error:
            if current is None:
                raise
            raise _Failed(current, error) from error
        finally:
            cursor.close()

    return run


def _seen(sync: Any, check: _Statement | None, statements: list[_Statement]) -> None:
    """Listeners told of the call: one statement, the step's SQL joined (the bench and the tests count them)."""
    if sync is not None and (sync._has_events or sync.engine._has_events):
        every = ([check] if check is not None else []) + statements
        sql = ";\n".join(s[0] for s in every)
        sync.dispatch.before_cursor_execute(sync, None, sql, [s[1] for s in every], None, False)


def _raise(failed: _Failed) -> NoReturn:
    sql, params, _many = failed.statement
    raise DBAPIError.instance(sql, params, failed.error, sqlite3.Error) from failed.error


# What a document's `prepare` ran on the thread before its rows: each read's SQL and parameters.
Prepared = list[tuple[str, tuple[Any, ...]]]


async def write(
    session: AsyncSession, doc: dict[str, Any], tables: dict[str, Table],
    prepare: Callable[[sqlite3.Cursor], Prepared] | None = None,
) -> None:
    """The step's rows in one call on the connection's thread; raises StaleCase when the case was changed since
    it was read (and writes nothing). `prepare`: reads the rows depend on, run first in the same call (the same hop,
    the same transaction), which complete the document in place (a form's answer numbers its messages and claims its
    first one there, `services/outbox_answer.py`); listeners see them as part of the call, told after it."""
    connection, raw = await connection_of(session)
    driver = raw.driver_connection
    if driver is None:
        raise RuntimeError("the connection has no driver connection")
    planned: list[tuple[_Statement | None, list[_Statement]]] = []
    reads: Prepared = []
    if prepare is None:
        check, statements = plan(doc, tables)
        if check is None and not statements:
            return
        _seen(connection.sync_connection, check, statements)
        run = _apply(check, statements)
    else:
        def run(thread_connection: sqlite3.Connection) -> bool:
            cursor = thread_connection.cursor()
            try:
                reads.extend(prepare(cursor))
            except sqlite3.Error as error:  # a read of `prepare`'s (nothing written yet)
                raise _Failed(("-- the document's reads", (), False), error) from error
            finally:
                cursor.close()
            planned.append(plan(doc, tables))
            check, statements = planned[0]
            return _apply(check, statements)(thread_connection) if check is not None or statements else True

    def tell() -> None:
        """Listeners told of the call, the reads after the writes (it is counted by its first statement's verb, the
        document's); told also when the call failed after `prepare`'s reads."""
        if prepare is None:
            return
        check, statements = planned[0] if planned else (None, [])
        every = statements + [(sql, params, False) for sql, params in reads]
        if check is not None or every:
            _seen(connection.sync_connection, check, every)

    try:
        try:
            written = await driver._execute(run, driver._conn)
        except BaseException:
            with contextlib.suppress(Exception):  # the call's own error is the one to raise, never a listener's
                tell()
            raise
    except _Failed as failed:
        _raise(failed)
    except sqlite3.Error as error:  # before the step's statements: the transaction's deferred BEGIN, on the thread
        raise DBAPIError.instance("BEGIN", (), error, sqlite3.Error) from error
    tell()
    if not written:
        raise StaleCase(str(doc["case"]["id"]))


def write_sync(connection: Any, doc: dict[str, Any], tables: dict[str, Table]) -> None:
    """`write` on a synchronous SQLAlchemy connection (a flush's hook, inside SQLAlchemy's greenlet): the same one
    call on the thread, awaited as SQLAlchemy's adapter awaits the driver; a document without the case."""
    check, statements = plan(doc, tables)
    if check is not None:
        raise ValueError("a case's row is written by `write`, which checks its version")
    if not statements:
        return
    _seen(connection, None, statements)
    driver = connection.connection.driver_connection
    try:
        await_only(driver._execute(_apply(None, statements), driver._conn))
    except _Failed as failed:
        _raise(failed)
    except sqlite3.Error as error:  # the transaction's deferred BEGIN, as in `write`
        raise DBAPIError.instance("BEGIN", (), error, sqlite3.Error) from error


# By id(statement): the statement (kept alive, so its id is never reused), its SQL, its parameters' names, the
# values of the ones it binds itself, and each parameter's bind processing.
_READS: dict[int, tuple[Any, str, tuple[str, ...], dict[str, Any], dict[str, Any]]] = {}


async def fetch(session: AsyncSession, statement: Any, params: dict[str, Any]) -> list[Any]:
    """One of the step's prebuilt reads (the case's load) straight to the driver's connection, in the transaction
    SQLAlchemy began on it (BEGIN IMMEDIATE, at `session.connection()`): one hop to its thread, without
    SQLAlchemy's execution path. The rows as SQLite gives them (the caller applies the columns' result processing);
    listeners still see the statement."""
    connection, raw = await connection_of(session)
    entry = _READS.get(id(statement))
    if entry is None:
        compiled = statement.compile(dialect=connection.dialect)
        entry = _READS[id(statement)] = (statement, str(compiled), tuple(compiled.positiontup or ()), compiled.params,
                                         dict(compiled._bind_processors))  # fmt: skip
    _statement, sql, names, defaults, binds = entry
    args = []
    for name in names:
        value = params[name] if name in params else defaults[name]
        args.append(value if (bind := binds.get(name)) is None else bind(value))
    sync = connection.sync_connection
    if sync is not None and (sync._has_events or sync.engine._has_events):
        sync.dispatch.before_cursor_execute(sync, None, sql, tuple(args), None, False)
    driver = raw.driver_connection
    if driver is None:
        raise RuntimeError("the connection has no driver connection")
    try:
        return list(await driver.execute_fetchall(sql, args))
    except sqlite3.Error as error:
        raise DBAPIError.instance(sql, args, error, sqlite3.Error) from error
