"""PostgreSQL's half of a case step's write: the step's rows (case row, tasks, timers, audit entries, messages and
cards) as data-modifying CTEs of one statement, each shape built and compiled once per process."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Text, bindparam, func, insert, literal, literal_column, select, text

from db import driver, pg_step_writes
from db.models import AuditEntry, Outbox, Task, Timer
from db.recordset import row_json, rows_json
from services.cases.step_rows import (
    CARDS,
    CASES,
    OUTBOX,
    OUTBOX_COLUMNS,
    PENDING_TASKS,
    TASKS,
    StepRows,
    column_value,
    stale_case,
)


class PgWrites(StepRows):
    async def write_rows(self) -> None:
        """The step's case row, audit entries, cancelled timers and new timers. On PostgreSQL one statement
        (the writes as data-modifying CTEs of one SELECT: one round trip); on SQLite one document written by one
        statement (`sqlite_writes`). The case row's UPDATE checks its version: a writer that read an older state
        fails."""
        if self.sqlite:
            await self._write_rows_sqlite()
            return
        writes: list[Any] = []
        params: dict[str, Any] = {}
        case_write, self._case_values = self._case_values, None
        if case_write is not None:
            case_id, version, values = case_write
            writes.append(pg_step_writes.case_update(CASES, tuple(values)))
            params[pg_step_writes.CASE_ROW] = row_json({**values, "id": case_id})
            params[pg_step_writes.CASE_VERSION] = version
        task_writes, task_params, task_shape = self._task_writes()
        writes += task_writes
        params.update(task_params)
        by_task, by_case, other = self._cancels()
        if by_task or by_case:
            writes.append(pg_step_writes.timer_cancels())
            params[pg_step_writes.CANCEL_TASKS] = rows_json(by_task)  # type: ignore[arg-type]
            params[pg_step_writes.CANCEL_CASES] = rows_json(by_case)
        if other is not None:
            writes.append(other)
        inserts: list[tuple[Any, list[dict[str, Any]]]] = []
        if self._audit:
            inserts.append((AuditEntry, self._audit))
            self._audit = []
        if self._timers:
            inserts.append((Timer, self._timers))
            self._timers = []
        messages, outbox_rows, card_rows = self._message_rows()
        shape: tuple[Any, ...] = (tuple(case_write[2]) if case_write else None, task_shape, bool(by_task or by_case),
                                  bool(outbox_rows), bool(card_rows))
        for model, rows in inserts:
            names = tuple(rows[0])
            statement, param = _recordset_insert(model.__table__, names)
            writes.append(statement)
            params[param] = rows_json(rows)
            shape += (model.__tablename__, names)
        if not writes and not outbox_rows and not card_rows:
            return
        if len(writes) == 1 and not outbox_rows and not card_rows:
            result = await driver.fetch(self.session, writes[0], params, keep=other is None)
            if case_write is not None and len(result) != 1:
                raise stale_case(case_write[0])
            return
        if outbox_rows:
            params[_OUTBOX_PARAM] = rows_json(outbox_rows)
        if card_rows:
            params[_CARDS_PARAM] = rows_json(card_rows)
        # The combined statement of a step of this shape is built once per process (an unusual timer cancel,
        # `other`, has no shape): a step pays neither building nor compiling it.
        combined = _COMBINED.get(shape) if other is None else None
        if combined is None:
            combined = self._combined(writes, case_write is not None, bool(outbox_rows), bool(card_rows))
            if other is None:
                _COMBINED[shape] = combined
        statement, outbox_at = combined
        found = (await driver.fetch(self.session, statement, params, keep=other is None))[0]
        if case_write is not None and found[0] != 1:
            raise stale_case(case_write[0])
        if outbox_rows:
            # Their ids, for whoever holds a message (a card of this step names it); nobody reads them back from
            # the session, so they do not join it.
            for message, message_id in zip(messages, found[outbox_at], strict=True):
                message.id = message_id

    @staticmethod
    def _combined(writes: list[Any], case_write: bool, outbox: bool, cards: bool) -> tuple[Any, int]:
        """PostgreSQL: the step's writes as data-modifying CTEs of one SELECT, and where the messages' ids come
        back in its row. It runs every such CTE once, to completion, on the statement's one snapshot: the UPDATE
        does not see the timers inserted beside it (those were cancelled in memory by `cancel_timers`)."""
        ctes: list[Any] = []
        columns: list[Any] = []
        outbox_at = 0
        if case_write:
            case_cte = writes[0].cte("write_case")
            ctes.append(case_cte)
            columns.append(select(func.count()).select_from(case_cte).scalar_subquery())
            writes = writes[1:]
        if outbox:
            # The messages numbered first (a materialised CTE: nextval once per row, in their order), so the
            # cards can name them; their ids come back for the rows' objects.
            source, outbox_insert = _OUTBOX_WRITE
            ctes += [source, outbox_insert.cte("write_outbox")]
            outbox_at = len(columns)
            columns.append(literal_column(f"(SELECT array_agg(s.new_id ORDER BY s.ord) FROM {_OUTBOX_SOURCE} AS s)"))
        if cards:
            ctes.append(_cards_insert(outbox).cte("write_cards"))
            # One statement takes its ids from the sequence in the order of its rows (as the tasks' do).
            columns.append(literal_column("(SELECT array_agg(w.id ORDER BY w.id) FROM write_cards AS w)"))
        ctes += [statement.cte(f"write_{number}") for number, statement in enumerate(writes)]
        return select(*(columns or [literal(1)])).add_cte(*ctes), outbox_at

    def _message_rows(self) -> tuple[list[Outbox], list[dict[str, Any]], list[dict[str, Any]]]:
        messages, cards = self._outbox, self._cards
        self._outbox, self._cards = [], []
        number = {id(row): n for n, row in enumerate(messages, start=1)}
        outbox_rows = [{name: column_value(row, column) for name, column in OUTBOX_COLUMNS} for row in messages]
        card_rows = []
        for task_id, user_id, outbox_id, message in cards:
            if outbox_id is None:
                outbox_id = getattr(message, "id", None)
            ordinal = number.get(id(message)) if outbox_id is None else None
            if outbox_id is None and ordinal is None:
                raise ValueError("a task card without its message")
            card_rows.append({"task_id": task_id, "user_id": user_id, "outbox_id": outbox_id, "ord": ordinal})
        return messages, outbox_rows, card_rows

    def _task_writes(self) -> tuple[list[Any], dict[str, Any], tuple[Any, ...]]:
        """PostgreSQL: the step's pending task rows as statements (changed rows first, then new ones), their
        parameters and their shape, taken."""
        writes: list[Any] = []
        params: dict[str, Any] = {}
        if self._task_updates:
            writes.append(pg_step_writes.task_updates(TASKS))
            params[pg_step_writes.TASK_UPDATES] = rows_json(
                [{**values, "id": task_id} for task_id, values in self._task_updates.items()]
            )
        names: tuple[str, ...] = ()
        if self._new_tasks:
            rows = list(self._new_tasks.values())
            names = tuple(rows[0])
            statement, param = _recordset_insert(TASKS, names)
            writes.append(statement)
            params[param] = rows_json(rows)
        shape = (bool(self._task_updates), names)
        self._task_updates, self._new_tasks = {}, {}
        self.session.sync_session.info.pop(PENDING_TASKS, None)
        return writes, params, shape

    async def _write_tasks_now(
        self, rows: list[dict[str, Any]], changes: list[tuple[int, dict[str, Any]]]
    ) -> list[int]:
        """PostgreSQL: new task rows (and changed ones, as a data-modifying CTE) by one INSERT … RETURNING id, the
        sequence numbering them; their ids in the rows' order."""
        updated = rows_json([{**values, "id": task_id} for task_id, values in changes]) if changes else None
        shape = (tuple(rows[0]), updated is not None)
        if shape not in _TASK_WRITES:  # built once per process, as the step's other statements
            statement, param = _recordset_insert(Task.__table__, shape[0])
            statement = statement.returning(Task.id)
            if updated is not None:
                statement = statement.add_cte(pg_step_writes.task_updates(TASKS).cte("task_updates_w"))
            _TASK_WRITES[shape] = (statement, param)
        statement, param = _TASK_WRITES[shape]
        params = {param: rows_json(rows)}
        if updated is not None:
            params[pg_step_writes.TASK_UPDATES] = updated
        # One statement takes its ids from the sequence in the order of its rows: sorted, they are the rows' ids
        # in order, whatever order RETURNING uses.
        return sorted(row[0] for row in await driver.fetch(self.session, statement, params))


