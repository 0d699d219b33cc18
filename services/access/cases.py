"""Which cases a person sees (`visible_cases`, «my cases», the processes they are told of, one case's `can_see`),
and who starts, cancels and edits a case."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select, true, union
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Case, Task, User
from flows.i18n import _
from flows.model import FILE_TYPES, CancelDef, NotifyAction, ProcessDef
from flows.runtime import CaseState
from services.access.organisations import in_organisation_scope, is_external, organisation_scope
from services.access.viewer import Viewer, is_active, require


def roles_may_start(roles: Iterable[str], is_admin: bool, spec: ProcessDef) -> bool:
    return is_admin or bool(set(roles) & set(spec.start.roles))


def can_start(user: User, roles: Iterable[str], spec: ProcessDef) -> bool:
    return is_active(user) and roles_may_start(roles, bool(user.is_admin), spec)


def startable(viewer: Viewer, specs: Iterable[ProcessDef]) -> list[ProcessDef]:
    return [s for s in specs if can_start(viewer.user, viewer.roles, s)]


def can_cancel(user: User, case: Case, roles: Iterable[str] = (), rule: CancelDef | None = None) -> bool:
    """Its initiator, whoever leads it (the manager who took a lead from the site, which nobody in chat started),
    or an admin. Where its stage names who cancels it (`rule`: an order 1C has, which the office cancels in 1C too),
    the people of those roles instead (and admins)."""
    if not is_active(user):
        return False
    if user.is_admin:
        return True
    if rule is not None:
        return bool(set(rule.by) & set(roles))
    return user.id in (case.initiator_id, case.responsible_id)


def asks_to_cancel(user: User, case: Case, roles: Iterable[str], rule: CancelDef | None) -> bool:
    """Its initiator (or whoever leads it) at a stage where others cancel it: their «Cancel» asks those others."""
    return rule is not None and can_cancel(user, case) and not can_cancel(user, case, roles, rule)


def can_edit(user: User, state: CaseState) -> bool:
    """Fields of a case are changed by its responsible or initiator (the definition says which fields)."""
    return is_active(user) and (user.is_admin or user.id in (state.responsible_id, state.initiator_id))


def _processes_of(roles: Iterable[str], specs: Iterable[ProcessDef]) -> set[str]:
    wanted = set(roles)
    return {s.process for s in specs if wanted & set(s.roles)}


def visible_cases(viewer: Viewer, specs: Iterable[ProcessDef]) -> ColumnElement[bool]:
    """A filter for `select(Case)`: the cases this person may see (`specs`: every loaded definition)."""
    user = viewer.user
    if not is_active(user):
        return false()
    if viewer.is_admin:
        return true()
    involved = select(Task.case_id).where(or_(Task.assignee_id == user.id, Task.done_by == user.id))
    processes = _processes_of(viewer.roles, specs)
    conditions: list[ColumnElement[bool]] = [Case.initiator_id == user.id, Case.id.in_(involved)]
    if processes:
        conditions.append(Case.process.in_(processes))
    scope = organisation_scope(viewer)
    return or_(*conditions) if scope is None else and_(scope, or_(*conditions))


async def report_scope(session: AsyncSession, case: Case) -> ColumnElement[bool] | None:
    """A report a definition builds into a dealer's case (one its external initiator raised) is read by that
    dealer's staff: it covers their organisation's cases only. Elsewhere it covers the process it names."""
    initiator = await session.get(User, case.initiator_id)
    if initiator is not None and is_external(initiator) and case.company_id == initiator.organisation_id:
        return Case.company_id == case.company_id
    return None


def visible_tasks(viewer: Viewer) -> ColumnElement[bool] | None:
    """A filter for `select(Task)` lists (a role's pool): only tasks of cases in the person's organisations."""
    scope = organisation_scope(viewer)
    return None if scope is None else Task.case_id.in_(select(Case.id).where(scope))


def own_cases(viewer: Viewer) -> ColumnElement[bool]:
    """“My cases”: started by this person or with their part in it (a subset of the visible ones)."""
    user = viewer.user
    if not is_active(user):
        return false()
    # One set of case ids, each part read through its own index (the cases' initiator, the tasks' assignee and
    # done_by): an OR of «started it» with «took part» made the database test every case against the tasks it
    # had read in full. «Did a task» stays a part of its own though today only the one a task is given to may
    # finish it: the list's rule is who did the work, not how the engine hands it out.
    mine = Case.id.in_(
        union(
            select(Case.id).where(Case.initiator_id == user.id),
            select(Task.case_id).where(Task.assignee_id == user.id),
            select(Task.case_id).where(Task.done_by == user.id),
        )
    )
    scope = organisation_scope(viewer)
    return mine if scope is None else and_(scope, mine)


def led_by(person: int | ColumnElement[Any]) -> ColumnElement[bool]:
    """A filter for `select(Case)`: the cases `person` (an id, or a statement's parameter for one) leads, as their
    responsible — the cases whose hand moves are theirs (`Engine.allowed_moves`: a move naming no roles is the
    responsible's). For an active person nobody narrows to organisations; else `led_cases`."""
    return Case.responsible_id == person


def led_cases(viewer: Viewer) -> ColumnElement[bool]:
    """`led_by` the person, within their organisations; nothing for someone whose access is closed."""
    user = viewer.user
    if not is_active(user):
        return false()
    mine = led_by(user.id)
    scope = organisation_scope(viewer)
    return mine if scope is None else and_(scope, mine)


def told_processes(viewer: Viewer, specs: Iterable[ProcessDef], *, digest: bool) -> set[str]:
    """The processes whose cases a person follows without a task in them, so «my cases» lists them too: those whose
    notices name one of their roles as a case goes (a director told of every registered claim), and, while their
    digest is on (`digest`), the processes the digest covers for their roles (`visible_cases`). A notice only at
    a final stage (an accountant told of a return by offset) is an outcome, not a case to follow."""
    if not is_active(viewer.user):
        return set()
    wanted = set(viewer.roles)
    told = set(_processes_of(wanted, specs)) if digest else set()
    for spec in specs:
        for stage in spec.stages:
            if not stage.final and any(
                isinstance(action, NotifyAction) and wanted & set(action.notify) for action in stage.on_enter
            ):
                told.add(spec.process)
    return told


def told_cases(viewer: Viewer, process: str) -> ColumnElement[bool]:
    """A filter for `select(Case)`: one of `told_processes`' processes, within the person's organisations (one
    process at a time, so each read is a range of `ix_cases_process_status_updated`)."""
    scope = organisation_scope(viewer)
    return Case.process == process if scope is None else and_(scope, Case.process == process)


def own_case(viewer: Viewer) -> ColumnElement[bool]:
    """`own_cases` tested case by case, each case's tasks read through their case index: for a walk through the
    newest cases (`services.menu`), where the person's whole set would be the larger read. (The `OFFSET 0` keeps
    PostgreSQL from planning the test as a hash of every task of the person's, which it did where their tasks
    were many of the table's: the read the walk is there to avoid.)"""
    user = viewer.user
    if not is_active(user):
        return false()
    took_part = (
        select(Task.id)
        .where(Task.case_id == Case.id, or_(Task.assignee_id == user.id, Task.done_by == user.id))
        .offset(0)
        .exists()
    )
    mine = or_(Case.initiator_id == user.id, took_part)
    scope = organisation_scope(viewer)
    return mine if scope is None else and_(scope, mine)


async def can_see(session: AsyncSession, viewer: Viewer, case: Case, spec: ProcessDef) -> bool:
    user = viewer.user
    if not is_active(user) or not await in_organisation_scope(session, user, case.company_id):
        return False
    if viewer.is_admin or case.initiator_id == user.id or viewer.roles & set(spec.roles):
        return True
    involved = await session.execute(
        select(Task.id)
        .where(Task.case_id == case.id, (Task.assignee_id == user.id) | (Task.done_by == user.id))
        .limit(1)
    )
    return involved.first() is not None


async def require_see(session: AsyncSession, viewer: Viewer, case: Case, spec: ProcessDef) -> None:
    require(await can_see(session, viewer, case, spec), _("You cannot see this case."))


def case_file(spec: ProcessDef, data: dict[str, object], file_id: int) -> dict[str, object] | None:
    """A stored file is given out through a case (a button naming its id) only when it is one of that case's own
    files — held by one of its file fields — and the asker may see the case (`require_see`, checked first). A
    guessed id of another case's file, another dealer's, is refused like an unknown one."""
    for name, fdef in spec.fields.items():
        if fdef.type not in FILE_TYPES:
            continue
        refs = data.get(name)
        for ref in refs if isinstance(refs, list) else []:
            if isinstance(ref, dict) and ref.get("id") == file_id:
                return ref
    return None


def can_see_process(viewer: Viewer, spec: ProcessDef) -> bool:
    """A process's diagram: admins, and the people who have a role in it (the diagram holds no case's data)."""
    return is_active(viewer.user) and (viewer.is_admin or bool(viewer.roles & set(spec.roles)))
