"""Who acts on a task, chooses its outcome, may be given it, and presses an escalation's buttons."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditEntry, Task, User
from flows.i18n import _
from flows.model import ProcessDef
from flows.runtime import ITEM_PREFIX, TaskState, task_def
from flows.status import TaskStatus
from services.access.viewer import is_active, require


def can_act_on_task(user: User | None, roles: Iterable[str], task: TaskState) -> bool:
    """Checked at the moment of action, with the person's roles as they are now: a task of a role is done by
    someone who still has the role (a revoked holder's old button is refused), a personal task by its holder."""
    if user is None or not is_active(user) or task.status != TaskStatus.OPEN:
        return False
    if task.role is not None and task.role not in set(roles):
        return False
    return task.assignee_id is None or task.assignee_id == user.id


def require_holder(user: User, task: Task | TaskState) -> None:
    """A task's outcome is chosen by the person holding it: a pool task is taken first."""
    require(task.status == "open", _("This task is already done or no longer needed."))
    require(task.assignee_id == user.id, _("This task is assigned to someone else."))


ESCALATED = "task.escalated"  # the audit entry written when a task's escalation is sent (with whom it went to)


async def escalated_to(session: AsyncSession, case_id: int, task_id: int) -> set[int]:
    """Everyone an escalation of this task went to (it may have escalated more than once)."""
    rows = await session.execute(
        select(AuditEntry.data).where(
            AuditEntry.case_id == case_id, AuditEntry.task_id == task_id, AuditEntry.action == ESCALATED
        )
    )
    return {int(i) for data in rows.scalars() for i in (data or {}).get("to", []) if isinstance(i, int)}


async def may_act_on_escalation(session: AsyncSession, user: User, case_id: int, task_id: int) -> bool:
    if not is_active(user):
        return False
    return bool(user.is_admin) or user.id in await escalated_to(session, case_id, task_id)


def task_roles(spec: ProcessDef, task: TaskState) -> set[str]:
    """The roles whose members may do a task: its role; for a personal task, the roles its person is picked
    among — a person field's `role` (`field:<name>`, or an entry's `item:<name>`), else the roles that may start
    the process (the initiator and the responsible are such people)."""
    if task.role is not None:
        return {task.role}
    try:
        tdef = task_def(spec, task.stage, task.key)
    except KeyError:
        return set(spec.start.roles)
    assignee = tdef.assignee
    fdef = None
    if assignee.startswith("field:"):
        fdef = spec.fields.get(assignee.removeprefix("field:"))
    elif assignee.startswith(ITEM_PREFIX) and tdef.for_each is not None:
        fdef = (spec.fields[tdef.for_each].fields or {}).get(assignee.removeprefix(ITEM_PREFIX))
    if fdef is not None and fdef.role is not None:
        return {fdef.role}
    return set(spec.start.roles)


def may_hold(user: User | None, roles: Iterable[str], task: TaskState, allowed: set[str] | None = None) -> bool:
    """Someone a task may be reassigned to: active, with one of the roles that may do it (`allowed`, by default
    the task's role), and not already holding it."""
    if user is None or not is_active(user):
        return False
    allowed = allowed if allowed is not None else ({task.role} if task.role else set())
    return bool(allowed & set(roles)) and task.assignee_id != user.id
