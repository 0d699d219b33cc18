"""Acting on an escalation: the person a late task was escalated to reassigns it to another member of its
role, moves its deadline (with a reason, audited), or takes it over. Who may press is `services.access`'s
rule; a button whose moment has passed (the task done, or already handed to someone else) is refused in words.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import User
from flows.i18n import _
from flows.runtime import EngineError, TaskState
from services import access
from services import people as people_repo
from services.cases import CaseService, Loaded

log = logging.getLogger(__name__)

EXTEND_DAYS = (1, 2, 3, 5)  # the deadlines offered: this many working days from now
EXTEND_REASON = "extend_reason"  # `User.prompt` kind: the next text is the reason for a new deadline
MAX_REASON = 500


@dataclass(frozen=True)
class Escalated:
    """The escalated task as the one who presses sees it."""

    loaded: Loaded
    task: TaskState


class Escalations:
    def __init__(self, cases: CaseService, user: User) -> None:
        self.cases = cases
        self.user = user
        self.session = cases.session

    async def _escalated(self, task_id: int, holder: int | None = None) -> Escalated:
        """The open escalated task, if this person may act on it; `holder`: who held it when the message was
        sent (0 for nobody) — a task handed to someone else since is refused as stale."""
        loaded = await self.cases.store.load_by_task(task_id)
        allowed = await access.may_act_on_escalation(self.session, self.user, loaded.row.id, task_id)
        access.require(allowed, _("Only the people this escalation went to can act on it."))
        task = next((t for t in loaded.state.open_tasks() if t.id == task_id), None)
        if task is None:
            raise EngineError(_("This task is already done or no longer needed."))
        if holder is not None and (task.assignee_id or 0) != holder:
            if task.assignee_id == self.user.id:  # «Take over» pressed again, or a reassign after taking it
                raise EngineError(_("This task is yours already: you took it over."))
            if task.assignee_id is None:
                raise EngineError(_("This task has gone back to its role since this message; nobody holds it now."))
            raise EngineError(
                _("This task has already been handed to %(who)s."), who=await self.cases.people.name(task.assignee_id)
            )
        return Escalated(loaded, task)

    async def candidates(self, task_id: int, holder: int) -> tuple[Escalated, list[User]]:
        """Whom the task may be reassigned to: the other active members of its role."""
        found = await self._escalated(task_id, holder)
        people = await may_take(self.session, found.loaded, found.task)
        if not people:
            raise EngineError(_("Nobody else has this task's role."))
        return found, people

    async def reassign(self, task_id: int, holder: int, to_id: int) -> tuple[Escalated, User]:
        found = await self._escalated(task_id, holder)
        target = await people_repo.user_for_update(self.session, to_id)
        roles = await people_repo.roles_of(self.session, to_id) if target is not None else set()
        allowed = access.task_roles(found.loaded.state.spec, found.task)
        access.require(access.may_hold(target, roles, found.task, allowed), _("This person cannot take this task."))
        assert target is not None
        reachable = await access.in_organisation_scope(self.session, target, found.loaded.row.company_id)
        access.require(reachable, _("This person cannot take this task."))
        await self._hand_over(found, target, keep_role=True, action="task.reassigned", taken=False)
        return found, target

    async def take_over(self, task_id: int, holder: int) -> Escalated:
        found = await self._escalated(task_id, holder)
        roles = await people_repo.roles_of(self.session, self.user.id)
        keep_role = found.task.role is not None and found.task.role in roles
        await self._hand_over(found, self.user, keep_role=keep_role, action="task.taken_over", taken=True)
        return found

    async def _hand_over(self, found: Escalated, target: User, *, keep_role: bool, action: str, taken: bool) -> None:
        await hand_over(self.cases, self.user, found.loaded, found.task, target, keep_role=keep_role, action=action,
                        taken=taken)


    # --- a new deadline -------------------------------------------------------------------------------

    async def deadlines(self, task_id: int) -> tuple[Escalated, list[tuple[int, datetime]]]:
        """The deadlines offered: EXTEND_DAYS working days (to the end of that working day) from the task's deadline
        while it is still ahead, else from now: «+1» never offers a date before the one it extends."""
        found = await self._escalated(task_id)
        calendar, start = self.cases.core.calendar, self._extended_from(found.task)
        return found, [(days, calendar.add_working_days(start, days)) for days in EXTEND_DAYS]

    def _extended_from(self, task: TaskState) -> datetime:
        due = task.due_at
        return due if due is not None and due > self.cases.now else self.cases.now

    async def ask_reason(self, task_id: int, days: int) -> Escalated:
        """A deadline was picked: the reason is asked next, as text (kept on the person, so nothing is lost)."""
        if days not in EXTEND_DAYS:
            raise EngineError(_("Pick one of the offered deadlines."))
        found = await self._escalated(task_id)
        due_at = self.cases.core.calendar.add_working_days(self._extended_from(found.task), days)
        self.user.prompt = {"kind": EXTEND_REASON, "task_id": task_id, "due_at": due_at.isoformat()}
        return found

    def reason_pending(self) -> bool:
        return reason_pending(self.user)

    def drop_reason(self) -> None:
        self.user.prompt = None

    async def extend(self, reason: str) -> tuple[Escalated, datetime]:
        """The reason came: the deadline moves, the timers follow, the holder is told; audited with the reason."""
        prompt = self.user.prompt or {}
        reason = reason.strip()
        if not reason:
            raise EngineError(_("Please write the reason in words."))
        self.user.prompt = None  # answered (or refused below: then it is no longer worth asking)
        task_id, due_at = int(prompt["task_id"]), datetime.fromisoformat(str(prompt["due_at"]))
        found = await self._escalated(task_id)
        loaded, task = found.loaded, found.task
        previous = task.due_at
        effects = self.cases.core.engine.extend(loaded.state, task, due_at)
        detail = {
            "task": task.key,
            "from": previous.isoformat() if previous else None,
            "to": due_at.isoformat(),
            "reason": reason[:MAX_REASON],
        }
        await self.cases.save(loaded, effects, self.user.id, "task.deadline_moved", detail, task_id=task.id)
        holder = await self.cases.people.user(task.assignee_id)
        if holder is not None and holder.id != self.user.id:
            await self.cases.notifier.deadline_moved(loaded, task, holder, self.user, reason[:MAX_REASON])
        return found, due_at


async def may_take(session: AsyncSession, loaded: Loaded, task: TaskState) -> list[User]:
    """Who may take an open task instead of its holder (an escalation's reassign, an admin's in chat or in the
    panel): the active members of the roles that may do it — for a personal task (the initiator's, a person
    field's) the roles its person is picked among — whom the case's organisation may be shown to."""
    allowed = access.task_roles(loaded.state.spec, task)
    members: dict[int, User] = {}
    for role in sorted(allowed):
        for member in await people_repo.members(session, role):
            if access.may_hold(member, {role}, task, allowed):
                members.setdefault(member.id, member)
    return await access.reachable(session, list(members.values()), loaded.row.company_id)


async def hand_over(
    cases: CaseService,
    by: User | None,
    loaded: Loaded,
    task: TaskState,
    target: User,
    *,
    keep_role: bool,
    action: str,
    taken: bool,
    detail: dict[str, Any] | None = None,
) -> None:
    """Give an open task to `target` (an escalation's reassign or take-over, an admin's reassign; `by` None: the
    panel): audited, the cards shown so far say who has it now, and the one who held it is told."""
    previous = task.assignee_id
    effects = cases.core.engine.hand_over(loaded.state, task, target.id, keep_role=keep_role)
    row = loaded.task_rows[task.id or 0]
    row.assignee_id, row.claimed_at = target.id, (cases.now if taken else None)
    await cases.task_changed(loaded, task)
    audited = {"task": task.key, "from": previous, "to": target.id, **(detail or {})}
    await cases.save(loaded, effects, by.id if by else None, action, audited, task_id=task.id)
    old = await cases.people.user(previous)
    if old is not None and (by is None or old.id != by.id):
        await cases.notifier.task_handed_over(loaded, task, old, target, by)


def reason_pending(user: User | None) -> bool:
    """The bot asked this person why a deadline moves and waits for the answer: read off the person alone (the
    bot's filters ask it before any service is made)."""
    return user is not None and bool(user.prompt and user.prompt.get("kind") == EXTEND_REASON)
