"""What both databases' step writes share (`pg_writes`, `sqlite_writes`): the tables a step writes, the step's
rows waiting to be written as `CaseStore` holds them, and the timers it cancels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, Text, and_, bindparam, insert, literal_column, or_, text, true, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from db import step_writes
from db.models import AuditEntry, Case, Outbox, Task, TaskCard, Timer
from flows.status import TimerStatus, transition

TASKS: Table = Task.__table__  # type: ignore[assignment]
OUTBOX: Table = Outbox.__table__  # type: ignore[assignment]
CARDS: Table = TaskCard.__table__  # type: ignore[assignment]
CASES: Table = Case.__table__  # type: ignore[assignment]
AUDIT: Table = AuditEntry.__table__  # type: ignore[assignment]
TIMERS: Table = Timer.__table__  # type: ignore[assignment]

OUTBOX_COLUMNS = [(column.key, column) for column in OUTBOX.columns if column.key != "id"]

STEP_TABLES = step_writes.step_tables()  # every section a step document may hold, the answer's `user_updates` too

PENDING_TASKS = "konveyer.cases.pending_tasks"  # session.info: the CaseStore whose step's task rows wait


class StepRows:
    """The step's rows not yet written, as `CaseStore` holds them (its constructor sets them up and says what
    each is); `PgWrites` and `SqliteWrites` write them."""

    session: AsyncSession
    sqlite: bool
    _case_values: tuple[int, int, dict[str, Any]] | None
    _audit: list[dict[str, Any]]
    _timers: list[dict[str, Any]]
    _cancel_keys: list[tuple[int | None, int | None, str | None]]
    _outbox: list[Outbox]
    _cards: list[tuple[int | None, int, int | None, Outbox | None]]
    _new_tasks: dict[int, dict[str, Any]]
    _task_updates: dict[int, dict[str, Any]]
    _task_ids: list[int]

    if TYPE_CHECKING:
        # SQLite's step write, defined by `SqliteWrites`; declared for `PgWrites.write_rows`, which hands a SQLite
        # step over at its start (so a PostgreSQL step pays no extra call).
        async def _write_rows_sqlite(self) -> None: ...

    def _cancels(self) -> tuple[list[int], list[dict[str, Any]], Any]:
        """The timers this step cancels, taken: the tasks', the (case, kind) pairs, and an UPDATE for any other
        shape (none is used by the effects today), or None."""
        keys, self._cancel_keys = self._cancel_keys, []
        by_task = [task for task, case, kind in keys if task is not None and case is None and kind is None]
        by_case = [{"case_id": case, "kind": kind} for task, case, kind in keys
                   if task is None and case is not None and kind is not None]  # fmt: skip
        other = None
        if len(by_task) + len(by_case) < len(keys):
            conditions = []
            for task, case, kind in keys:
                parts = [condition for condition in (
                    Timer.task_id == task if task is not None else None,
                    Timer.case_id == case if case is not None else None,
                    Timer.kind == kind if kind is not None else None,
                ) if condition is not None]  # fmt: skip
                conditions.append(and_(*parts) if parts else true())
            other = (update(Timer).where(Timer.status == TimerStatus.PENDING, or_(*conditions))
                     .values(status=transition(TimerStatus.PENDING, TimerStatus.CANCELLED)))
        return by_task, by_case, other


def column_value(row: Any, column: Any) -> Any:
    """A column's value on an ORM object not flushed: what was set, else the column's Python default."""
    if column.key in row.__dict__:
        return row.__dict__[column.key]
    default = column.default
    return default.arg if default is not None and default.is_scalar else None


def stale_case(case_id: int) -> StaleDataError:
    return StaleDataError(f"case {case_id} was changed by another writer since it was read")


_ROW_INSERTS: dict[tuple[str, bool, tuple[tuple[str, str], ...]], tuple[Any, str]] = {}


def row_insert(table: Table, sqlite: bool, extra: tuple[tuple[str, str], ...] = ()) -> tuple[Any, str]:
    """One new row's INSERT … RETURNING its id (and `extra`: more (name, SQL) columns, PostgreSQL only), built
    once per process, straight to the driver (`fetch`), and the name of its parameter: on PostgreSQL the row as
    one JSON object (`row_json`), its columns typed by `json_populate_record`; on SQLite (its parameter None) a
    parameter per column, bound by the columns' own types. Every column but the id is written."""
    key = (table.name, sqlite, extra)
    if key not in _ROW_INSERTS:
        names = [column.key for column in table.columns if column.key != "id"]
        param = f"new_{table.name}"
        if sqlite:
            statement: Any = insert(table).values({name: bindparam(name, type_=table.c[name].type)
                                                   for name in names}).returning(table.c.id)
        else:
            listed = ", ".join(f'"{name}"' for name in names)
            taken = ", ".join(f'r."{name}"' for name in names)
            returned = ", ".join([f"{table.name}.id", *(sql for _name, sql in extra)])
            statement = (
                text(
                    f"INSERT INTO {table.name} ({listed}) SELECT {taken} "
                    f"FROM json_populate_record(NULL::{table.name}, CAST(:{param} AS json)) AS r RETURNING {returned}"
                )
                .bindparams(bindparam(param, type_=Text()))
                .columns(literal_column("id"), *(literal_column(name) for name, _sql in extra))
            )
        _ROW_INSERTS[key] = (statement, param)
    return _ROW_INSERTS[key]
