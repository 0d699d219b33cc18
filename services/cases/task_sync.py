"""A step's tasks: the engine's tasks into task rows (changed ones updated, new ones numbered and inserted),
waiting for the step's one write, or written by a flush, a commit or another case's load before it, and dropped
with a rolled-back transaction. A mixin of `CaseStore` (`store.py`), over the step's writes on each database.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from db import step_writes
from db.engine import numbering_here, take_ids
from db.models import Task
from flows.effects import TaskState
from flows.status import TaskStatus
from services.cases.pg_writes import PgWrites
from services.cases.sqlite_writes import SqliteWrites
from services.cases.state import Loaded
from services.cases.step_rows import PENDING_TASKS, STEP_TABLES


class TaskSync(PgWrites, SqliteWrites):
    """The step's task rows, over what `CaseStore`'s constructor sets up."""

    now: datetime
    created: dict[int, TaskState]

    if TYPE_CHECKING:
        # A row joining the session persistent and clean, defined by `CaseRow`.
        def _persistent(self, model: Any, values: dict[str, Any]) -> Any: ...

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
            self.created[task_id] = task
            loaded.task_rows[task_id] = trow

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
