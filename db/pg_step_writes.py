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

from flows.status import TimerStatus

CASE_ROW = "case_row"
CASE_VERSION = "case_version"
TASK_UPDATES = "task_updates"
CANCEL_TASKS = "cancel_tasks"
CANCEL_CASES = "cancel_cases"

_CASE_UPDATES: dict[tuple[str, tuple[str, ...]], Any] = {}  # by table and the columns set
_TASK_UPDATES: dict[str, Any] = {}
_TIMER_CANCELS: list[Any] = []


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def case_update(table: Table, names: tuple[str, ...]) -> Any:
    """UPDATE of these columns of one case row from `:case_row` (a JSON object with its id), only while its version
    is still `:case_version`: a writer that read an older state updates nothing (RETURNING no row)."""
    key = (table.name, names)  # the table too: a versioned row of another table may change the same columns
    if key not in _CASE_UPDATES:
        sets = ", ".join(f"{_q(name)} = r.{_q(name)}" for name in names)
        _CASE_UPDATES[key] = (
            text(
                f"UPDATE {_q(table.name)} SET {sets} "
                f"FROM json_populate_record(NULL::{_q(table.name)}, CAST(:{CASE_ROW} AS json)) AS r "
                f"WHERE {_q(table.name)}.id = r.id AND {_q(table.name)}.version = :{CASE_VERSION} "
                f"RETURNING {_q(table.name)}.id"
            )
            .bindparams(bindparam(CASE_ROW, type_=Text()), bindparam(CASE_VERSION, type_=Integer()))
            .columns(column("id", Integer()))
        )
    return _CASE_UPDATES[key]


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
    `:cancel_cases` (a JSON array of objects) become cancelled.

    The ids are found through the timers' task and case indexes (`= ANY(ARRAY(…))`, evaluated once, lets the
    planner OR the two index scans): matching `task_id IN (…) OR EXISTS (…)` against every row made PostgreSQL
    walk all pending timers — every open case's — on each step that closed a task (a seq scan of 300,000 pending
    timers took 350 ms; the dead index entries of cancelled ones grew it between vacuums). The status is tested as
    `(…) IS TRUE`, which no index serves: a plain `status = 'pending'` let PostgreSQL AND (or replace) the two with
    the index of the pending timers by due time (by status and due time before migration 0028) whenever its
    estimates made pending timers look rare (no statistics yet, or most timers long fired), reading every pending
    timer's entry again."""
    if not _TIMER_CANCELS:
        pending, cancelled = TimerStatus.PENDING.value, TimerStatus.CANCELLED.value
        _TIMER_CANCELS.append(
            text(
                f"UPDATE timers SET status = '{cancelled}' WHERE (timers.status = '{pending}') IS TRUE AND ("
                f"timers.task_id = ANY(ARRAY(SELECT CAST(x AS integer) FROM json_array_elements_text("
                f"CAST(:{CANCEL_TASKS} AS json)) AS x)) "
                "OR (timers.case_id = ANY(ARRAY(SELECT c.case_id FROM "
                f"json_to_recordset(CAST(:{CANCEL_CASES} AS json)) AS c(case_id integer, kind text))) "
                f"AND EXISTS (SELECT 1 FROM json_to_recordset(CAST(:{CANCEL_CASES} AS json)) "
                "AS c(case_id integer, kind text) WHERE timers.case_id = c.case_id AND timers.kind = c.kind))) "
                "RETURNING timers.id"
            )
            .bindparams(bindparam(CANCEL_TASKS, type_=Text()), bindparam(CANCEL_CASES, type_=Text()))
            .columns(column("id", Integer()))
        )
    return _TIMER_CANCELS[0]
