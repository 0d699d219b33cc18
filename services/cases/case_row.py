"""A case's row, as a step reads and first writes it: the case with its open tasks, their cards and its audience
read (and locked) in one statement, the objects made from the plain rows; a new case's row inserted in one; a task's
row by its id. A mixin of `CaseStore` (`store.py`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Integer, String, Table, bindparam, cast, func, literal, literal_column, select, text
from sqlalchemy.orm import aliased, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state, set_committed_value

from db import driver, step_writes
from db.driver import result_processors
from db.engine import id_tops, remember_id_tops
from db.models import Case, Company, Outbox, Setting, Task, TaskCard, status_is
from db.models.delivery import CASE_FILE_ROWS
from db.recordset import row_json
from flows.i18n import _
from flows.model import ProcessDef
from flows.runtime import EngineError
from flows.status import OutboxStatus, TaskStatus
from services import attention, following
from services.cases.state import CardRef, Loaded, case_state, copy_data, load_work
from services.cases.step_rows import CASES, TASKS, StepRows, row_insert
from services.definitions import Registry
from services.outbox import file_ids


class CaseRow(StepRows):
    """The case's load and a new case's insert, over what `CaseStore`'s constructor sets up."""

    registry: Registry
    _dialect: Any
    _audiences: dict[int, tuple[list[int], bool]]

    if TYPE_CHECKING:
        # The step's waiting task rows written, defined by `TaskSync`; a load of another case within the step
        # writes them first.
        async def _write_pending_tasks(self) -> None: ...

    async def load(self, case_id: int, *, lock: bool = True) -> Loaded:
        attention.note(case_id=case_id)
        found = await self._case_rows("case", case_id, lock)
        if found is None:
            raise EngineError(_("This case does not exist."))
        return await self._load(*found)

    async def load_by_task(self, task_id: int, *, lock: bool = True) -> Loaded:
        """The case a task belongs to, found and locked in one statement (not the task row, then the case)."""
        found = await self._case_rows("task", task_id, lock)
        if found is None:
            raise EngineError(_("This task does not exist."))
        attention.note(case_id=found[0].id)
        return await self._load(*found)

    async def task_row(self, task_id: int) -> Task:
        row = await self.session.get(Task, task_id)
        if row is None:
            raise EngineError(_("This task does not exist."))
        return row

    async def _case_rows(
        self, by: str, key: int, lock: bool
    ) -> tuple[Case, list[Task], dict[int, list[CardRef]], dict[int, set[int]]] | None:
        """The case row (by its id or one of its tasks' ids), its open tasks and their cards in one round trip.
        Read as plain columns (on PostgreSQL straight from the driver, `db.driver.fetch`), and the case and
        task objects made from them: the ORM's loading costs more client CPU than the statement."""
        await self._write_pending_tasks()  # another case's load within the step: its maxima must count them
        shape = (by, lock and not self.sqlite, self.sqlite)
        if shape not in _LOADS:  # built once per process: a step pays neither building nor compiling it
            _LOADS[shape] = self._load_query(by, lock and not self.sqlite)
        if self.sqlite:
            rows: list[Any] = await step_writes.fetch(self.session, _LOADS[shape], {"key": key})
        else:
            rows = await driver.fetch(self.session, _LOADS[shape], {"key": key}, begin=True)
            if shape[1] and rows and rows[0][_AT_SNAPSHOT] != rows[0][_AT_VERSION]:
                # The lock was waited for: another step of the case committed meanwhile. The statement's case row is
                # that step's (PostgreSQL re-reads a locked row), but its tasks and cards are from before it (the
                # statement's snapshot), and a step on them would do a done task again. Read again: the lock is
                # held now, so this statement sees everything committed before it.
                rows = await driver.fetch(self.session, _LOADS[shape], {"key": key})
        if not rows:
            return None
        first = rows[0]
        if self.sqlite:
            remember_id_tops(self.session.sync_session, first[_AT_TOPS:])
        elif shape[1] and first[_AT_TOPS]:
            self._task_ids += first[_AT_TOPS]
        case_values = self._values(CASES, first, 0)
        row = self._persistent(Case, case_values)
        tasks: dict[int, Task] = {}
        cards: dict[int, list[CardRef]] = {}
        self._audiences[row.id] = following.parse_audience(row.id, row.initiator_id, first[_AT_AUDIENCE])
        for found in rows:
            task_id = found[_AT_TASKS]
            if task_id is None:
                continue
            if task_id not in tasks:
                tasks[task_id] = self._persistent(Task, self._values(TASKS, found, _AT_TASKS))
                cards[task_id] = []
            card_id = found[_AT_AUDIENCE + 1]
            if card_id is not None:
                cards[task_id].append(CardRef(card_id, task_id, found[_AT_AUDIENCE + 2], found[_AT_AUDIENCE + 3]))
        return row, list(tasks.values()), cards, _files_by_chat(first[_AT_FILES])

    def _values(self, table: Table, found: Any, at: int) -> dict[str, Any]:
        """A table's columns from a row of the load, as the ORM would read them (the driver's plain rows through
        each column type's own result processing)."""
        dialect = self._dialect
        if dialect is None:
            dialect = self._dialect = self.session.get_bind().dialect
        processors = result_processors(table, dialect)
        return {
            name: value if (process := processors[n]) is None or value is None else process(value)
            for n, (name, value) in enumerate(zip(_NAMES[table.name], found[at : at + len(processors)], strict=True))
        }

    def _persistent(self, model: Any, values: dict[str, Any]) -> Any:
        """The session's object of this row, as a locked read must see it: the one the session already holds
        gets the values read (as populate_existing would), else a new one joins it persistent and clean."""
        sync = self.session.sync_session
        mapper = model.__mapper__
        # The identity key as `Session.identity_key` makes it (a mapper of its own class, no identity token), without
        # its lookups: the case's load makes a few of these every step.
        key = (mapper._identity_class, (values["id"],), None)
        found = sync.identity_map.get(key)
        if found is not None:
            for name, value in values.items():
                set_committed_value(found, name, value)
            return found
        obj = mapper.class_manager.new_instance()  # not the constructor: nothing to track yet
        obj.__dict__.update(values)
        # `make_transient_to_detached` then `Session.add`, without recomputing the key or walking the cascades (the
        # object holds column values only): persistent and clean, what it does not hold expired, as a load leaves it.
        state = instance_state(obj)
        state.key = key
        state._commit_all(state.dict)
        state._expire_attributes(state.dict, state.unloaded)
        sync._update_impl(state)
        return obj

    def _load_query(self, by: str, lock: bool) -> Any:
        # On SQLite the highest outbox and card ids come along: the step numbers its new rows from them.
        key = bindparam("key", type_=Integer())
        condition = Case.id == (key if by == "case" else select(Task.case_id).where(Task.id == key).scalar_subquery())
        query = (
            select(*CASES.columns, *TASKS.columns, self._audience_keys(), TaskCard.id, TaskCard.user_id,
                   TaskCard.outbox_id, self._files_sent(by, key), *(id_tops() if self.sqlite else []))
            .select_from(CASES)
            # Through the index of open tasks by case (`ix_tasks_open_case`): the case's open tasks only, not the
            # hundreds a long case has done. The status is written in (`status_is`), so the index's condition is
            # implied; that index then also answers the status, and PostgreSQL has no status index to AND it with.
            # (`(status = 'open') IS TRUE` through the case's whole index read every task the case ever had; a bound
            # `status = ?` let PostgreSQL AND that index with the (status, role) one whenever its estimates made
            # open tasks look rare, reading every open task's entry: 18,000 in the engine bench's database.)
            .outerjoin(TASKS, (Task.case_id == Case.id) & status_is(Task.status, TaskStatus.OPEN))
            .outerjoin(TaskCard, TaskCard.task_id == Task.id)
            .where(condition)
            .order_by(Task.id, TaskCard.id)
        )
        if lock:
            # One command at a time per case (the case row only: its tasks follow it); SQLite already
            # serialises writers (BEGIN IMMEDIATE).
            query = query.with_for_update(of=CASES)
            # PostgreSQL: ids for the step's new tasks, from the sequence, taken once the case is locked (a CTE
            # of their own that locks it first), so a case's tasks are numbered in the order of its steps; the
            # step's task rows then go with its one write (`write_rows`), not in a round trip of their own.
            which = "(SELECT tasks.case_id FROM tasks WHERE tasks.id = :key)" if by == "task" else ":key"
            locked = (
                text(f"SELECT cases.id FROM cases WHERE cases.id = {which} FOR UPDATE")
                .bindparams(key)
                .columns(literal_column("id"))
                .cte("locked_case")
                .prefix_with("MATERIALIZED")
            )
            ids = (f"(SELECT ARRAY(SELECT nextval(pg_get_serial_sequence('tasks', 'id')) "
                   f"FROM generate_series(1, {_TASK_IDS})) FROM locked_case)")
            # The case's version as the statement's snapshot has it, beside the locked row's (above).
            snapshot = aliased(Case, name="snapshot_case")
            seen = select(snapshot.version).where(snapshot.id == Case.id).scalar_subquery()
            query = query.add_cte(locked).add_columns(literal_column(ids), seen)
        return query

    def _audience_keys(self) -> Any:
        """The case's follow and mute rows (`services/following.py`) as one string, read with the case: a step
        that moves the case on tells its followers without another query."""
        agg = func.group_concat(Setting.key, ",") if self.sqlite else func.string_agg(Setting.key, ",")
        case_id = cast(Case.id, String)
        return (
            select(agg)
            .where(
                following.follower_keys(case_id, sqlite=self.sqlite)  # a range of an index's keys, not a LIKE
                | (Setting.key == literal("mute:") + case_id + literal(":") + cast(Case.initiator_id, String))
            )
            .scalar_subquery()
        )

    def _files_sent(self, by: str, key: Any) -> Any:
        """The case's file messages that did not fail, each with its chat, as one JSON array read with the case: a
        card leaves out the files its person has (`services.outbox.files_sent`). Not correlated with the row (the
        case's id from the key), so it runs once, not once per task and card; through `ix_outbox_case_files`,
        whose condition the WHERE spells out."""
        sent = Outbox.__table__.alias("sent_files")
        case_id = key if by == "case" else select(Task.case_id).where(Task.id == key).scalar_subquery()
        if self.sqlite:
            rows = func.json_group_array(func.json_array(sent.c.chat_id, func.json(sent.c.payload)))
        else:
            rows = func.json_agg(func.json_build_array(sent.c.chat_id, sent.c.payload))
        return (
            select(rows)
            .where(sent.c.case_id == case_id, text(CASE_FILE_ROWS), sent.c.status != OutboxStatus.FAILED.value)
            .scalar_subquery()
        )

    def audience(self, case_id: int) -> tuple[list[int], bool] | None:
        """Who follows the case and whether its initiator muted it, as read with the case in this step."""
        return self._audiences.get(case_id)

    async def _load(
        self, row: Case, task_rows: list[Task], cards: dict[int, list[CardRef]], files_sent: dict[int, set[int]]
    ) -> Loaded:
        spec = await self.registry.spec(self.session, row.definition_id)
        template = self.registry.title_template(spec)
        state = case_state(row, spec, task_rows, data=copy_data(row.data), title_template=template)
        state.refs = await self.refs(spec, row.data)
        await load_work(self.session, [state])
        return Loaded(row=row, state=state, task_rows={t.id: t for t in task_rows}, cards=cards, files_sent=files_sent)

    async def refs(self, spec: ProcessDef, data: dict[str, Any]) -> dict[str, Any]:
        """Companies the case points at, so conditions and texts can read their fields."""
        refs: dict[str, Any] = {}
        for name, fdef in spec.fields.items():
            value = data.get(name)
            if fdef.type == "company" and isinstance(value, dict) and isinstance(value.get("id"), int):
                company = await self.session.get(Company, value["id"])
                if company is not None:
                    refs[name] = {**company.data, "id": company.id, "name": company.name}
        return refs

    async def insert(self, row: Case) -> None:
        """A new case's row, by one prebuilt INSERT … RETURNING id straight to the driver (not the ORM's flush); on
        PostgreSQL the same statement takes an id for its first task (`_TASK_IDS`). The row then joins the session
        persistent and clean, as a load would make it."""
        values = {name: row.__dict__.get(name, default) for name, default in _CASE_INSERT_COLUMNS}
        values["version"] = 1  # the ORM's first version of a versioned row
        statement, param = row_insert(CASES, self.sqlite, () if self.sqlite else _FIRST_TASK_IDS)
        if self.sqlite:
            found = await step_writes.fetch(self.session, statement, values)
            case_id = found[0][0]
        else:
            found = await driver.fetch(self.session, statement, {param: row_json(values)}, begin=True)
            case_id = found[0][0]
            self._task_ids += found[0][1] or []
        row.__dict__.update(values, id=case_id)
        make_transient_to_detached(row)
        self.session.sync_session.add(row)


