"""Persistence of a case: load it under a lock, write back its row, its tasks and its audit entries.

The one place that knows how a case is stored, so the storage can change (a single versioned state row,
multi-row writes) without touching the commands or the effect handlers. A step's write on each database is a
half of its own (`pg_writes`, `sqlite_writes`: mixins of `CaseStore`), the tables and waiting rows they share in
`step_rows`; the case's load and a new case's row are `case_row`, the step's tasks `task_sync` (mixins too).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, update
from sqlalchemy import inspect as inspect_object
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from db import driver, step_writes
from db.models import Outbox, StoredFile, TaskCard, WorkPeriod
from db.recordset import row_json
from flows.effects import TaskState
from flows.status import CASE_CLOSED, TimerStatus, transition
from services import outbox
from services.cases.case_row import CaseRow
from services.cases.state import Loaded, copy_data
from services.cases.step_rows import row_insert
from services.cases.task_sync import TaskSync
from services.definitions import Registry
from services.files import reserved_row


class CaseStore(CaseRow, TaskSync):
    def __init__(self, session: AsyncSession, registry: Registry, *, sqlite: bool, now: datetime) -> None:
        self.session = session
        self.registry = registry
        self.sqlite = sqlite
        self._dialect: Any = None  # the session's, looked up at the first load (`_values`)
        self.now = now
        # Tasks inserted by this unit of work, by id: a called case's too (the person whose answer gave them a card
        # there needs no «Done» after it).
        self.created: dict[int, TaskState] = {}
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
            found = await driver.fetch(self.session, statement, {param: row_json(values)}, begin=True)
        stored: StoredFile = self._persistent(StoredFile, {"id": found[0][0], **values})
        return stored

    async def write_case(self, loaded: Loaded) -> None:
        """The engine's case state → the case row: one Core UPDATE checking the row's version (not the ORM's
        unit of work), written with the step's other rows by `write_rows` (on PostgreSQL in one statement)."""
        state, row = loaded.state, loaded.row
        company_id = case_company_id(loaded)
        await self._settle()
        version = row.version
        values: dict[str, Any] = {
            "company_id": company_id, "stage": state.stage, "status": state.status, "result": state.result,
            "visit": state.visit, "title": state.title, "titles": state.titles,
            "responsible_id": state.responsible_id,
            "data": copy_data(state.data), "updated_at": self.now, "version": version + 1,
        }
        if state.status in CASE_CLOSED and row.closed_at is None:
            values["closed_at"] = self.now
        await self._write_case_row(loaded, values)

    async def touch(self, loaded: Loaded) -> None:
        """A step that changes only the case's tasks or cards under its lock (a task's timer started or paused, a
        card sent again) moves the case's version on with its other rows: a step of the case that waited for the
        lock then reads the case again (`CaseRow._case_rows`), not its tasks and cards as they were before."""
        await self._settle()
        await self._write_case_row(loaded, {"version": loaded.row.version + 1})

    async def _settle(self) -> None:
        """Before the case row's write: the step's messages taken into its rows, and whatever else the step changed
        through the ORM (on SQLite outbox rows and cards, a person's row) flushed first — a case row some handler
        changed directly is written (and its version moved on) by this flush too, so the version is read after it.
        Flushed only when there is something to flush: its hop into SQLAlchemy's greenlet costs more than the check."""
        self._take_messages()
        if self.session.new or self.session.deleted or self.session.dirty:
            await self.session.flush()

    async def _write_case_row(self, loaded: Loaded, values: dict[str, Any]) -> None:
        row = loaded.row
        version = row.version
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


FILES: Table = StoredFile.__table__  # type: ignore[assignment]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def case_company_id(loaded: Loaded) -> int | None:
    """The case's organisation: its row's (the initiator's, a parent case's), else the first company its fields
    name."""
    state, company_id = loaded.state, loaded.row.company_id
    if company_id is None:
        for name, fdef in state.spec.fields.items():
            value = state.data.get(name)
            if fdef.type == "company" and isinstance(value, dict) and isinstance(value.get("id"), int):
                return int(value["id"])
    return company_id
