"""PostgreSQL: the step's updates (the case row, changed tasks, cancelled timers) as statements of one shape each,
built once per process, their values in one JSON parameter (db/recordset.py).

An UPDATE built per step with `update(Model).where(...).values(...)` costs more client CPU to build than the
database spends running it (coercing every column expression, the ORM's key/value pairs, a new cache key); these
are text statements whose SQLAlchemy compilation is cached, so a step only encodes its values. Each returns the
ids it wrote, so it can ride along as a data-modifying CTE of the step's one statement (services/cases/pg_writes.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, Table, Text, bindparam, column, text
from sqlalchemy.ext.asyncio import AsyncSession

from db.driver import run as run_on_driver
from db.step_writes import connection_of
from flows.status import TimerStatus

CASE_ROW = "case_row"
CASE_VERSION = "case_version"
TASK_UPDATES = "task_updates"
CANCEL_TASKS = "cancel_tasks"
CANCEL_CASES = "cancel_cases"

_CASE_UPDATES: dict[tuple[str, ...], Any] = {}
_TASK_UPDATES: dict[str, Any] = {}
_TIMER_CANCELS: list[Any] = []


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def case_update(table: Table, names: tuple[str, ...]) -> Any:
    """UPDATE of these columns of one case row from `:case_row` (a JSON object with its id), only while its version
    is still `:case_version`: a writer that read an older state updates nothing (RETURNING no row)."""
    if names not in _CASE_UPDATES:
        sets = ", ".join(f"{_q(name)} = r.{_q(name)}" for name in names)
        _CASE_UPDATES[names] = (
            text(
                f"UPDATE {_q(table.name)} SET {sets} "
                f"FROM json_populate_record(NULL::{_q(table.name)}, CAST(:{CASE_ROW} AS json)) AS r "
                f"WHERE {_q(table.name)}.id = r.id AND {_q(table.name)}.version = :{CASE_VERSION} "
                f"RETURNING {_q(table.name)}.id"
            )
            .bindparams(bindparam(CASE_ROW, type_=Text()), bindparam(CASE_VERSION, type_=Integer()))
            .columns(column("id", Integer()))
        )
    return _CASE_UPDATES[names]


def task_updates(table: Table) -> Any:
    """UPDATE of task rows from `:task_updates` (a JSON array of objects, each its id and only the columns that
    changed): a column the object does not name keeps its value."""
    if table.name not in _TASK_UPDATES:
        t = _q(table.name)
        sets = ", ".join(
            f"{_q(c.name)} = CASE WHEN (u.v -> '{c.name}') IS NOT NULL THEN r.{_q(c.name)} ELSE {t}.{_q(c.name)} END"
            for c in table.columns
            if not c.primary_key
        )
        _TASK_UPDATES[table.name] = (
            text(
                f"UPDATE {t} SET {sets} "
                f"FROM jsonb_array_elements(CAST(:{TASK_UPDATES} AS jsonb)) AS u(v) "
                f"CROSS JOIN LATERAL jsonb_populate_record(NULL::{t}, u.v) AS r "
                f"WHERE {t}.id = r.id RETURNING {t}.id"
            )
            .bindparams(bindparam(TASK_UPDATES, type_=Text()))
            .columns(column("id", Integer()))
        )
    return _TASK_UPDATES[table.name]


def timer_cancels() -> Any:
    """Pending timers of the tasks in `:cancel_tasks` (a JSON array of ids) and of the (case, kind) pairs in
    `:cancel_cases` (a JSON array of objects) become cancelled."""
    if not _TIMER_CANCELS:
        pending, cancelled = TimerStatus.PENDING.value, TimerStatus.CANCELLED.value
        _TIMER_CANCELS.append(
            text(
                f"UPDATE timers SET status = '{cancelled}' WHERE timers.status = '{pending}' AND ("
                f"timers.task_id IN (SELECT CAST(x AS integer) FROM json_array_elements_text("
                f"CAST(:{CANCEL_TASKS} AS json)) AS x) "
                f"OR EXISTS (SELECT 1 FROM json_to_recordset(CAST(:{CANCEL_CASES} AS json)) "
                "AS c(case_id integer, kind text) WHERE timers.case_id = c.case_id AND timers.kind = c.kind)) "
                "RETURNING timers.id"
            )
            .bindparams(bindparam(CANCEL_TASKS, type_=Text()), bindparam(CANCEL_CASES, type_=Text()))
            .columns(column("id", Integer()))
        )
    return _TIMER_CANCELS[0]


# By id(statement): the statement (kept alive, so its id is never reused), its SQL, its parameters' names and
# the values of the ones it binds itself.
_SQL: dict[int, tuple[Any, str, tuple[str, ...], dict[str, Any]]] = {}


async def fetch(
    session: AsyncSession, statement: Any, params: dict[str, Any], *, keep: bool = True, begin: bool = False
) -> list[Any]:
    """Run one of the step's prebuilt statements on the driver's connection (asyncpg keeps it prepared) and
    return its rows: SQLAlchemy's execution path (execution context, cursor adapter, result) costs more client
    CPU than the statement's round trip. Only inside the step's transaction, already begun by its read; the
    statement still reaches `before_cursor_execute` listeners (the bench and the tests count statements). It skips
    the session's `do_orm_execute` hooks (services/people/directory.py watches people's tables): the case's tables only.
    `keep=False`: a statement built for this call only, run through SQLAlchemy (not worth keeping compiled).
    `begin`: the transaction's first statement (the case's load) begins it on the driver's connection as
    SQLAlchemy's adapter would at its first statement (the same BEGIN, the same isolation level)."""
    connection, raw = await connection_of(session)
    driver = raw.driver_connection
    if begin and keep and driver is not None and not driver.is_in_transaction():
        adapted: Any = connection.sync_connection.connection.dbapi_connection
        if getattr(adapted, "_transaction", False) is None:  # SQLAlchemy's asyncpg adapter, no transaction yet
            await adapted._start_transaction()
    if not keep or driver is None or not driver.is_in_transaction():
        result: Any = await session.execute(statement, params)  # a CursorResult: it may return no rows
        return list(result.all()) if result.returns_rows else []
    entry = _SQL.get(id(statement))
    if entry is None:
        compiled = statement.compile(dialect=connection.dialect)
        entry = _SQL[id(statement)] = (statement, str(compiled), tuple(compiled.positiontup or ()), compiled.params)
    _statement, sql, names, defaults = entry
    args = [params[name] if name in params else defaults[name] for name in names]
    return await run_on_driver(connection, driver, sql, args)
