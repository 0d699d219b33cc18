"""SQLite: a step's rows written by one statement.

PostgreSQL writes a step's rows (the case, its tasks, timers, audit, outbox, cards) as data-modifying CTEs of one
statement (services/cases/pg_writes.py). SQLite has no such CTEs, and every statement sent from Python pays the
driver's hop to its thread and SQLAlchemy's execution — about as much as the write itself. So on SQLite the
step's rows go as one JSON document into a temporary view, and a trigger on it writes them where they belong,
inside SQLite, in the order the foreign keys need: the case (its version checked first: a writer that read an
older state is refused), task updates, new tasks, cancelled timers, audit entries, new timers, messages, cards.

The view and its trigger are temporary objects of the connection, created on its first step from the models'
columns (so never out of step with the schema) — not part of the schema, so migrations neither see nor rebuild
them. Values arrive already converted by each column's own type (what SQLAlchemy would bind), so a date, a JSON
column or a boolean is stored exactly as an ORM or Core write stores it.

The document (every section optional):

    {"case": {"id": …, "version": <the version read>, "values": {column: value, …}},
     "task_updates": [{"id": …, column: value, …}, …],       # only the columns that changed
     "tasks": [{column: value, …}, …],                        # ids included (numbered by the step)
     "cancel_task_timers": [task_id, …],                      # pending timers of these tasks
     "cancel_case_timers": [{"case_id": …, "kind": …}, …],    # pending timers of a case of one kind
     "audit": […], "timers": […], "outbox": […], "task_cards": […]}
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from db.recordset import dumps
from flows.status import TimerStatus

TABLE = "konveyer_step_writes"
STALE = "konveyer: stale case"  # the trigger's refusal when the case's version moved on since it was read
_READY = "konveyer_step_writes_ready"  # the pool record's info: this connection has the table and the trigger
_DIALECT = sqlite.dialect()
_PROCESSORS: dict[str, dict[str, Callable[[Any], Any] | None]] = {}  # by table, by column
_DEFAULTS: dict[str, list[tuple[str, Any]]] = {}
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


def _path(name: str, prefix: str = "$") -> str:
    return f"'{prefix}.\"{name}\"'"


def _insert(table: Table, section: str) -> str:
    names = [column.name for column in table.columns]
    values = ", ".join(f"value ->> {_path(name)}" for name in names)
    return (
        f"INSERT INTO {_quote(table.name)} ({', '.join(_quote(n) for n in names)}) "
        f"SELECT {values} FROM json_each(NEW.doc, '$.{section}');"
    )


def _set(table: Table, source: str, prefix: str) -> str:
    """Each column to the document's value when the document names it, else left as it is."""
    parts = []
    for column in table.columns:
        if column.primary_key:
            continue
        name, path = _quote(column.name), _path(column.name, prefix)
        parts.append(f"{name} = CASE WHEN json_type({source}, {path}) IS NULL THEN {name} ELSE {source} ->> {path} END")
    return ", ".join(parts)


def trigger_sql(tables: dict[str, Table]) -> list[str]:
    cases, tasks, timers = tables["cases"], tables["tasks"], tables["timers"]
    pending, cancelled = TimerStatus.PENDING.value, TimerStatus.CANCELLED.value
    body = [
        f"SELECT RAISE(ABORT, '{STALE}') WHERE json_type(NEW.doc, '$.case') IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM cases WHERE id = NEW.doc ->> '$.case.id' AND version = NEW.doc ->> '$.case.version');",
        f"UPDATE cases SET {_set(cases, 'NEW.doc', '$.case.values')} "
        "WHERE json_type(NEW.doc, '$.case') IS NOT NULL AND id = NEW.doc ->> '$.case.id';",
        f"UPDATE tasks SET {_set(tasks, 'u.value', '$')} "
        "FROM (SELECT value FROM json_each(NEW.doc, '$.task_updates')) AS u WHERE tasks.id = u.value ->> '$.id';",
        _insert(tasks, "tasks"),
        f"UPDATE timers SET status = '{cancelled}' WHERE status = '{pending}' "
        "AND task_id IN (SELECT value FROM json_each(NEW.doc, '$.cancel_task_timers'));",
        f"UPDATE timers SET status = '{cancelled}' WHERE status = '{pending}' AND EXISTS "
        "(SELECT 1 FROM json_each(NEW.doc, '$.cancel_case_timers') AS c "
        "WHERE timers.case_id = c.value ->> '$.case_id' AND timers.kind = c.value ->> '$.kind');",
        _insert(tables["audit"], "audit"),
        _insert(timers, "timers"),
        _insert(tables["outbox"], "outbox"),
        _insert(tables["task_cards"], "task_cards"),
    ]
    # A view, its insert done by the trigger instead: no row stored and deleted again (a temporary table's were,
    # ~9% of the write's CPU inside SQLite).
    return [
        f"CREATE TEMP VIEW IF NOT EXISTS {TABLE} (doc) AS SELECT NULL",
        f"CREATE TEMP TRIGGER IF NOT EXISTS {TABLE}_apply INSTEAD OF INSERT ON {TABLE} BEGIN\n" + "\n".join(body)
        + "\nEND",
    ]