_RECORDSET_INSERTS: dict[tuple[str, tuple[str, ...]], tuple[Any, str]] = {}
_COMBINED: dict[tuple[Any, ...], tuple[Any, int]] = {}  # PostgreSQL: a step's one statement, by its shape
_TASK_WRITES: dict[tuple[tuple[str, ...], bool], tuple[Any, str]] = {}  # PostgreSQL: new tasks (and changed ones)
_OUTBOX_SOURCE = "outbox_numbered"
_OUTBOX_PARAM = "rows_outbox_numbered"
_CARDS_PARAM = "rows_task_cards"


def _outbox_write() -> tuple[Any, Any]:
    """PostgreSQL: the step's messages as a CTE numbering them from the outbox's sequence (with their ordinal),
    and the INSERT of them; built once per process."""
    names = [name for name, _column in OUTBOX_COLUMNS]
    listed = ", ".join(f'r."{name}"' for name in names)
    source = (
        text(
            f"SELECT nextval(pg_get_serial_sequence('outbox', 'id')) AS new_id, r.ordinality AS ord, {listed} "
            f"FROM json_populate_recordset(NULL::outbox, CAST(:{_OUTBOX_PARAM} AS json)) WITH ORDINALITY AS r"
        )
        .bindparams(bindparam(_OUTBOX_PARAM, type_=Text()))
        .columns(*(literal_column(name) for name in ("new_id", "ord", *names)))
        .cte(_OUTBOX_SOURCE)
    )
    query: Any = select(literal_column("s.new_id"), *(literal_column(f's."{name}"') for name in names)).select_from(
        text(f"{_OUTBOX_SOURCE} AS s")
    )
    return source, insert(OUTBOX).from_select(["id", *names], query)