def _files_by_chat(found: str | bytes | list[Any] | None) -> dict[int, set[int]]:
    sent: dict[int, set[int]] = {}
    for chat_id, payload in orjson.loads(found) if isinstance(found, str | bytes) else found or ():
        sent.setdefault(chat_id, set()).update(f for f in file_ids(payload) if isinstance(f, int))
    return sent


_LOADS: dict[tuple[str, bool, bool], Any] = {}  # the case's load, by (by case/task id, locked, SQLite)
# The load's row: the case's columns, the task's, the audience, the card's three, (SQLite) the id tops.
_NAMES = {table.name: [column.key for column in table.columns] for table in (CASES, TASKS)}
_AT_TASKS = len(CASES.columns)
_AT_AUDIENCE = _AT_TASKS + len(TASKS.columns)
_AT_FILES = _AT_AUDIENCE + 4  # the files the case's chats were sent (`_files_sent`)
_AT_TOPS = _AT_FILES + 1  # PostgreSQL: there the ids for the step's new tasks (a locked load)
_AT_SNAPSHOT = _AT_TOPS + 1  # PostgreSQL, a locked load: the case's version in the statement's snapshot
_AT_VERSION = [column.key for column in CASES.columns].index("version")
_TASK_IDS = 2  # how many a locked load takes: most steps make one task or two, a step making more writes them at once
# PostgreSQL: a new case's row takes the ids for its first tasks from the sequence in the same statement.
_FIRST_TASK_IDS = (("task_ids", "ARRAY(SELECT nextval(pg_get_serial_sequence('tasks', 'id')) "
                                f"FROM generate_series(1, {_TASK_IDS}))"),)
# The case row's columns a new case writes, each with its value when the row leaves it unset.
_CASE_INSERT_COLUMNS = [
    (column.key, column.default.arg if column.default is not None and column.default.is_scalar else None)  # type: ignore[attr-defined]
    for column in CASES.columns
    if column.key != "id"
]
