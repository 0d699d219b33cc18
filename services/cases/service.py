"""Case commands: load the case, check who may, run the engine, apply its effects, save. One unit of work
per command, in the caller's transaction. Handlers, the scheduler and the panel all go through here.

`CaseService` is the one entry point; its parts are modules of their own: reading a case (`base`), the step's
writes (`saving`), who holds the work (`staffing`), unregistered requests (`drafts`), cancelling
(`cancelling`), who hears a case (`followers`), its items (`items`) and a task's work timer (`work_timer`).
Here: starting a case, taking and doing a task, moving it by hand, a timer firing."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value

from db.models import Case, Task, Timer, User
from flows.i18n import _
from flows.items import parse_item_edit, parse_item_task
from flows.runtime import (
    CALLED_BY,
    EDIT_PREFIX,
    MOVE_TASK,
    START_TASK,
    STARTED_BY,
    EngineError,
    replaced_values,
    task_def,
)
from flows.status import TaskStatus
from services import access, attention
from services import people as people_repo
from services.cases.cancelling import Cancelling
from services.cases.drafts import Drafts
from services.cases.followers import Followers
from services.cases.items import ItemCommands
from services.cases.staffing import Staffing
from services.cases.state import Loaded
from services.cases.work_timer import WorkTimer

log = logging.getLogger(__name__)


class TaskTaken(EngineError):
    def __init__(self, who: str) -> None:
        super().__init__(_("%(who)s has already taken this task."), who=who)


class CaseService(Staffing, Drafts, Cancelling, Followers, ItemCommands, WorkTimer):
    """The case commands, put together from their parts (the module's docstring names them)."""

    async def start(
        self,
        user: User,
        process: str,
        data: dict[str, Any] | None = None,
        *,
        parent: Loaded | None = None,
        scheduled: bool = False,
        called_by: dict[str, Any] | None = None,
        started_by: dict[str, Any] | None = None,
        continues: Loaded | None = None,
        registering: bool = False,
    ) -> Loaded:
        """A new case in `user`'s name. `scheduled`: nobody in chat started it (no role check, no form);
        `started_by` then says what did ({"lead": form} or {"schedule": cron}). `continues`: the case whose step started
        this one, which its initiator is told it continues (`Loaded.continues`). `registering`: started by a press
        in `user`'s chat; a case with nothing to ask is registered at once, and the chat hears so
        (`loaded.registered`) before the report and the task card its first stage gives them, as a start form's
        confirmation does."""
        if process not in self.core.registry.current:
            raise EngineError(_("There is no such process."))
        definition_id, spec = self.core.registry.latest(process)
        if parent is None and not scheduled:
            roles = await people_repo.roles_of(self.session, user.id)
            access.require(access.can_start(user, roles, spec), _("Your role cannot start this process."))
        # A hand-off carries fields by name: keep those the new process has.
        data = {k: v for k, v in (data or {}).items() if k in spec.fields}
        if called_by is not None:
            data[CALLED_BY] = called_by  # before the engine runs: a child may end in its very first step
        if started_by is not None:
            data[STARTED_BY] = started_by
        state, effects = self.core.engine.start(spec, user.id, data, await self.store.refs(spec, data))
        row = Case(
            definition_id=definition_id,
            process=spec.process,
            title=state.title,
            titles=state.titles,
            stage=state.stage,
            status=state.status,
            result=None,
            visit=state.visit,
            data={},
            initiator_id=user.id,
            responsible_id=user.id,
            parent_id=parent.row.id if parent else None,
            # A dealer's case is their organisation's (a hand-off keeps the parent's).
            company_id=parent.row.company_id if parent else user.organisation_id,
            created_at=self.now,
            updated_at=self.now,
        )
        await self.store.insert(row)
        state.id = row.id
        loaded = Loaded(
            row=row,
            state=state,
            task_rows={},
            interactive=parent is None and not scheduled,
            files_sent={},  # a new case: no file of it sent yet
            continues=continues,
        )
        if registering and not any(t.key == START_TASK and t.status == TaskStatus.OPEN for t in state.tasks):
            loaded.registering = user.id
        detail: dict[str, Any] = {"process": process, "version": definition_id}
        if parent is not None:
            detail["from_case"] = parent.row.id
        await self.save(loaded, effects, user.id, "case.started", detail)
        return loaded

    async def claim(self, user: User, task_id: int, *, answering: bool = False) -> Loaded:
        """`answering`: as `submit`'s, where taking the task is its work (`done_when_taken`)."""
        self.people.hint([user.id])  # the step's cards name who did it
        loaded = await self.in_scope(user, self._hint(await self.store.load_by_task(task_id)))
        task = self._open_task(loaded, task_id)
        if task.assignee_id is not None and task.assignee_id != user.id:
            raise TaskTaken(await self.people.name(task.assignee_id))
        taken_is_done = task_def(loaded.state.spec, task.stage, task.key).done_when_taken
        if task.assignee_id == user.id:
            # Already theirs (a pool of one): taking a task whose taking is the work still does it.
            return await self.submit(user, task_id, "done", {}, answering=answering) if taken_is_done else loaded
        roles = await people_repo.roles_of(self.session, user.id)
        effects = self.core.engine.claim(loaded.state, task, user.id, roles)
        # The guard in WHERE makes the claim atomic even without the case lock: exactly one person wins.
        won = await self.session.execute(
            update(Task)
            .where(Task.id == task_id, Task.assignee_id.is_(None), Task.status == TaskStatus.OPEN)
            .values(assignee_id=user.id, claimed_at=self.now)
            .execution_options(synchronize_session=False)
        )
        if won.rowcount == 0:  # type: ignore[attr-defined]
            await self.session.refresh(loaded.task_rows[task_id])
            raise TaskTaken(await self.people.name(loaded.task_rows[task_id].assignee_id))
        # What the guarded UPDATE wrote, as the row's committed state (nothing left for the unit of work).
        set_committed_value(loaded.task_rows[task_id], "assignee_id", user.id)
        set_committed_value(loaded.task_rows[task_id], "claimed_at", self.now)
        await self.save(loaded, effects, user.id, "task.claimed", {"task": task.key}, task_id=task_id)
        if taken_is_done:  # taking it is the work: done with the take
            return await self.submit(user, task_id, "done", {}, answering=answering)
        await self.task_changed(loaded, task)
        return loaded

    async def submit(
        self,
        user: User,
        task_id: int,
        outcome: str,
        values: dict[str, Any],
        *,
        registering: bool = False,
        answering: bool = False,
    ) -> Loaded:
        """`registering`: the start form, confirmed in the person's chat, which hears that the case is registered
        (`loaded.registered`) before anything the registration gives. `answering`: done in the person's chat, which
        answers it and says the process's own notices to them in that answer (`Loaded.answering`): the caller
        says them (`Notifier.own_words`)."""
        self.people.hint([user.id])
        loaded = await self.in_scope(user, self._hint(await self.store.load_by_task(task_id)))
        task = self._open_task(loaded, task_id)
        if registering and task.key == START_TASK:
            loaded.registering = user.id
        if answering:
            loaded.answering = user.id
        roles = await people_repo.roles_of(self.session, user.id)
        access.require(
            task.assignee_id == user.id and access.can_act_on_task(user, roles, task),
            _("This task is no longer yours: your roles have changed."),
        )
        loaded.state.refs = await self.store.refs(loaded.state.spec, {**loaded.state.data, **values})
        # What the answers replace goes into the history as «from X to Y» (the card keeps it too, as EARLIER).
        replaced = replaced_values(loaded.state.spec.fields, loaded.state.data, values)
        effects = self.core.engine.submit(loaded.state, task, outcome, values, user.id)
        if task_def(loaded.state.spec, task.stage, task.key).timing:
            await self.store.close_work(task_id)  # only timed tasks have work periods
        await self.save(
            loaded,
            effects,
            user.id,
            "task.done",
            {"task": task.key, "outcome": outcome, "values": values, **({"before": replaced} if replaced else {})},
            task_id=task_id,
        )
        return loaded

    async def move(self, user: User, case_id: int, to: str) -> Loaded:
        loaded = await self.in_scope(user, await self.load(case_id))
        roles = await people_repo.roles_of(self.session, user.id)
        effects = self.core.engine.move(loaded.state, to, user.id, roles, user.is_admin)
        loaded.asked_in_chat = (MOVE_TASK, to)  # the stage's missing fields, if any: the chat asks them at once
        await self.save(loaded, effects, user.id, "case.move", {"to": to})
        return loaded

    async def withdraw_move(self, user: User, task_id: int) -> Loaded:
        """The mover cancels a hand move's form (or an item move's): the move is not made (`Engine.withdraw_move`
        says when it may)."""
        loaded = self._hint(await self.store.load_by_task(task_id))
        task = self._open_task(loaded, task_id)
        effects = self.core.engine.withdraw_move(loaded.state, task, user.id)
        item = parse_item_task(task.key)
        if item is not None:
            detail = {"list": item[0], "index": item[1], "to": item[2]}
            await self.save(loaded, effects, user.id, "item.move_withdrawn", detail)
            return loaded
        edit = parse_item_edit(task.key)
        if edit is not None:
            detail = {"list": edit[0], "index": edit[1], "field": edit[2]}
            await self.save(loaded, effects, user.id, "item.edit_withdrawn", detail)
            return loaded
        await self.save(loaded, effects, user.id, "case.move_withdrawn", {"to": task.stage})
        return loaded

    async def request_edit(self, user: User, case_id: int, name: str) -> Loaded:
        loaded = await self.in_scope(user, await self.load(case_id))
        effects = self.core.engine.request_edit(loaded.state, name, user.id, user.is_admin)
        loaded.asked_in_chat = (EDIT_PREFIX + name, loaded.state.stage)
        await self.save(loaded, effects, user.id, "case.edit_requested", {"field": name})
        return loaded

    async def show_task(self, user: User, task_id: int) -> None:
        """A fresh card of a task for this person (theirs went up the chat); edited with the others from now on."""
        loaded = self._hint(await self.store.load_by_task(task_id))
        await self.notifier.task_given(loaded, self._open_task(loaded, task_id), [user])
        await self.store.touch(loaded)  # a card of its own now: a step waiting for the case reads it

    async def fire(self, timer: Timer) -> None:
        if timer.case_id is None:
            return
        loaded = await self.load(timer.case_id)
        task = None
        if timer.task_id is not None:
            task = next((t for t in loaded.state.tasks if t.id == timer.task_id), None)
            if task is None:
                return  # the task is done: its reminders have nothing to say
        payload = timer.payload
        item = (str(payload["list"]), int(payload["index"])) if "list" in payload and "index" in payload else None
        stage, visit = payload.get("stage"), payload.get("visit")
        effects = self.core.engine.fire(loaded.state, timer.kind, task, stage, visit, item)
        await self.save(loaded, effects, None, f"timer.{timer.kind}", {"timer": timer.id}, task_id=timer.task_id)

    async def retry_failed(self, viewer: access.Viewer, case_id: int) -> int:
        """An admin puts a case's failed steps back in line (after fixing its data or definition)."""
        access.require(access.can_retry(viewer), _("Only an admin can retry a step."))
        return await attention.retry(self.session, case_id)
