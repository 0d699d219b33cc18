"""Case service: loads a case, runs an engine command, writes the result (tasks, timers, outbox, audit)
in the caller's transaction. Handlers, the scheduler and the admin panel all go through here."""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditEntry, Case, Company, StoredFile, Task, TaskCard, Timer, User, WorkPeriod
from flows.context import case_context
from flows.i18n import _
from flows.model import NotifyCasesDef, ProcessDef, ReportDef
from flows.runtime import (
    START_TASK,
    BuildReport,
    CancelWait,
    CaseClosed,
    CaseState,
    Effect,
    EngineError,
    Notify,
    NotifyCases,
    Render,
    SendEmail,
    SetTimer,
    StageEntered,
    StartCase,
    TaskClosed,
    TaskCreated,
    TaskState,
    UpdateCompany,
    task_def,
)
from services import outbox, reports
from services import people as people_repo
from services.core import Core
from services.files import file_ref, render_docx

log = logging.getLogger(__name__)


@dataclass
class Loaded:
    row: Case
    state: CaseState
    task_rows: dict[int, Task]
    # Started by a person in chat right now: the start form is asked in that conversation, not as a card.
    interactive: bool = False


class TaskTaken(EngineError):
    def __init__(self, who: str) -> None:
        super().__init__(_("%(who)s has already taken this task."), who=who)


def task_state(row: Task) -> TaskState:
    return TaskState(
        key=row.key,
        stage=row.stage,
        visit=row.visit,
        kind=row.kind,
        role=row.role,
        assignee_id=row.assignee_id,
        status=row.status,  # type: ignore[arg-type]
        due_at=row.due_at,
        created_at=row.created_at,
        outcome=row.outcome,
        done_by=row.done_by,
        done_at=row.done_at,
        id=row.id,
    )


def case_state(row: Case, spec: ProcessDef, task_rows: Iterable[Task], data: dict[str, Any]) -> CaseState:
    """The engine's view of a case row and its open task rows."""
    return CaseState(
        spec=spec,
        initiator_id=row.initiator_id,
        stage=row.stage,
        status=row.status,  # type: ignore[arg-type]
        data=data,
        responsible_id=row.responsible_id,
        visit=row.visit,
        result=row.result,
        title=row.title,
        id=row.id,
        tasks=[task_state(t) for t in task_rows],
    )


async def load_work(session: AsyncSession, states: list[CaseState]) -> None:
    """Time worked on the open timed tasks of these cases, in one statement (shown on cards)."""
    timed = {
        t.id: t
        for state in states
        for t in state.tasks
        if t.id is not None and task_def(state.spec, t.stage, t.key).timing
    }
    if not timed:
        return
    for period in (await session.execute(select(WorkPeriod).where(WorkPeriod.task_id.in_(timed)))).scalars():
        task = timed[period.task_id]
        if period.ended_at is None:
            task.work_started_at = period.started_at
        else:
            task.worked_seconds += (period.ended_at - period.started_at).total_seconds()


