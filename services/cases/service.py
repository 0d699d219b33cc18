"""Case commands: load the case, check who may, run the engine, apply its effects, save. One unit of work
per command, in the caller's transaction. Handlers, the scheduler and the panel all go through here."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from db.models import Case, OrderExport, Task, Timer, User, status_is
from flows.i18n import _
from flows.items import parse_item_approval, parse_item_task
from flows.model import CancelDef
from flows.runtime import (
    CALLED_BY,
    EDIT_PREFIX,
    MOVE_TASK,
    START_TASK,
    STARTED_BY,
    CaseClosed,
    CaseState,
    Effect,
    EngineError,
    Notify,
    TaskClosed,
    TaskCreated,
    TaskState,
    is_service_task,
    replaced_values,
    task_def,
)
from flows.status import CASE_CLOSED, CaseStatus, TaskStatus
from services import access, attention, following, outbox
from services import people as people_repo
from services.cases.calls import return_to_parent
from services.cases.effects import apply_effect, audience, offered, pool
from services.cases.state import Loaded
from services.cases.store import CaseStore
from services.core import Core
from services.people import PeopleCache

log = logging.getLogger(__name__)


class TaskTaken(EngineError):
    def __init__(self, who: str) -> None:
        super().__init__(_("%(who)s has already taken this task."), who=who)


class CaseService:
    def __init__(self, core: Core, session: AsyncSession) -> None:
        self.core = core
        self.session = session
        self.now = core.clock.now()
        self.store = CaseStore(session, core.registry, sqlite=core.sqlite, now=self.now)
        self.people = PeopleCache(session)
        self.notifier = core.notifier_factory(session, self.people, self.now)
        # Parents whose step is being applied in memory right now: a child ending meanwhile leaves them be.
        self.calling: set[int] = set()
        # Children whose end is being taken to their parent right now: a join it meets does not cancel them.
        self.returning: set[int] = set()

    # --- reading --------------------------------------------------------------------------------------

    async def load(self, case_id: int, *, lock: bool = True) -> Loaded:
        return self._hint(await self.store.load(case_id, lock=lock))

    def _hint(self, loaded: Loaded) -> Loaded:
        """The case's people are read with the first person the step needs (one query for the step)."""
        state = loaded.state
        self.people.hint([state.initiator_id, state.responsible_id, *(t.assignee_id for t in state.tasks)])
        self.people.hint(card.user_id for cards in loaded.cards.values() for card in cards)
        return loaded

    async def visible(self, viewer: access.Viewer, case_id: int) -> Loaded:
        """The case, without a lock, if this person may see it."""
        loaded = await self.load(case_id, lock=False)
        await access.require_see(self.session, viewer, loaded.row, loaded.state.spec)
        return loaded

    async def mute(self, viewer: access.Viewer, case_id: int, muted: bool) -> Loaded:
        """A person who may see the case asks for no more stage lines about it (or for them): the initiator
        mutes or unmutes their case, anyone else stops or starts following it."""
        loaded = await self.visible(viewer, case_id)
        await following.set_muted(self.session, loaded.row.id, viewer.user.id, muted, self.now)
        if viewer.user.id != loaded.state.initiator_id:  # (their mute row: taking the case later keeps it quiet)
            await following.set_following(self.session, loaded.row.id, viewer.user.id, not muted, self.now)
        return loaded

    async def muted(self, user: User, case_id: int, initiator_id: int | None = None) -> bool:
        """Whether the person gets no stage lines about the case: muted by its initiator, not followed by others."""
        if initiator_id is not None and user.id != initiator_id:
            return not await following.is_following(self.session, case_id, user.id)
        return await following.is_muted(self.session, case_id, user.id)

    async def in_scope(self, user: User, loaded: Loaded) -> Loaded:
        """Refuse a person acting on another organisation's case (a guessed case number or task id)."""
        allowed = await access.in_organisation_scope(self.session, user, loaded.row.company_id)
        access.require(allowed, _("You cannot see this case."))
        return loaded

    async def task_row(self, task_id: int) -> Task:
        return await self.store.task_row(task_id)

    async def names(self, state: CaseState, extra: list[int | None] | None = None) -> dict[int, str]:
        ids: set[int | None] = {state.initiator_id, state.responsible_id, *(extra or [])}
        for task in state.tasks:
            ids |= {task.assignee_id, task.done_by}
        return await self.people.names(ids)

    async def allowed_moves(self, user: User, loaded: Loaded) -> list[str]:
        roles = await people_repo.roles_of(self.session, user.id)
        return self.core.engine.allowed_moves(loaded.state, user.id, roles, user.is_admin)

    # --- commands -------------------------------------------------------------------------------------

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
        started_after: dict[str, str] | None = None,
    ) -> Loaded:
        """A new case in `user`'s name. `scheduled`: nobody in chat started it (no role check, no form);
        `started_by` then says what did ({"lead": form} or {"schedule": cron}). `started_after`: the words telling
        the initiator which case's end started this one (`Loaded.started_after`)."""
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
            started_after=started_after,
        )
        detail: dict[str, Any] = {"process": process, "version": definition_id}
        if parent is not None:
            detail["from_case"] = parent.row.id
        await self.save(loaded, effects, user.id, "case.started", detail)
        return loaded

    async def claim(self, user: User, task_id: int) -> Loaded:
        self.people.hint([user.id])  # the step's cards name who did it
        loaded = await self.in_scope(user, self._hint(await self.store.load_by_task(task_id)))
        task = self._open_task(loaded, task_id)
        if task.assignee_id is not None and task.assignee_id != user.id:
            raise TaskTaken(await self.people.name(task.assignee_id))
        taken_is_done = task_def(loaded.state.spec, task.stage, task.key).done_when_taken
        if task.assignee_id == user.id:
            # Already theirs (a pool of one): taking a task whose taking is the work still does it.
            return await self.submit(user, task_id, "done", {}) if taken_is_done else loaded
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
            return await self.submit(user, task_id, "done", {})
        await self.task_changed(loaded, task)
        return loaded

    async def submit(
        self, user: User, task_id: int, outcome: str, values: dict[str, Any], *, registering: bool = False
    ) -> Loaded:
        """`registering`: the start form, confirmed in the person's chat, which hears that the case is registered
        (`loaded.registered`) before anything the registration gives."""
        self.people.hint([user.id])
        loaded = await self.in_scope(user, self._hint(await self.store.load_by_task(task_id)))
        task = self._open_task(loaded, task_id)
        if registering and task.key == START_TASK:
            loaded.registering = user.id
        roles = await people_repo.roles_of(self.session, user.id)
        access.require(
            task.assignee_id == user.id and access.can_act_on_task(user, roles, task),
            _("This task is no longer yours: your roles have changed."),
        )
        loaded.state.refs = await self.store.refs(loaded.state.spec, {**loaded.state.data, **values})
        # What the answers replace goes into the history as «from X to Y» (the card keeps it too, as EARLIER).
        replaced = replaced_values(loaded.state.spec, loaded.state.data, values)
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

    async def cancel(self, user: User, case_id: int, reason: str | None = None) -> Loaded:
        return (await self.cancel_or_ask(user, case_id, reason, ask=False))[0]

    async def cancel_rule(self, loaded: Loaded) -> CancelDef | None:
        """Who cancels the case outright where it stands, when its stage says (`cancel:`); None: as at any stage."""
        rule = self._declared_cancel(loaded)
        if rule is not None and rule.once_sent and await self.session.get(OrderExport, loaded.row.id) is None:
            return None  # no exchange has taken it yet: nobody outside would have to be told
        return rule

    @staticmethod
    def _declared_cancel(loaded: Loaded) -> CancelDef | None:
        state = loaded.state
        stage = next((s for s in state.spec.stages if s.key == state.stage), None)
        return stage.cancel if stage is not None else None

    async def cancel_rights(self, user: User, loaded: Loaded) -> tuple[bool, CancelDef | None]:
        """Whether the person cancels the case outright; else the rule under which they ask those who do (None:
        they may not). The roles a stage names cancel there always (the office at an order it may send to 1C, sent
        or not); its initiator and whoever leads it cancel outright until the rule binds them, then ask."""
        declared = self._declared_cancel(loaded)
        rule = await self.cancel_rule(loaded)
        roles = await people_repo.roles_of(self.session, user.id) if declared is not None else set()
        deciding = declared is not None and access.is_active(user) and bool(set(declared.by) & roles)
        if deciding or access.can_cancel(user, loaded.row, roles, rule):
            return True, None
        return False, rule if access.asks_to_cancel(user, loaded.row, roles, rule) else None

    async def cancel_or_ask(
        self, user: User, case_id: int, reason: str | None, *, ask: bool = True
    ) -> tuple[Loaded, tuple[str, ...]]:
        """Cancel the case; or, at a stage where others cancel it (an order 1C has) and `ask`, ask them to, with
        the reason. The case and the roles asked (none: it is cancelled)."""
        loaded = await self.load(case_id)
        outright, asked = await self.cancel_rights(user, loaded)
        if ask and asked is not None:
            await self.ask_cancel(loaded, user, reason or "", tuple(asked.by))
            return loaded, tuple(asked.by)
        access.require(outright, _("Only the initiator, the person leading the case or an admin can cancel it."))
        await self.close_cancelled(loaded, user.id, reason, {"reason": reason} if reason else {})
        return loaded, ()

    async def ask_cancel(self, loaded: Loaded, user: User, reason: str, deciders: tuple[str, ...]) -> None:
        """The request to cancel goes to the people of the deciding roles who may see the case; the history keeps
        it. The case goes on until one of them cancels it."""
        await self.save(loaded, [], user.id, "case.cancel_asked", {"reason": reason, "to": list(deciders)})
        members = {m.id: m for role in deciders for m in await self.people.members(role) if m.id != user.id}
        reached = await access.reachable(self.session, members.values(), loaded.row.company_id)
        await self.notifier.cancel_asked(loaded, user, reason, reached)

    async def close_cancelled(
        self, loaded: Loaded, actor_id: int | None, reason: str | None, detail: dict[str, Any]
    ) -> None:
        """Cancel the loaded case. Whoever held its open work (not the one cancelling) is told by a message of its
        own, with the reason: their card only says the task is no longer needed, and an edit does not ring."""
        work: dict[int, list[TaskState]] = {}
        for task in loaded.state.open_tasks():
            if task.assignee_id is not None and task.assignee_id != actor_id and task.key != START_TASK:
                work.setdefault(task.assignee_id, []).append(task)
        effects = self.core.engine.cancel(loaded.state, actor_id)
        loaded.closed_reason = reason
        loaded.told_cancelled = set(work)  # that message is theirs; the case's «cancelled» notice would be a second
        await self.save(loaded, effects, actor_id, "case.cancelled", detail)
        for person_id, tasks in work.items():
            person = await self.people.user(person_id)
            if person is not None:
                await self.notifier.work_cancelled(loaded, tasks, person)
        # Whoever did its work before hears it too (the approver of a dealer's order the dealer withdraws): a
        # stage with no open work (an order going to 1C) would otherwise end with nobody on that side told.
        rows = await self.session.execute(
            select(Task.done_by, Task.key).where(Task.case_id == loaded.row.id, status_is(Task.status, TaskStatus.DONE))
        )  # the loaded case holds its open tasks only
        # Their decisions: the definition's tasks and an item's move approved (its key is the engine's own).
        did = {done_by for done_by, key in rows.all() if not is_service_task(key) or parse_item_approval(key)}
        heard = {actor_id, loaded.state.initiator_id, loaded.state.responsible_id, *work}  # told above or on close
        people = [await self.people.user(p) for p in sorted(p for p in did - heard if p is not None)]
        # Only those who may still see the case (not someone who has since left, or left the dealer's region).
        present = [p for p in people if p is not None and p.active]
        for person in await access.reachable(self.session, present, loaded.row.company_id):
            await self.notifier.notify(loaded, Notify(kind="closed", user_ids=(person.id,)), [person])

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
        await self.save(loaded, effects, user.id, "case.move_withdrawn", {"to": task.stage})
        return loaded

    async def item_moves(self, user: User, loaded: Loaded, name: str, index: int) -> list[str]:
        roles = await people_repo.roles_of(self.session, user.id)
        return self.core.engine.item_moves(loaded.state, name, index, user.id, roles, user.is_admin)

    async def move_item(self, user: User, case_id: int, name: str, index: int, to: str) -> Loaded:
        """Move an item of the case along its track (or give the mover the form its new stage asks for); the
        case's stage follows its items in the same step."""
        loaded = await self.in_scope(user, await self.load(case_id))
        if name not in loaded.state.spec.tracks():
            raise EngineError(_("This case has no such items."))
        roles = await people_repo.roles_of(self.session, user.id)
        effects = self.core.engine.move_item(loaded.state, name, index, to, user.id, roles, user.is_admin)
        await self.save(loaded, effects, user.id, "item.move", {"list": name, "index": index, "to": to})
        return loaded

    async def show_item(self, user: User, case_id: int, name: str, index: int) -> None:
        """A fresh card of an item for this person (theirs went up the chat, or they were not among its people
        when its track began); it is edited with the others from now on."""
        from services.cases.items import item_cards  # items.py registers handlers with effects.py: import it late

        loaded = await self.in_scope(user, await self.load(case_id))
        shown = await self.notifier.item_shown(loaded, name, index, [user])
        item_cards(loaded, name, index).update({str(k): v for k, v in shown.items()})
        await self.store.write_case(loaded)

    async def show_task(self, user: User, task_id: int) -> None:
        """A fresh card of a task for this person (theirs went up the chat); edited with the others from now on."""
        loaded = self._hint(await self.store.load_by_task(task_id))
        await self.notifier.task_given(loaded, self._open_task(loaded, task_id), [user])
        await self.store.touch(loaded)  # a card of its own now: a step waiting for the case reads it

    async def request_edit(self, user: User, case_id: int, name: str) -> Loaded:
        loaded = await self.in_scope(user, await self.load(case_id))
        effects = self.core.engine.request_edit(loaded.state, name, user.id, user.is_admin)
        loaded.asked_in_chat = (EDIT_PREFIX + name, loaded.state.stage)
        await self.save(loaded, effects, user.id, "case.edit_requested", {"field": name})
        return loaded

    async def start_work(self, user: User, task_id: int) -> Loaded:
        """Start or resume the timer of a timed task; only the person who holds the task may."""
        loaded = self._hint(await self.store.load_by_task(task_id))
        task = self._open_task(loaded, task_id)
        if not task_def(loaded.state.spec, task.stage, task.key).timing:
            raise EngineError(_("This task has no timer."))
        if task.assignee_id != user.id:
            raise EngineError(_("Take the task first; then you can start its timer."))
        if task.work_started_at is None:
            await self.store.start_work(loaded, task_id, user.id)
            task.work_started_at = self.now
            self.store.audit(loaded, user.id, "work.started", {}, task_id=task_id)
            await self.store.touch(loaded)  # with its rows: a press of the other timer button waiting reads this one's
            await self.task_changed(loaded, task)
        return loaded

    async def pause_work(self, user: User, task_id: int) -> Loaded:
        loaded = self._hint(await self.store.load_by_task(task_id))
        task = self._open_task(loaded, task_id)
        if task.assignee_id != user.id:
            raise EngineError(_("This task is assigned to someone else."))
        if task.work_started_at is not None:
            await self.store.close_work(task_id)
            task.worked_seconds += (self.now - task.work_started_at).total_seconds()
            task.work_started_at = None
            self.store.audit(loaded, user.id, "work.paused", {}, task_id=task_id)
            await self.store.touch(loaded)  # with its rows: a press of the other timer button waiting reads this one's
            await self.task_changed(loaded, task)
        return loaded

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

    async def release_tasks(
        self, user: User, roles: set[str] | None, actor_id: int | None, because: str = "role"
    ) -> list[tuple[Loaded, TaskState]]:
        """Someone lost roles (`roles`), or left altogether (`None`): their open tasks of those roles go back
        to the role's pool (the others get the card; a pool of one, its only person, told why: `because` is
        `role`, `left` or `unreachable`); a personal task of a person who left goes to the admins. The old
        holder's cards say where each task went, with no button. Returns the tasks that moved, with their cases."""
        moved: list[tuple[Loaded, TaskState]] = []
        for case_id in await self._cases_held_by(user):
            loaded = await self.load(case_id)
            effects: list[Effect] = []
            released: list[TaskState] = []
            for task in loaded.state.tasks:
                if task.assignee_id != user.id or task.status != TaskStatus.OPEN:
                    continue
                if task.role is not None and (roles is None or task.role in roles):
                    task.assignee_id = None
                elif task.role is None and roles is None and not is_service_task(task.key):
                    # (their own request being filled in, a move's or a correction's form: theirs, not work to hand on)
                    admins = await people_repo.admins(self.session)
                    heir = next((a for a in admins if a.id != user.id), None)
                    if heir is None:
                        continue
                    task.assignee_id = heir.id
                else:
                    continue
                row = loaded.task_rows[task.id or 0]
                row.assignee_id, row.claimed_at = task.assignee_id, None
                # The history says why, as the notice does.
                audit = {"task": task.key, "from": user.id, "because": because}
                self.store.audit(loaded, actor_id, "task.released", audit, task.id)
                effects.append(TaskCreated(task))  # the task is offered anew
                released.append(task)
            if effects:
                await self.save(loaded, effects, actor_id, "case.tasks_released", {"user": user.id})
            for task in released:  # now that it is known whose each one is (a pool of one is given its task)
                await self.notifier.task_released(loaded, task, user, because)
                moved.append((loaded, task))
        return moved

    async def open_tasks_of(self, user: User) -> list[tuple[Loaded, TaskState]]:
        """The person's open tasks of registered cases (not a request they are filling in), with their cases."""
        found: list[tuple[Loaded, TaskState]] = []
        for case_id in await self._cases_held_by(user):
            loaded = await self.load(case_id)
            mine = [t for t in loaded.state.tasks if t.assignee_id == user.id and t.status == TaskStatus.OPEN]
            found += [(loaded, t) for t in mine if not is_service_task(t.key)]
        return found

    async def _cases_held_by(self, user: User) -> list[int]:
        """The cases in which the person holds an open task, in order."""
        rows = await self.session.execute(
            select(Task.case_id).where(Task.assignee_id == user.id, status_is(Task.status, TaskStatus.OPEN)).distinct()
        )
        return sorted(rows.scalars())

    async def drafts(self, user: User, process: str) -> list[tuple[CaseState, TaskState]]:
        """The person's unfinished requests of a process (start forms still open)."""
        rows = await self.session.execute(
            select(Task.case_id)
            .join(Case, Case.id == Task.case_id)
            .where(
                Task.assignee_id == user.id,
                Task.key == START_TASK,
                status_is(Task.status, TaskStatus.OPEN),
                Case.process == process,
            )
            .order_by(Task.id)
        )
        found = []
        for case_id in rows.scalars():
            loaded = await self.load(case_id, lock=False)
            task = next((t for t in loaded.state.tasks if t.key == START_TASK), None)
            if task is not None:
                found.append((loaded.state, task))
        return found

    async def close_stale_drafts(self, older_than: timedelta) -> int:
        """Requests left unfinished longer than `older_than` are closed, with a note to their author."""
        cutoff = self.now - older_than
        rows = await self.session.execute(
            select(Task.case_id).where(
                Task.key == START_TASK, status_is(Task.status, TaskStatus.OPEN), Task.created_at < cutoff
            )
        )
        closed = 0
        for case_id in rows.scalars().all():
            loaded = await self.load(case_id)
            if loaded.state.status in CASE_CLOSED:
                continue
            author = await self.people.user(loaded.state.initiator_id)
            # Not the «case closed» notice: the author gets a word about their unfinished request instead.
            effects: list[Effect] = [
                e for e in self.core.engine.cancel(loaded.state, None) if not isinstance(e, CaseClosed)
            ]
            await self.save(loaded, effects, None, "case.draft_expired", {"days": older_than.days})
            # Without its «closed» notice, a sub-process still owes its waiting parent the news.
            await return_to_parent(self, loaded, CaseClosed(loaded.state.status, None), None)
            if author is not None:
                # The person's own row (not the directory's copy): its form's progress is changed here.
                person = await self.session.get(User, author.id)
                if person is not None and person.active_task_id in loaded.task_rows:
                    person.active_task_id = None
                await self.notifier.draft_expired(loaded, author, older_than.days)
            closed += 1
        return closed

    async def retry_failed(self, viewer: access.Viewer, case_id: int) -> int:
        """An admin puts a case's failed steps back in line (after fixing its data or definition)."""
        access.require(access.can_retry(viewer), _("Only an admin can retry a step."))
        return await attention.retry(self.session, case_id)

    def _open_task(self, loaded: Loaded, task_id: int) -> TaskState:
        for task in loaded.state.tasks:
            if task.id == task_id:
                lang = self.core.config.default_language
                attention.note(step=self.core.wording.task_title(loaded.state.spec, task, lang))
                return task
        raise EngineError(_("This task is already done or no longer needed."))

    # --- writing the result ---------------------------------------------------------------------------

    async def save(
        self,
        loaded: Loaded,
        effects: list[Effect],
        actor_id: int | None,
        action: str,
        detail: dict[str, Any],
        task_id: int | None = None,
    ) -> None:
        # The step's messages and cards wait outside the unit of work until write_case takes them.
        opened = outbox.open_step(self.session)
        try:
            self.store.audit(loaded, actor_id, action, detail, task_id=task_id)
            await self._hint_recipients(effects)
            await self._give_pools_of_one(loaded, effects)
            await self.store.sync_tasks(loaded)
            # The effects add audit entries, timers, messages and cards; without autoflush each lookup in between
            # (people, roles) would write them one row at a time. They are written together by write_case, as
            # one multi-row INSERT per table; a handler that reads rows of this step flushes first.
            loaded.step_effects, loaded.noticed = effects, None
            with self.session.no_autoflush:
                await self._registered(loaded, effects)
                for effect in effects:
                    await apply_effect(self, loaded, effect, actor_id)
            await self.store.sync_tasks(loaded)
            await self._follow_taken(loaded)
            await self.store.write_case(loaded)
            if dropped_draft(loaded, effects):
                hook = self.core.draft_dropped.get(loaded.state.spec.process)
                if hook is not None:
                    loaded.given_back = await hook(self.session, loaded.state, self.now)
        finally:
            outbox.close_step(self.session, opened)

    async def _follow_taken(self, loaded: Loaded) -> None:
        """Whoever becomes the case's responsible in this step (a lead taken) follows it: where it goes is theirs
        to hear, until they stop following it (its card, a news line's button). Its initiator follows it anyway.
        Someone who muted the case before stays muted, and is told so once, with a button to hear it again."""
        taken = loaded.state.responsible_id
        if taken is None or taken == loaded.row.responsible_id:
            return
        initiator = taken == loaded.state.initiator_id
        if await following.responsible_follows(self.session, loaded.row.id, taken, self.now, initiator=initiator):
            return
        person = await self.people.user(taken)
        if person is not None and person.active:
            await self.notifier.muted_responsible(loaded, person)

    async def _registered(self, loaded: Loaded, effects: list[Effect]) -> None:
        """The chat that registers the case hears it first, in one message with the process's own notices to its
        author («Заявка передана на согласование»): not after the task card the registration gave them. A case
        moved by hand next is shown instead, with its moves (`Conversation.confirm`)."""
        if loaded.registering is None or loaded.registered:
            return
        person = await self.people.user(loaded.registering)
        if person is None:
            return
        if loaded.state.status == CaseStatus.ACTIVE and await self.allowed_moves(person, loaded):
            return
        notices = [e for e in effects if isinstance(e, Notify) and e.kind == "text"]
        own = [e for e in notices if person.id in await audience(self, loaded, e)]
        await self.notifier.registered(loaded, person, own)
        loaded.registered = True

    async def _hint_recipients(self, effects: list[Effect]) -> None:
        """The people the effects will write to (members of the roles of new tasks and notices; cached per
        process) join the step's one query for people."""
        roles: set[str] = set()
        for effect in effects:
            if isinstance(effect, TaskCreated) and effect.task.role and effect.task.assignee_id is None:
                roles.add(effect.task.role)
            elif isinstance(effect, Notify):
                roles.update(effect.roles)
                self.people.hint(effect.user_ids)
        for role in sorted(roles):
            self.people.hint(await people_repo.member_ids(self.session, role))

    async def _give_pools_of_one(self, loaded: Loaded, effects: list[Effect]) -> None:
        """A new task whose role has one person to offer it to is theirs before its row is written: a pool of
        one needs no «take» step, and the row goes in with its assignee (not inserted, then updated). Given, not
        taken: `claimed_at` stays empty, so the card does not tell them they took a task they never touched."""
        for effect in effects:
            if isinstance(effect, TaskCreated) and effect.task.id is None and offered(loaded, effect.task):
                recipients = await pool(self, loaded, effect.task)
                if len(recipients) == 1:
                    effect.task.assignee_id = recipients[0].id

    async def task_changed(self, loaded: Loaded, task: TaskState) -> None:
        await self.notifier.task_changed(loaded, task, fresh=task.id in self.store.created)

    def extra(self, loaded: Loaded) -> dict[str, Any]:
        """What templates may read besides the case's fields."""
        return {"case": {"id": loaded.row.id, "title": loaded.state.title}, "today": self.now.date()}


def dropped_draft(loaded: Loaded, effects: list[Effect]) -> bool:
    """This step cancelled a request before it was registered: the case is cancelled and its start form closed
    unanswered (by its author's «Cancel» or «Discard», a fresh start, an admin, or the drafts' expiry). A case
    already closed cannot be cancelled again, so this is true once per request."""
    if loaded.state.status != CaseStatus.CANCELLED:
        return False
    return any(
        isinstance(e, TaskClosed) and e.task.key == START_TASK and e.task.status == TaskStatus.CANCELLED
        for e in effects
    )
