"""Persistence of a case: load it under a lock, write back its row, its tasks and its audit entries.

The one place that knows how a case is stored, so the storage can change (a single versioned state row,
multi-row writes) without touching the commands or the effect handlers. A step's write on each database is a
half of its own (`pg_writes`, `sqlite_writes`: mixins of `CaseStore`), the tables and waiting rows they share in
`step_rows`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    Table,
    bindparam,
    cast,
    event,
    func,
    literal,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy import inspect as inspect_object
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state, set_committed_value

from db import pg_step_writes, step_writes
from db.engine import id_tops, numbering_here, remember_id_tops, take_ids
from db.models import Case, Company, Outbox, Setting, StoredFile, Task, TaskCard, WorkPeriod
from db.recordset import row_json
from flows.i18n import _
from flows.model import ProcessDef
from flows.runtime import EngineError
from flows.status import CASE_CLOSED, TaskStatus, TimerStatus, transition
from services import attention, following, outbox
from services.cases.pg_writes import PgWrites
from services.cases.sqlite_writes import SqliteWrites
from services.cases.state import CardRef, Loaded, case_state, copy_data, load_work
from services.cases.step_rows import CASES, PENDING_TASKS, STEP_TABLES, TASKS, result_processors, row_insert
from services.definitions import Registry
from services.files import reserved_row


class CaseStore(PgWrites, SqliteWrites):
    def __init__(self, session: AsyncSession, registry: Registry, *, sqlite: bool, now: datetime) -> None:
        self.session = session
        self.registry = registry
        self.sqlite = sqlite
        self._dialect: Any = None  # the session's, looked up at the first load (`_values`)
        self.now = now
        self.created: set[int] = set()  # tasks inserted by this unit of work
        # Rows nobody reads back within the step (audit entries, timers, cancelled timers) wait here and are
        # written by `write_rows` together: no primary key to fetch, so also on SQLite (where the ORM would
        # insert them one by one to learn each id).
        self._audit: list[dict[str, Any]] = []
        self._timers: list[dict[str, Any]] = []
        self._cancel_keys: list[tuple[int | None, int | None, str | None]] = []  # timers cancelled: (task, case, kind)
        self._audiences: dict[int, tuple[list[int], bool]] = {}  # by case id, read with the case
        self._case_values: tuple[int, int, dict[str, Any]] | None = None  # the case row: its id, version read, values
        # PostgreSQL: the step's messages and cards not yet flushed, taken out of the unit of work and written
        # by `write_rows` as CTEs of its one statement.
        self._outbox: list[Outbox] = []
        self._cards: list[tuple[int | None, int, int | None, Outbox | None]] = []  # task, user, message id, message
        # SQLite: the step's new tasks (by id, numbered here) and changed ones (by id, only what changed), written with
        # the step's other rows (or before a flush or another load of this transaction, `write_pending_tasks`).
        self._new_tasks: dict[int, dict[str, Any]] = {}
        self._task_updates: dict[int, dict[str, Any]] = {}
        self._task_ids: list[int] = []  # PostgreSQL: ids for new tasks, taken from the sequence by a locked load

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

    async def _case_rows(
        self, by: str, key: int, lock: bool
    ) -> tuple[Case, list[Task], dict[int, list[CardRef]]] | None:
        """The case row (by its id or one of its tasks' ids), its open tasks and their cards in one round trip.
        Read as plain columns (on PostgreSQL straight from the driver, `pg_step_writes.fetch`), and the case and
        task objects made from them: the ORM's loading costs more client CPU than the statement."""
        await self._write_pending_tasks()  # another case's load within the step: its maxima must count them
        shape = (by, lock and not self.sqlite, self.sqlite)
        if shape not in _LOADS:  # built once per process: a step pays neither building nor compiling it
            _LOADS[shape] = self._load_query(by, lock and not self.sqlite)
        if self.sqlite:
            rows: list[Any] = await step_writes.fetch(self.session, _LOADS[shape], {"key": key})
        else:
            rows = await pg_step_writes.fetch(self.session, _LOADS[shape], {"key": key}, begin=True)
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
        return row, list(tasks.values()), cards

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
                   TaskCard.outbox_id, *(id_tops() if self.sqlite else []))
            .select_from(CASES)
            .outerjoin(TASKS, (Task.case_id == Case.id) & (Task.status == TaskStatus.OPEN))
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
            query = query.add_cte(locked).add_columns(literal_column(ids))
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

    def audience(self, case_id: int) -> tuple[list[int], bool] | None:
        """Who follows the case and whether its initiator muted it, as read with the case in this step."""
        return self._audiences.get(case_id)

    async def _load(self, row: Case, task_rows: list[Task], cards: dict[int, list[CardRef]]) -> Loaded:
        spec = await self.registry.spec(self.session, row.definition_id)
        state = case_state(row, spec, task_rows, data=copy_data(row.data))
        state.refs = await self.refs(spec, row.data)
        await load_work(self.session, [state])
        return Loaded(row=row, state=state, task_rows={t.id: t for t in task_rows}, cards=cards)

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

    async def task_row(self, task_id: int) -> Task:
        row = await self.session.get(Task, task_id)
        if row is None:
            raise EngineError(_("This task does not exist."))
        return row

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
            found = await pg_step_writes.fetch(self.session, statement, {param: row_json(values)}, begin=True)
            case_id = found[0][0]
            self._task_ids += found[0][1] or []
        row.__dict__.update(values, id=case_id)
        make_transient_to_detached(row)
        self.session.sync_session.add(row)

    async def reserve_file(
        self, *, name: str, kind: str, case_id: int | None, user_id: int | None, mime_type: str | None = None
    ) -> StoredFile:
        """A file a render job writes after the step's commit (`FileStore.reserve`'s row, the same values), by one
        prebuilt INSERT … RETURNING id straight to the driver: the ORM's flush that reserve makes would also write
        the step's waiting task rows in statements of their own, and cost more client CPU than the rest of the step's
        write. The row joins the session persistent and clean, as a flush leaves it."""
        values = reserved_row(name=name, kind=kind, now=self.now, case_id=case_id, user_id=user_id,
                              mime_type=mime_type)
        statement, param = row_insert(FILES, self.sqlite)
        if self.sqlite:
            found = await step_writes.fetch(self.session, statement, values)
        else:
            found = await pg_step_writes.fetch(self.session, statement, {param: row_json(values)}, begin=True)
        stored: StoredFile = self._persistent(StoredFile, {"id": found[0][0], **values})
        return stored

    async def sync_tasks(self, loaded: Loaded) -> None:
        """Engine tasks → task rows, through Core (no unit of work): the changed rows are updated and the new
        ones inserted by one multi-row INSERT … RETURNING id; on PostgreSQL the UPDATEs ride along as
        data-modifying CTEs of that INSERT (one round trip). The new rows join the session as they are stored."""
        inserts: list[tuple[Any, dict[str, Any]]] = []
        changes: list[tuple[int, dict[str, Any]]] = []
        for task in loaded.state.tasks:
            if task.id is None:
                inserts.append((task, {
                    "case_id": loaded.row.id, "key": task.key, "stage": task.stage, "visit": task.visit,
                    "kind": task.kind, "role": task.role, "assignee_id": task.assignee_id, "status": task.status,
                    "outcome": task.outcome, "due_at": task.due_at, "created_at": task.created_at or self.now,
                    "done_by": task.done_by, "done_at": task.done_at,
                }))
                continue
            trow = loaded.task_rows[task.id]
            # Done, handed over, its deadline moved, or carried onto a new version's stage.
            wanted = {
                "status": task.status, "outcome": task.outcome, "assignee_id": task.assignee_id, "role": task.role,
                "due_at": task.due_at, "stage": task.stage, "done_by": task.done_by, "done_at": task.done_at,
            }
            changed = {key: value for key, value in wanted.items() if getattr(trow, key) != value}
            if not changed:
                continue
            if task.status != TaskStatus.OPEN:
                changed["draft"] = None
            for key, value in changed.items():
                set_committed_value(trow, key, value)
            changes.append((trow.id, changed))
        inserts_waiting = inserts
        if self.sqlite:
            # The new tasks numbered here (this transaction holds SQLite's write lock).
            top = 0
            if inserts:
                sync = self.session.sync_session
                counts = {"tasks": len(inserts)}
                # Pure Python while the maxima are known (read with the case): no hop into the greenlet.
                if numbering_here(sync):
                    top = take_ids(sync, counts)["tasks"]
                else:
                    top = (await self.session.run_sync(take_ids, counts))["tasks"]
            ids = [top + n for n in range(1, len(inserts) + 1)]
        elif len(inserts) <= len(self._task_ids):
            # Ids taken from the sequence by the case's locked load (`_load_query`), after its lock.
            ids, self._task_ids = self._task_ids[: len(inserts)], self._task_ids[len(inserts) :]
        else:
            # More new tasks than ids taken (a step without a locked load, as a start): written at once, the
            # sequence giving their ids; what waits goes first, this step's changes with them.
            await self._write_pending_tasks()
            ids = await self._write_tasks_now([values for _task, values in inserts], changes)
            inserts_waiting, changes = [], []
        # The changed and the new rows wait for the step's one write (`write_rows`), or for a flush, a commit or
        # another case's load before it (`write_pending_tasks`). A change to a task not yet written goes into its row.
        for task_id, values in changes:
            if task_id in self._new_tasks:
                self._new_tasks[task_id].update((k, v) for k, v in values.items() if k != "draft")
            else:
                self._task_updates.setdefault(task_id, {}).update(values)
        for (_task, values), task_id in zip(inserts_waiting, ids, strict=False):
            self._new_tasks[task_id] = {**values, "id": task_id}
        if self._new_tasks or self._task_updates:
            self.session.sync_session.info[PENDING_TASKS] = self
        for (task, values), task_id in zip(inserts, ids, strict=True):
            # Persistent and clean: nothing for the unit of work to write.
            trow = self._persistent(Task, {"id": task_id, "draft": None, "claimed_at": None, **values})
            task.id = task_id
            self.created.add(task_id)
            loaded.task_rows[task_id] = trow

    async def write_case(self, loaded: Loaded) -> None:
        """The engine's case state → the case row: one Core UPDATE checking the row's version (not the ORM's
        unit of work), written with the step's other rows by `write_rows` (on PostgreSQL in one statement)."""
        state, row = loaded.state, loaded.row
        company_id = row.company_id
        if company_id is None:
            for name, fdef in state.spec.fields.items():
                value = state.data.get(name)
                if fdef.type == "company" and isinstance(value, dict) and isinstance(value.get("id"), int):
                    company_id = value["id"]
                    break
        self._take_messages()
        # Whatever else the step changed through the ORM (on SQLite outbox rows and cards, a person's row) goes
        # first; a case row some handler changed directly is written (and its version moved on) by this flush too
        # (called only when there is something to flush: its hop into SQLAlchemy's greenlet costs more than the check).
        if self.session.new or self.session.deleted or self.session.dirty:
            await self.session.flush()
        version = row.version
        values: dict[str, Any] = {
            "company_id": company_id, "stage": state.stage, "status": state.status, "result": state.result,
            "visit": state.visit, "title": state.title, "responsible_id": state.responsible_id,
            "data": copy_data(state.data), "updated_at": self.now, "version": version + 1,
        }
        if state.status in CASE_CLOSED and row.closed_at is None:
            values["closed_at"] = self.now
        for key, value in values.items():
            set_committed_value(row, key, value)  # the row object says what the table now holds
        self._case_values = (row.id, version, values)
        await self.write_rows()

    def audit(
        self, loaded: Loaded, actor_id: int | None, action: str, data: dict[str, Any], task_id: int | None = None
    ) -> None:
        """Who did what to the case, when, with what data (written by `write_rows`)."""
        self._audit.append(
            {"case_id": loaded.row.id, "task_id": task_id, "actor_id": actor_id, "action": action,
             "data": _jsonable(data), "at": self.now}
        )

    def set_timer(self, case_id: int, task_id: int | None, kind: str, due_at: datetime,
                  payload: dict[str, Any]) -> None:
        """A timer of this step (written by `write_rows`)."""
        self._timers.append({"case_id": case_id, "task_id": task_id, "kind": kind, "due_at": due_at,
                             "status": TimerStatus.PENDING, "payload": payload, "fired_at": None})

    def cancel_timers(self, *, task_id: int | None = None, case_id: int | None = None,
                      kind: str | None = None) -> None:
        """Pending timers of a task, or of a case of one kind, are cancelled: those set earlier in this step
        at once, those in the table by `write_rows` (before the step's new timers go in, so never those)."""
        for timer in self._timers:
            if (timer["status"] == TimerStatus.PENDING and task_id in (None, timer["task_id"])
                    and case_id in (None, timer["case_id"]) and kind in (None, timer["kind"])):
                timer["status"] = transition(TimerStatus.PENDING, TimerStatus.CANCELLED)
        self._cancel_keys.append((task_id, case_id, kind))

    def _take_messages(self) -> None:
        """The outbox rows and cards the step queued (`services.outbox.open_step`: never in the unit of work) and
        any added to the session directly and not flushed (taken out of it); `write_rows` inserts them with the
        step's other rows, the messages numbered in the order they were added (the outbox delivers a chat's
        messages in id order)."""
        step = outbox.take_step(self.session)
        pending = [obj for obj in self.session.new if isinstance(obj, Outbox | TaskCard)] if self.session.new else []
        if step is None and not pending:
            return
        # The order they were added in: a queued message knows how many objects the session held as new then,
        # an added one its place among them (`insert_order`).
        ordered: list[tuple[float, Any]] = [(position + 0.5, row) for position, row in step.messages] if step else []
        for obj in pending:
            self.session.expunge(obj)
            ordered.append((inspect_object(obj).insert_order, obj))  # type: ignore[attr-defined]
        ordered.sort(key=lambda entry: entry[0])
        for _position, obj in ordered:
            if isinstance(obj, Outbox):
                self._outbox.append(obj)
            else:
                self._cards.append((obj.task_id, obj.user_id, obj.outbox_id, obj.__dict__.get("outbox")))
        if step is not None:
            self._cards += [(task_id, user_id, message.id, message) for task_id, user_id, message in step.cards]

    def write_pending_tasks(self, connection: Any) -> None:
        """The step's task rows not yet written, now, on the session's connection (synchronous: called by a flush's
        or a commit's hook, inside SQLAlchemy's greenlet): a flush may write rows naming them (a card of a task
        of this step), and (SQLite) a load of another case reads the tables' highest ids afresh."""
        if self.sqlite:
            doc = self._task_sections()
            if doc:
                step_writes.write_sync(connection, doc, STEP_TABLES)
            return
        writes, params, _shape = self._task_writes()
        for statement in writes:
            connection.execute(statement, params)

    def drop_pending_tasks(self) -> None:
        self._new_tasks, self._task_updates, self._task_ids = {}, {}, []

    async def _write_pending_tasks(self) -> None:
        if self._new_tasks or self._task_updates:
            await self.session.run_sync(lambda sync: self.write_pending_tasks(sync.connection()))

    async def start_work(self, loaded: Loaded, task_id: int, user_id: int) -> None:
        self.session.add(
            WorkPeriod(task_id=task_id, case_id=loaded.row.id, user_id=user_id, started_at=self.now, ended_at=None)
        )
        await self.session.flush()

    async def close_work(self, task_id: int) -> None:
        await self.session.execute(
            update(WorkPeriod)
            .where(WorkPeriod.task_id == task_id, WorkPeriod.ended_at.is_(None))
            .values(ended_at=self.now)
        )


