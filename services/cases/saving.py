"""The step's writes: what a command's effects do, written with the case in one go (`save`) — the tasks given to
a pool of one before their rows are written, the registering chat told first, whoever now leads the case
following it, a dropped request's hook."""

from __future__ import annotations

from typing import Any

from flows.model import organisation_role
from flows.runtime import (
    CONTINUED_AT,
    START_TASK,
    Effect,
    Notify,
    TaskClosed,
    TaskCreated,
    stage_waits_until,
    task_def,
)
from flows.status import CaseStatus, TaskStatus
from services import access, outbox
from services import people as people_repo
from services.cases.base import CaseServiceBase
from services.cases.effects import apply_effect, audience, in_order, offered, pool
from services.cases.followers import follow_taken
from services.cases.state import Loaded
from services.cases.store import case_company_id


class StepWrites(CaseServiceBase):
    """A command's step written: its effects applied and the case with its rows saved, in one go."""

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
            await self._give_organisations_own(loaded, effects)
            await self._hint_recipients(effects)
            await self._give_pools_of_one(loaded, effects)
            await self.store.sync_tasks(loaded)
            # The effects add audit entries, timers, messages and cards; without autoflush each lookup in between
            # (people, roles) would write them one row at a time. They are written together by write_case, as
            # one multi-row INSERT per table; a handler that reads rows of this step flushes first.
            loaded.step_effects, loaded.noticed = effects, None
            with self.session.no_autoflush:
                await self._registered(loaded, effects)
                await self._continued(loaded, effects)
                for effect in in_order(effects):
                    await apply_effect(self.whole, loaded, effect, actor_id)
            await self.store.sync_tasks(loaded)
            await follow_taken(self, loaded)
            await self.store.write_case(loaded)
            if dropped_draft(loaded, effects):
                hook = self.core.draft_dropped.get(loaded.state.spec.process)
                if hook is not None:
                    loaded.given_back = await hook(self.session, loaded.state, self.now)
        finally:
            outbox.close_step(self.session, opened)

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
        own = [e for e in notices if person.id in await audience(self.whole, loaded, e)]
        until = stage_waits_until(loaded.state, self.now, self.core.calendar)
        await self.notifier.registered(loaded, person, own, until)
        loaded.registered = True

    async def _continued(self, loaded: Loaded, effects: list[Effect]) -> None:
        """A case another one's step started: its initiator, who started nothing by hand, hears first which case it
        continues and what comes next, with the process's own notices to them in the same message — not their task's
        card first and the reason after."""
        parent = loaded.continues
        if parent is None or loaded.continued_to is not None:
            return
        # Where its first step stopped: the cards of that visit's tasks say which case it continues (`handoffs`).
        loaded.state.data.setdefault(CONTINUED_AT, loaded.state.visit)
        person = await self.people.user(loaded.state.initiator_id)
        if person is None or not person.active:
            return
        notices = [e for e in effects if isinstance(e, Notify) and e.kind == "text"]
        own = [e for e in notices if person.id in await audience(self.whole, loaded, e)]
        until = stage_waits_until(loaded.state, self.now, self.core.calendar)
        await self.notifier.continued(loaded, parent, person, own, until)
        loaded.continued_to = person.id

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

    async def _give_organisations_own(self, loaded: Loaded, effects: list[Effect]) -> None:
        """A new task for the case's organisation's own person (`assignee: organisation:<role>`) is theirs before
        its row is written, when the organisation names someone who may do it; else it stays the role's pool.
        Given, not taken, as a pool of one's. Only such tasks pay for the read."""
        for effect in effects:
            task = effect.task if isinstance(effect, TaskCreated) else None
            if task is None or task.id is not None or task.role is None or not offered(loaded, task):
                continue
            if organisation_role(task_def(loaded.state.spec, task.stage, task.key).assignee) != task.role:
                continue
            person = await access.organisations_own(self.session, case_company_id(loaded), task.role)
            if person is not None:
                task.assignee_id = person.id
                self.people.remember([person])

    async def _give_pools_of_one(self, loaded: Loaded, effects: list[Effect]) -> None:
        """A new task whose role has one person to offer it to is theirs before its row is written: a pool of
        one needs no «take» step, and the row goes in with its assignee (not inserted, then updated). Given, not
        taken: `claimed_at` stays empty, so the card does not tell them they took a task they never touched."""
        for effect in effects:
            if isinstance(effect, TaskCreated) and effect.task.id is None and offered(loaded, effect.task):
                recipients = await pool(self.whole, loaded, effect.task)
                if len(recipients) == 1:
                    effect.task.assignee_id = recipients[0].id


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