def _cards_insert(numbered: bool) -> Any:
    """PostgreSQL: the step's cards; a card of a message of this step takes its id from `_outbox_write`'s CTE."""
    if numbered not in _CARDS_INSERTS:
        outbox_id = (
            f"COALESCE(c.outbox_id, (SELECT s.new_id FROM {_OUTBOX_SOURCE} AS s WHERE s.ord = c.ord))"
            if numbered else "c.outbox_id"
        )
        source = text(
            f"json_to_recordset(CAST(:{_CARDS_PARAM} AS json)) "
            "AS c(task_id integer, user_id integer, outbox_id integer, ord bigint)"
        ).bindparams(bindparam(_CARDS_PARAM, type_=Text()))
        query: Any = select(literal_column("c.task_id"), literal_column("c.user_id"), literal_column(outbox_id))
        _CARDS_INSERTS[numbered] = insert(CARDS).from_select(
            ["task_id", "user_id", "outbox_id"], query.select_from(source)
        ).returning(CARDS.c.id)
    return _CARDS_INSERTS[numbered]


_CARDS_INSERTS: dict[bool, Any] = {}
_OUTBOX_WRITE = _outbox_write()


def _recordset_insert(table: Any, names: tuple[str, ...]) -> tuple[Any, str]:
    """PostgreSQL: INSERT … SELECT FROM json_populate_recordset(:rows) — any number of rows in one parameter,
    so the statement has one shape and SQLAlchemy compiles it once per process (a multi-row VALUES is compiled
    anew every time). Returns the statement and its parameter's name."""
    key = (table.name, names)
    if key not in _RECORDSET_INSERTS:
        param = f"rows_{table.name}"
        source = text(f"json_populate_recordset(NULL::{table.name}, CAST(:{param} AS json)) AS r").bindparams(
            bindparam(param, type_=Text())
        )
        query: Any = select(*(literal_column(f'r."{name}"') for name in names)).select_from(source)
        _RECORDSET_INSERTS[key] = (insert(table).from_select(list(names), query), param)
    return _RECORDSET_INSERTS[key]