_LOADS: dict[tuple[str, bool, bool], Any] = {}  # the case's load, by (by case/task id, locked, SQLite)
# The load's row: the case's columns, the task's, the audience, the card's three, (SQLite) the id tops.
_NAMES = {table.name: [column.key for column in table.columns] for table in (CASES, TASKS)}
_AT_TASKS = len(CASES.columns)
_AT_AUDIENCE = _AT_TASKS + len(TASKS.columns)
_AT_TOPS = _AT_AUDIENCE + 4  # PostgreSQL: there the ids for the step's new tasks (a locked load)
_TASK_IDS = 1  # how many a locked load takes: most steps make one task, a step making more writes them at once
# PostgreSQL: a new case's row takes the ids for its first tasks from the sequence in the same statement.
_FIRST_TASK_IDS = (("task_ids", "ARRAY(SELECT nextval(pg_get_serial_sequence('tasks', 'id')) "
                                f"FROM generate_series(1, {_TASK_IDS}))"),)
# The case row's columns a new case writes, each with its value when the row leaves it unset.
_CASE_INSERT_COLUMNS = [
    (column.key, column.default.arg if column.default is not None and column.default.is_scalar else None)  # type: ignore[attr-defined]
    for column in CASES.columns
    if column.key != "id"
]
FILES: Table = StoredFile.__table__  # type: ignore[assignment]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _pending_tasks_written(session: Session, *_args: Any) -> None:
    """A flush within a step writes the step's waiting task rows first (what it inserts may name them), and a
    commit writes any still waiting (a caller that synced tasks without the step's write)."""
    store = session.info.get(PENDING_TASKS)
    if store is not None:
        store.write_pending_tasks(session.connection())


def _pending_tasks_dropped(session: Session) -> None:
    """A rolled-back transaction's waiting task rows are dropped with it: the session's next transaction must
    not write them."""
    store = session.info.pop(PENDING_TASKS, None)
    if store is not None:
        store.drop_pending_tasks()


event.listen(Session, "before_flush", _pending_tasks_written)
event.listen(Session, "before_commit", _pending_tasks_written)
event.listen(Session, "after_rollback", _pending_tasks_dropped)