def step_tables() -> dict[str, Table]:
    """The tables the trigger writes, by their sections' names: every writer of a step document passes these (the
    trigger is made once per connection, by whichever writer comes first)."""
    from db.models import AuditEntry, Case, Outbox, Task, TaskCard, Timer

    models = {"cases": Case, "tasks": Task, "timers": Timer, "audit": AuditEntry, "outbox": Outbox,
              "task_cards": TaskCard}  # fmt: skip
    return {name: model.__table__ for name, model in models.items()}  # type: ignore[misc]


def new_row(table: Table, values: dict[str, Any]) -> dict[str, Any]:
    """A row to insert: the columns it leaves out take their scalar defaults, as a Core INSERT gives them (the
    trigger names every column, so a missing one would otherwise be NULL)."""
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
    found = _PROCESSORS.get(table.name)
    if found is None:
        found = _PROCESSORS[table.name] = {
            column.name: column.type.dialect_impl(_DIALECT).bind_processor(_DIALECT) for column in table.columns
        }
    return found


def _defaults(table: Table) -> list[tuple[str, Any]]:
    """The columns with a scalar Python default, and it (a computed one must be given)."""
    found = _DEFAULTS.get(table.name)
    if found is None:
        found = [
            (column.name, column.default.arg if column.default.is_scalar else _COMPUTED)  # type: ignore[attr-defined]
            for column in table.columns
            if column.default is not None
        ]
        _DEFAULTS[table.name] = found
    return found


async def write(session: AsyncSession, doc: dict[str, Any], tables: dict[str, Table]) -> None:
    """One INSERT of the document; raises StaleCase when the case was changed since it was read."""
    connection, raw = await connection_of(session)
    if not raw.info.get(_READY):
        await _install(connection, tables)
        raw.info[_READY] = True
    document = (dumps(doc),)
    try:
        try:
            await _write_document(connection, raw.driver_connection, document)
        except sqlite3.OperationalError as error:
            # The pool record outlived its connection's temporary objects (a reconnect keeps the record's info):
            # made again, and the step written.
            if f"no such table: {TABLE}" not in str(error):
                raise DBAPIError.instance(_INSERT, document, error, sqlite3.Error) from error
            await _install(connection, tables)
            await _write_document(connection, raw.driver_connection, document)
    except sqlite3.Error as error:
        if isinstance(error, sqlite3.IntegrityError) and STALE in str(error):
            raise StaleCase(str(doc.get("case", {}).get("id"))) from None
        raise DBAPIError.instance(_INSERT, document, error, sqlite3.Error) from error


def write_sync(connection: Any, doc: dict[str, Any], tables: dict[str, Table]) -> None:
    """`write` on a synchronous SQLAlchemy connection (a flush's hook, inside SQLAlchemy's greenlet), through its
    ordinary execution; a document without the case (no version to check)."""
    raw = connection.connection  # the pool's record of the connection (its info says whether the trigger is made)
    document = (dumps(doc),)
    if raw.info.get(_READY):
        try:
            connection.exec_driver_sql(_INSERT, document)
            return
        except DBAPIError as error:
            # The pool record outlived its connection's temporary objects (a reconnect keeps the record's info);
            # SQLite's failed statement leaves the transaction as it was.
            if f"no such table: {TABLE}" not in str(error):
                raise
    for statement in trigger_sql(tables):
        connection.exec_driver_sql(statement)
    raw.info[_READY] = True
    connection.exec_driver_sql(_INSERT, document)


_INSERT = f"INSERT INTO {TABLE} (doc) VALUES (?)"
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


async def _write_document(connection: Any, driver: Any, document: tuple[str]) -> None:
    """The document straight to the driver's connection (in the transaction SQLAlchemy began on it): one hop to
    its thread, where SQLAlchemy's execution makes two (a cursor, then the statement) and costs more CPU than
    the write; listeners still see the statement (the bench and the tests count statements)."""
    sync = connection.sync_connection
    if sync is not None and (sync._has_events or sync.engine._has_events):
        sync.dispatch.before_cursor_execute(sync, None, _INSERT, document, None, False)
    await driver.execute_fetchall(_INSERT, document)


async def _install(connection: Any, tables: dict[str, Table]) -> None:
    for statement in trigger_sql(tables):
        await connection.exec_driver_sql(statement)