class CaseService:
    def __init__(self, core: Core, session: AsyncSession) -> None:
        self.core = core
        self.session = session
        self.now = core.clock.now()
        # One command touches the same few people and roles many times (cards, names, notifications).
        self._members: dict[str, list[User]] = {}
        self._users: dict[int, User] = {}
        self._created: set[int] = set()  # tasks inserted by this command
        self._carded: set[int] = set()  # …of which these got cards

    # --- loading --------------------------------------------------------------------------------------

    async def load(self, case_id: int, *, lock: bool = True) -> Loaded:
        # populate_existing: a row read earlier in this session (unlocked) must be re-read under the lock.
        query = select(Case).where(Case.id == case_id).execution_options(populate_existing=True)
        if lock and not self.core.sqlite:
            # One command at a time per case; SQLite already serialises writers (BEGIN IMMEDIATE).
            query = query.with_for_update()
        row = (await self.session.execute(query)).scalar_one_or_none()
        if row is None:
            raise EngineError(_("This case does not exist."))
        spec = await self.core.registry.spec(self.session, row.definition_id)
        task_rows = list(
            (
                await self.session.execute(
                    select(Task)
                    .where(Task.case_id == case_id, Task.status == "open")
                    .order_by(Task.id)
                    .execution_options(populate_existing=True)
                )
            ).scalars()
        )
        state = case_state(row, spec, task_rows, data=copy.deepcopy(row.data))
        state.refs = await self._refs(spec, row.data)
        await load_work(self.session, [state])
        return Loaded(row=row, state=state, task_rows={t.id: t for t in task_rows})

    async def _refs(self, spec: ProcessDef, data: dict[str, Any]) -> dict[str, Any]:
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

    # --- commands -------------------------------------------------------------------------------------

    async def start(
        self,
        user: User,
        process: str,
        data: dict[str, Any] | None = None,
        *,
        parent: Loaded | None = None,
        scheduled: bool = False,
    ) -> Loaded:
        if process not in self.core.registry.current:
            raise EngineError(_("There is no such process."))
        definition_id, spec = self.core.registry.latest(process)
        if parent is None and not scheduled:
            roles = await people_repo.roles_of(self.session, user.id)
            if not (user.is_admin or roles & set(spec.start.roles)):
                raise EngineError(_("Your role cannot start this process."))
        # A hand-off carries fields by name: keep those the new process has.
        data = {k: v for k, v in (data or {}).items() if k in spec.fields}
        state, effects = self.core.engine.start(spec, user.id, data, await self._refs(spec, data))
        row = Case(
            definition_id=definition_id,
            process=spec.process,
            title=state.title,
            stage=state.stage,
            status=state.status,
            result=None,
            visit=state.visit,
            data={},
            initiator_id=user.id,
            responsible_id=user.id,
            parent_id=parent.row.id if parent else None,
            created_at=self.now,
            updated_at=self.now,
        )
        self.session.add(row)
        await self.session.flush()
        state.id = row.id
        loaded = Loaded(row=row, state=state, task_rows={}, interactive=parent is None and not scheduled)
        detail: dict[str, Any] = {"process": process, "version": definition_id}
        if parent is not None:
            detail["from_case"] = parent.row.id
        await self.save(loaded, effects, user.id, "case.started", detail)
        return loaded

    async def claim(self, user: User, task_id: int) -> Loaded:
        task_row = await self.task_row(task_id)
        loaded = await self.load(task_row.case_id)
        task = self._open_task(loaded, task_id)
        if task.assignee_id is not None and task.assignee_id != user.id:
            raise TaskTaken(await self._name(task.assignee_id))
        if task.assignee_id == user.id:
            return loaded
        roles = await people_repo.roles_of(self.session, user.id)
        effects = self.core.engine.claim(loaded.state, task, user.id, roles)
        # The guard in WHERE makes the claim atomic even without the case lock: exactly one person wins.
        won = await self.session.execute(
            update(Task)
            .where(Task.id == task_id, Task.assignee_id.is_(None), Task.status == "open")
            .values(assignee_id=user.id, claimed_at=self.now)
            .execution_options(synchronize_session=False)
        )
        if won.rowcount == 0:  # type: ignore[attr-defined]
            await self.session.refresh(loaded.task_rows[task_id])
            raise TaskTaken(await self._name(loaded.task_rows[task_id].assignee_id))
        loaded.task_rows[task_id].assignee_id = user.id
        loaded.task_rows[task_id].claimed_at = self.now
        await self.save(loaded, effects, user.id, "task.claimed", {"task": task.key}, task_id=task_id)
        await self._refresh_cards(loaded, task)
        return loaded

    async def submit(self, user: User, task_id: int, outcome: str, values: dict[str, Any]) -> Loaded:
        task_row = await self.task_row(task_id)
        loaded = await self.load(task_row.case_id)
        task = self._open_task(loaded, task_id)
        loaded.state.refs = await self._refs(loaded.state.spec, {**loaded.state.data, **values})
        effects = self.core.engine.submit(loaded.state, task, outcome, values, user.id)
        await self._close_work(task_id)
        await self.save(
            loaded,
            effects,
            user.id,
            "task.done",
            {"task": task.key, "outcome": outcome, "values": values},
            task_id=task_id,
        )
        return loaded

    async def cancel(self, user: User, case_id: int) -> Loaded:
        loaded = await self.load(case_id)
        if not (user.is_admin or loaded.state.initiator_id == user.id):
            raise EngineError(_("Only the initiator or an admin can cancel this case."))
        effects = self.core.engine.cancel(loaded.state, user.id)
        await self.save(loaded, effects, user.id, "case.cancelled", {})
        return loaded

    async def allowed_moves(self, user: User, loaded: Loaded) -> list[str]:
        roles = await people_repo.roles_of(self.session, user.id)
        return self.core.engine.allowed_moves(loaded.state, user.id, roles, user.is_admin)

    async def move(self, user: User, case_id: int, to: str) -> Loaded:
        loaded = await self.load(case_id)
        roles = await people_repo.roles_of(self.session, user.id)
        effects = self.core.engine.move(loaded.state, to, user.id, roles, user.is_admin)
        await self.save(loaded, effects, user.id, "case.move", {"to": to})
        return loaded

    async def start_work(self, user: User, task_id: int) -> Loaded:
        """Start or resume the timer of a timed task; only the person who holds the task may."""
        task_row = await self.task_row(task_id)
        loaded = await self.load(task_row.case_id)
        task = self._open_task(loaded, task_id)
        if not task_def(loaded.state.spec, task.stage, task.key).timing:
            raise EngineError(_("This task has no timer."))
        if task.assignee_id != user.id:
            raise EngineError(_("Take the task first; then you can start its timer."))
        if task.work_started_at is None:
            self.session.add(
                WorkPeriod(task_id=task_id, case_id=loaded.row.id, user_id=user.id, started_at=self.now, ended_at=None)
            )
            task.work_started_at = self.now
            self._audit(loaded, user.id, "work.started", {}, task_id=task_id)
            await self.session.flush()
            await self._refresh_cards(loaded, task)
        return loaded

    async def pause_work(self, user: User, task_id: int) -> Loaded:
        task_row = await self.task_row(task_id)
        loaded = await self.load(task_row.case_id)
        task = self._open_task(loaded, task_id)
        if task.assignee_id != user.id:
            raise EngineError(_("This task is assigned to someone else."))
        if task.work_started_at is not None:
            await self._close_work(task_id)
            task.worked_seconds += (self.now - task.work_started_at).total_seconds()
            task.work_started_at = None
            self._audit(loaded, user.id, "work.paused", {}, task_id=task_id)
            await self._refresh_cards(loaded, task)
        return loaded

    async def _close_work(self, task_id: int) -> None:
        await self.session.execute(
            update(WorkPeriod)
            .where(WorkPeriod.task_id == task_id, WorkPeriod.ended_at.is_(None))
            .values(ended_at=self.now)
        )

    async def fire(self, timer: Timer) -> None:
        if timer.case_id is None:
            return
        loaded = await self.load(timer.case_id)
        task = None
        if timer.task_id is not None:
            task = next((t for t in loaded.state.tasks if t.id == timer.task_id), None)
            if task is None:
                return  # the task is done: its reminders have nothing to say
        effects = self.core.engine.fire(
            loaded.state, timer.kind, task, timer.payload.get("stage"), timer.payload.get("visit")
        )
        await self.save(loaded, effects, None, f"timer.{timer.kind}", {"timer": timer.id}, task_id=timer.task_id)

    def _open_task(self, loaded: Loaded, task_id: int) -> TaskState:
        for task in loaded.state.tasks:
            if task.id == task_id:
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
        await self._sync_tasks(loaded)
        self._audit(loaded, actor_id, action, detail, task_id=task_id)
        for effect in effects:
            await self._apply(loaded, effect, actor_id)
        await self._sync_tasks(loaded)
        state, row = loaded.state, loaded.row
        if row.company_id is None:
            for name, fdef in state.spec.fields.items():
                value = state.data.get(name)
                if fdef.type == "company" and isinstance(value, dict) and isinstance(value.get("id"), int):
                    row.company_id = value["id"]
                    break
        row.stage, row.status, row.result, row.visit = state.stage, state.status, state.result, state.visit
        row.title, row.responsible_id = state.title, state.responsible_id
        row.data = copy.deepcopy(state.data)
        row.updated_at = self.now
        if state.status in ("done", "cancelled") and row.closed_at is None:
            row.closed_at = self.now
        await self.session.flush()

    async def _sync_tasks(self, loaded: Loaded) -> None:
        for task in loaded.state.tasks:
            if task.id is None:
                trow = Task(
                    case_id=loaded.row.id,
                    key=task.key,
                    stage=task.stage,
                    visit=task.visit,
                    kind=task.kind,
                    role=task.role,
                    assignee_id=task.assignee_id,
                    status=task.status,
                    outcome=task.outcome,
                    due_at=task.due_at,
                    created_at=task.created_at or self.now,
                    done_by=task.done_by,
                    done_at=task.done_at,
                )
                self.session.add(trow)
                await self.session.flush()
                task.id = trow.id
                self._created.add(trow.id)
                loaded.task_rows[trow.id] = trow
            else:
                trow = loaded.task_rows[task.id]
                trow.status, trow.outcome, trow.assignee_id = task.status, task.outcome, task.assignee_id
                trow.done_by, trow.done_at = task.done_by, task.done_at
                if task.status != "open":
                    trow.draft = None

    async def _apply(self, loaded: Loaded, effect: Effect, actor_id: int | None) -> None:
        if isinstance(effect, TaskCreated):
            await self._deliver_task(loaded, effect.task)
        elif isinstance(effect, TaskClosed):
            await self.session.execute(
                update(Timer)
                .where(Timer.task_id == effect.task.id, Timer.status == "pending")
                .values(status="cancelled")
            )
            await self._refresh_cards(loaded, effect.task)
        elif isinstance(effect, SetTimer):
            payload: dict[str, Any] = {}
            if effect.stage is not None:
                payload = {"stage": effect.stage, "visit": effect.visit}
            self.session.add(
                Timer(
                    case_id=loaded.row.id,
                    task_id=effect.task.id if effect.task else None,
                    kind=effect.kind,
                    due_at=effect.due_at,
                    status="pending",
                    payload=payload,
                )
            )
        elif isinstance(effect, Notify):
            await self._notify(loaded, effect)
        elif isinstance(effect, Render):
            await self._render(loaded, effect, actor_id)
        elif isinstance(effect, StageEntered):
            self._audit(loaded, actor_id, "stage.entered", {"from": effect.previous, "to": effect.stage})
        elif isinstance(effect, StartCase):
            initiator = await self.session.get(User, effect.initiator_id)
            if initiator is not None:
                child = await self.start(initiator, effect.process, effect.data, parent=loaded)
                self._audit(loaded, actor_id, "case.handoff", {"process": effect.process, "case": child.row.id})
        elif isinstance(effect, BuildReport):
            await self._build_report(loaded, effect.report, actor_id)
        elif isinstance(effect, NotifyCases):
            await self._notify_cases(loaded, effect.notify)
        elif isinstance(effect, SendEmail):
            files = [ref["id"] for name in effect.attach for ref in (loaded.state.data.get(name) or [])]
            row = outbox.enqueue(
                self.session,
                chat_id=0,
                method="email",
                now=self.now,
                payload={"to": effect.to, "subject": effect.subject, "body": effect.body, "file_ids": files},
            )
            row.channel = "email"
            self._audit(loaded, actor_id, "email.queued", {"to": effect.to, "subject": effect.subject})
        elif isinstance(effect, CancelWait):
            await self.session.execute(
                update(Timer)
                .where(Timer.case_id == loaded.row.id, Timer.kind == "wait", Timer.status == "pending")
                .values(status="cancelled")
            )
        elif isinstance(effect, UpdateCompany):
            company = await self.session.get(Company, effect.company_id)
            if company is not None:
                company.data = {**company.data, **effect.values}
                company.updated_at = self.now
        elif isinstance(effect, CaseClosed):
            self._audit(loaded, actor_id, "case.closed", {"status": effect.status, "result": effect.result})
            if actor_id != loaded.state.initiator_id or effect.status == "done":
                await self._notify(loaded, Notify(kind="closed", user_ids=(loaded.state.initiator_id,)))

    def _audit(
        self, loaded: Loaded, actor_id: int | None, action: str, data: dict[str, Any], task_id: int | None = None
    ) -> None:
        """Who did what to the case, when, with what data."""
        self.session.add(
            AuditEntry(
                case_id=loaded.row.id,
                task_id=task_id,
                actor_id=actor_id,
                action=action,
                data=_jsonable(data),
                at=self.now,
            )
        )

    async def _name(self, user_id: int | None) -> str:
        if user_id is None:
            return "?"
        user = await self.session.get(User, user_id)
        return user.name if user else "?"

    async def members(self, role: str) -> list[User]:
        if role not in self._members:
            self._members[role] = await people_repo.members(self.session, role)
            self._users.update({u.id: u for u in self._members[role]})
        return self._members[role]

    async def users(self, ids: Iterable[int]) -> dict[int, User]:
        missing = {i for i in ids if i and i not in self._users}
        if missing:
            self._users.update(await people_repo.users_by_ids(self.session, missing))
        return {i: self._users[i] for i in ids if i in self._users}

    async def names(self, state: CaseState, extra: list[int | None] = ()) -> dict[int, str]:  # type: ignore[assignment]
        ids = {state.initiator_id, state.responsible_id or 0, *extra}
        for task in state.tasks:
            ids |= {task.assignee_id or 0, task.done_by or 0}
        users = await self.users([i for i in ids if i])
        return {uid: u.name for uid, u in users.items()}

    async def _deliver_task(self, loaded: Loaded, task: TaskState) -> None:
        if task.key == START_TASK and loaded.interactive:
            return  # the initiator is already in the conversation that started the case
        recipients: list[User]
        if task.assignee_id is not None:
            user = await self.session.get(User, task.assignee_id)
            recipients = [user] if user else []
        else:
            assert task.role is not None
            recipients = await self.members(task.role)
            if len(recipients) == 1:
                # A pool of one needs no «take» step.
                task.assignee_id = recipients[0].id
                trow = loaded.task_rows[task.id or 0]
                trow.assignee_id, trow.claimed_at = task.assignee_id, self.now
            elif not recipients:
                await self._tell_admins(loaded, task)
                return
        names = await self.names(loaded.state, [u.id for u in recipients])
        attach = task_def(loaded.state.spec, task.stage, task.key).attach
        for user in recipients:
            text, keyboard = self.core.renderer.task_card(
                loaded.state, task, user.language, names=names, viewer_id=user.id, extra=self._extra(loaded)
            )
            row = outbox.message(self.session, user.tg_id, text, self.now, keyboard)
            await self.session.flush()
            self.session.add(TaskCard(task_id=task.id, user_id=user.id, outbox_id=row.id))
            self._carded.add(task.id or 0)
            self._send_files(loaded, user, attach)

    async def _tell_admins(self, loaded: Loaded, task: TaskState) -> None:
        renderer = self.core.renderer
        for admin in await people_repo.admins(self.session):
            text = renderer.t(
                "Nobody has the role «%(role)s», so the task «%(task)s» in %(case)s waits. "
                "Invite someone with this role.",
                admin.language,
                role=task.role,
                task=renderer.task_title(loaded.state.spec, task, admin.language),
                case=renderer.case_name(loaded.state, admin.language),
            )
            outbox.message(self.session, admin.tg_id, text, self.now)

    async def _refresh_cards(self, loaded: Loaded, task: TaskState) -> None:
        if task.id is None or (task.id in self._created and task.id not in self._carded):
            return  # created in this very command and never shown: nothing to edit
        cards = list((await self.session.execute(select(TaskCard).where(TaskCard.task_id == task.id))).scalars())
        if not cards:
            return
        users = await self.users([c.user_id for c in cards])
        names = await self.names(loaded.state, [task.assignee_id, task.done_by])
        for card in cards:
            user = users.get(card.user_id)
            if user is None:
                continue
            text, keyboard = self.core.renderer.task_card(
                loaded.state, task, user.language, names=names, viewer_id=user.id, extra=self._extra(loaded)
            )
            payload: dict[str, Any] = {"text": text}
            if keyboard:
                payload["reply_markup"] = keyboard
            outbox.enqueue(
                self.session,
                chat_id=user.tg_id,
                method="editMessageText",
                payload=payload,
                now=self.now,
                ref_id=card.outbox_id,
            )

    def _extra(self, loaded: Loaded) -> dict[str, Any]:
        return {"case": {"id": loaded.row.id, "title": loaded.state.title}, "today": self.now.date()}

    async def _notify(self, loaded: Loaded, effect: Notify) -> None:
        users: dict[int, User] = {}
        for role in effect.roles:
            for member in await self.members(role):
                users[member.id] = member
        users.update(await self.users(effect.user_ids))
        renderer = self.core.renderer
        state = loaded.state
        names = await self.names(state)
        for user in users.values():
            lang = user.language
            case_name = renderer.case_name(state, lang)
            keyboard = None
            if effect.kind == "text":
                body = renderer.template(effect.text, state.spec, state.data, lang, self._extra(loaded))
                text = f"🔔 {case_name}\n{body}"
                keyboard = renderer.case_button(loaded.row.id, lang)
            elif effect.kind == "closed":
                text = renderer.t(
                    "🏁 Case closed: %(case)s — %(stage)s",
                    lang,
                    case=case_name,
                    stage=renderer.stage_title(state.spec, state.stage, lang),
                )
            else:
                assert effect.task is not None
                task = effect.task
                title = renderer.task_title(state.spec, task, lang)
                when = renderer.when(task.due_at)
                if effect.kind == "reminder":
                    text = renderer.t(
                        "⏰ Reminder: «%(task)s» is due %(when)s.\n%(case)s",
                        lang,
                        task=title,
                        when=when,
                        case=case_name,
                    )
                elif effect.kind == "overdue":
                    text = renderer.t(
                        "⚠️ Overdue: «%(task)s» was due %(when)s.\n%(case)s", lang, task=title, when=when, case=case_name
                    )
                else:
                    holder = names.get(task.assignee_id or 0) or renderer.t("role %(r)s", lang, r=task.role)
                    text = renderer.t(
                        "⚠️ Escalation: «%(task)s» is overdue (due %(when)s), it is with %(who)s.\n%(case)s",
                        lang,
                        task=title,
                        when=when,
                        who=holder,
                        case=case_name,
                    )
            outbox.message(self.session, user.tg_id, text[:4000], self.now, keyboard)
            self._send_files(loaded, user, effect.attach)

    def _send_files(self, loaded: Loaded, user: User, field_names: Iterable[str]) -> None:
        state = loaded.state
        case_name = self.core.renderer.case_name(state, user.language)
        for field_name in field_names:
            label = self.core.renderer.local(state.spec.fields[field_name].label, user.language)
            for ref in state.data.get(field_name) or []:
                method = "sendPhoto" if ref.get("kind") == "photo" else "sendDocument"
                outbox.enqueue(
                    self.session,
                    chat_id=user.tg_id,
                    method=method,
                    now=self.now,
                    payload={"file_id": ref["id"], "caption": f"{label} · {case_name}"[:1000]},
                )

    async def _render(self, loaded: Loaded, effect: Render, actor_id: int | None) -> None:
        templates = self.core.templates_dir.resolve()
        path = (templates / effect.template).resolve()
        if templates not in path.parents or not path.is_file():
            raise EngineError(_("The document template %(name)s is missing."), name=effect.template)
        state = loaded.state
        context = case_context(state.spec, state.data, self._extra(loaded))
        content = render_docx(path, context)
        name = effect.name if effect.name.endswith(".docx") else f"{effect.name}.docx"
        stored = await self.core.files.add(
            self.session,
            content=content,
            name=name,
            kind="document",
            now=self.now,
            case_id=loaded.row.id,
            user_id=actor_id,
            mime_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        )
        state.data[effect.to] = [file_ref(stored)]

    async def _build_report(self, loaded: Loaded, report: ReportDef, actor_id: int | None) -> None:
        lang = self.core.config.default_language
        rows = await reports.build_rows(self.core, self.session, report, lang)
        title = self.core.translator.local(report.title, lang)
        headers = [self.core.translator.local(c.label, lang) for c in report.columns]
        totals: dict[str, float] = {}
        for name in report.totals:
            totals[name] = sum(r.numbers.get(name, 0.0) for r in rows)
        # Totals are fields of the cases reported on, so they are labelled from that process.
        reported = (
            self.core.registry.latest(report.process)[1]
            if report.process in self.core.registry.current
            else loaded.state.spec
        )
        labelled = {
            (self.core.translator.local(reported.fields[n].label, lang) if n in reported.fields else n): v
            for n, v in totals.items()
        }
        content = reports.to_xlsx(title, headers, rows, labelled, self.core.translator.t("Total", lang))
        stamp = self.now.astimezone(self.core.calendar.tz).strftime("%d.%m.%Y %H-%M")
        stored = await self.core.files.add(
            self.session,
            content=content,
            name=f"{title} {stamp}.xlsx",
            kind="document",
            now=self.now,
            case_id=loaded.row.id,
            user_id=actor_id,
            mime_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        loaded.state.data[report.to] = [file_ref(stored)]
        if report.summary is not None:
            lines = [self.core.translator.t("%(title)s: %(n)s", lang, title=title, n=len(rows))]
            lines += [f"{k}: {v:,.2f}".replace(",", " ").replace(".00", "") for k, v in labelled.items()]
            for row in rows[:30]:
                lines.append("• " + " · ".join(cell for cell in row.cells if cell))
            if len(rows) > 30:
                lines.append(self.core.translator.t("…and %(n)s more in the file.", lang, n=len(rows) - 30))
            loaded.state.data[report.summary] = "\n".join(lines)

    async def _notify_cases(self, loaded: Loaded, notify: NotifyCasesDef) -> None:
        cases = await reports.cases_at(self.session, notify.process, notify.stage)
        by_person: dict[int, list[Case]] = {}
        for case in cases:
            by_person.setdefault(case.responsible_id or case.initiator_id, []).append(case)
        people = await people_repo.users_by_ids(self.session, by_person)
        for user_id, own in by_person.items():
            user = people.get(user_id)
            if user is None:
                continue
            listed = []
            for case in own:
                spec = await self.core.registry.spec(self.session, case.definition_id)
                listed.append(
                    {
                        "id": case.id,
                        "title": case.title,
                        "stage": self.core.renderer.stage_title(spec, case.stage, user.language),
                    }
                )
            text = self.core.renderer.template(
                notify.text, loaded.state.spec, loaded.state.data, user.language, {"cases": listed}
            )
            outbox.message(self.session, user.tg_id, text[:4000], self.now)

    async def request_edit(self, user: User, case_id: int, name: str) -> Loaded:
        loaded = await self.load(case_id)
        effects = self.core.engine.request_edit(loaded.state, name, user.id, user.is_admin)
        await self.save(loaded, effects, user.id, "case.edit_requested", {"field": name})
        return loaded

    async def stored_file(self, file_id: int) -> StoredFile | None:
        return await self.session.get(StoredFile, file_id)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def task_title(core: Core, state: CaseState, task: TaskState, lang: str) -> str:
    return core.renderer.task_title(state.spec, task, lang)


__all__ = ["CaseService", "Loaded", "TaskTaken", "task_def"]
