"""What an admin changes from the web panel: definitions (checked, loaded, rolled back), invites, roles, a person
revoked, a task reassigned, a case cancelled with a reason. Each one is written to the audit with `by: panel`
(the panel has one admin token, not a person, so the actor is the panel itself) in the caller's transaction.

The rules are the chat's: `services.team` checks roles, `services.access` says who may hold a task, the engine
hands tasks over and cancels cases; this module only strings them together for a form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditEntry, Case, Definition, Invite, User
from flows.i18n import _
from flows.loader import parse_definition
from flows.runtime import EngineError, TaskState
from flows.status import CASE_CLOSED
from services import access, attention, people
from services.cases import CaseService, Loaded
from services.core import Core
from services.library import ProcessLibrary, Upload
from services.team import Team, UnknownRoles

PANEL = "panel"
MAX_REASON = 500


def audit(
    core: Core, session: AsyncSession, action: str, data: dict[str, Any], *, case_id: int | None = None
) -> None:
    """One line of the audit for a change made in the panel."""
    session.add(
        AuditEntry(case_id=case_id, actor_id=None, action=action, data={**data, "by": PANEL}, at=core.clock.now())
    )


# --- processes ---------------------------------------------------------------------------------------------


async def upload_definition(core: Core, session: AsyncSession, text: str, name: str, *, load: bool) -> Upload:
    """Check a definition (raises `flows.loader.DefinitionError` with each problem's line); `load` makes it the
    version new cases start with."""
    upload = await ProcessLibrary(core, session).upload(text.encode(), name, load=load)
    if upload.version is not None:
        audit(core, session, "definition.loaded", {"process": upload.key, "version": upload.version, "file": name})
    return upload


async def roll_back(core: Core, session: AsyncSession, process: str, version: int) -> int:
    """New cases start on an earlier version again: its text is stored as the newest version (running cases
    keep theirs; the migrate form moves them). Returns the new version's number."""
    row = (
        await session.execute(select(Definition).where(Definition.process == process, Definition.version == version))
    ).scalar_one_or_none()
    if row is None:
        raise EngineError(_("No such version."))
    loaded = parse_definition(row.source, f"v{version}:{row.path.removeprefix('upload:')}")
    await core.registry.add(session, loaded, core.clock.now())
    newest = (await core.registry.versions(session))[process]
    audit(core, session, "definition.rolled_back", {"process": process, "from": version, "version": newest})
    return newest


# --- people ------------------------------------------------------------------------------------------------


async def invite(
    core: Core, session: AsyncSession, roles: list[str], *, organisation_id: int | None, uses: int
) -> Invite:
    """An invite link for `uses` people with these roles (bound to an organisation when one is given)."""
    Team(core, session).check_roles(roles)
    created = await people.create_invite(
        session,
        roles=roles,
        created_by=None,
        now=core.clock.now(),
        max_uses=max(1, min(uses, 1000)),
        organisation_id=organisation_id,
    )
    audit(core, session, "person.invited", {"roles": roles, "organisation": organisation_id, "uses": uses})
    return created


async def change_role(core: Core, session: AsyncSession, user_id: int, role: str, *, grant: bool) -> User:
    """Grant or revoke one role; a revoked role's tasks held by the person go back to the role's pool."""
    person, _roles = await Team(core, session).change_roles(str(user_id), [role], grant=grant)
    audit(core, session, "person.granted" if grant else "person.role_revoked", {"person": user_id, "role": role})
    return person


async def revoke_person(core: Core, session: AsyncSession, user_id: int) -> User:
    """The person no longer works here: inactive (every rule in `services.access` then shows them nothing) and
    every task they hold goes back to its role's pool."""
    person = await session.get(User, user_id)
    if person is None or person.is_admin:
        raise UnknownRoles([])
    person.active = False
    roles = await people.roles_of(session, person.id)
    await CaseService(core, session).release_tasks(person, roles, actor_id=None)
    audit(core, session, "person.revoked", {"person": user_id})
    return person


async def unreachable(session: AsyncSession) -> list[User]:
    """People the bot cannot write to (they blocked it) and people revoked: the admin's list to act on."""
    rows = await session.execute(
        select(User).where((User.unreachable_at.is_not(None)) | (User.active.is_(False))).order_by(User.id)
    )
    return list(rows.scalars())


# --- cases ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenTask:
    loaded: Loaded
    task: TaskState


async def _open_task(cases: CaseService, task_id: int) -> OpenTask:
    loaded = await cases.store.load_by_task(task_id)
    task = next((t for t in loaded.state.open_tasks() if t.id == task_id), None)
    if task is None:
        raise EngineError(_("This task is already done or no longer needed."))
    return OpenTask(loaded, task)


async def task_candidates(core: Core, session: AsyncSession, task: TaskState, company_id: int | None) -> list[User]:
    """Whom an open task of a role may go to: active members of the role who may see the case."""
    if task.role is None:
        return []
    members = [m for m in await people.members(session, task.role) if access.may_hold(m, {task.role}, task)]
    return await access.reachable(session, members, company_id)


async def open_task_candidates(core: Core, session: AsyncSession, case: Case) -> dict[int, list[User]]:
    """For the case page: each open task's possible new holders, by task id."""
    if case.status in CASE_CLOSED:
        return {}
    loaded = await CaseService(core, session).load(case.id, lock=False)
    return {
        t.id: await task_candidates(core, session, t, case.company_id) for t in loaded.state.open_tasks() if t.id
    }


async def reassign_task(core: Core, session: AsyncSession, task_id: int, to_id: int) -> User:
    """An open task of a role goes to another member of it (the new holder gets its card; the cards shown so
    far say who has it now)."""
    cases = CaseService(core, session)
    found = await _open_task(cases, task_id)
    target = await people.user_for_update(session, to_id)
    allowed = target is not None and target.id in {
        p.id for p in await task_candidates(core, session, found.task, found.loaded.row.company_id)
    }
    access.require(allowed, _("This person cannot take this task."))
    assert target is not None
    previous = found.task.assignee_id
    effects = core.engine.hand_over(found.loaded.state, found.task, target.id, keep_role=True)
    row = found.loaded.task_rows[task_id]
    row.assignee_id, row.claimed_at = target.id, None
    await cases.task_changed(found.loaded, found.task)
    detail = {"task": found.task.key, "from": previous, "to": target.id, "by": PANEL}
    await cases.save(found.loaded, effects, None, "task.reassigned", detail, task_id=task_id)
    return target


async def cancel_case(core: Core, session: AsyncSession, case_id: int, reason: str) -> Loaded:
    """The case stops for a reason the admin gives (kept in its history); its open tasks close."""
    reason = reason.strip()[:MAX_REASON]
    if not reason:
        raise EngineError(_("Say why the case is cancelled."))
    cases = CaseService(core, session)
    loaded = await cases.load(case_id)
    effects = core.engine.cancel(loaded.state, None)
    await cases.save(loaded, effects, None, "case.cancelled", {"reason": reason, "by": PANEL})
    return loaded


async def retry_case(core: Core, session: AsyncSession, case_id: int) -> int:
    """A failed step of the case goes back in line (the admin fixed its data or its definition)."""
    count = await attention.retry(session, case_id)
    audit(core, session, "case.retried", {"steps": count}, case_id=case_id)
    return count
