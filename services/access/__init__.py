"""Who may see or do what: the one module every path asks (chat, `/case`, «my cases», exports, reports,
`notify_cases`, the panel). A new rule about visibility (a dealer sees only their organisation's cases)
goes here and nowhere else.

The rules today:
- an admin sees and may do everything;
- a person sees a case they started, took part in (held or did one of its tasks), or whose process
  names one of their roles; «my cases» lists those they started or took part in and those of the processes they
  are told about as cases go or get a digest of (`told_processes`);
- a process is started by its start roles; a case is cancelled by its initiator;
- the dealer portal offers ordering and reclamations only to dealers' staff who may start them, and the cart
  only to those who may do either; /orders only to the roles the order process names; the catalogue to those who
  work with it (`portal_rights`, `may_browse`);
- a task is acted on by its holder, or, while nobody holds it, by anyone with its role — and only by
  someone still registered and active; its outcome is chosen only by its holder;
- moves and edits follow the definition (the engine's `allowed_moves` and `request_edit` rules);
- an escalation's buttons (reassign, extend the deadline, take over) are pressed only by the people it
  went to (as the audit log recorded them when it was sent) and by admins; a task is reassigned only to an
  active member of its role.

Organisations (seed 4) narrow all of the above, as an AND:
- an external person (a dealer's staff, bound to one organisation) sees and acts on the cases of their own
  organisation only; a task of their role in another dealer's case is not theirs to see, take or be told of;
- someone holding a dealer's role with no organisation (roles are given with one; an old grant may lack it) is of
  no dealer: no organisation's case is theirs;
- a regional representative (a person with a region) sees the cases of organisations in their region, and
  the internal cases (no organisation) by the rules above;
- someone waiting for an admin's approval is inactive: they see nothing.

A case's comment thread is read by whoever may see the case; an internal note (the representative office's
own) is written and read by the internal side only: it never reaches an external person by any path — the
card, a notification, an export (`sees_internal`, `may_read_comment`, `comment_readers`).
Figures (shipments and sales per dealer) follow the same narrowing, dealers' cases only: `figures_scope`.

Two deliberate scopes outside a person's view: the web panel's token holder is an admin (sees all), and a
report a definition builds into a case covers the process it names (the definition decides who gets it) —
narrowed to the organisation when the case is a dealer's (`report_scope`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import ColumnElement, and_, false, or_, select, true, union
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditEntry, Case, Company, Task, User, UserRole
from flows.i18n import _
from flows.model import FILE_TYPES, CancelDef, NotifyAction, ProcessDef
from flows.runtime import ITEM_PREFIX, CaseState, EngineError, TaskState, task_def
from flows.status import TaskStatus


class AccessDenied(EngineError):
    """A refusal the person is told about in words."""


@dataclass(frozen=True)
class Viewer:
    """A person as the rules see them: the user row and their current roles."""

    user: User
    roles: frozenset[str]

    @classmethod
    def of(cls, user: User, roles: Iterable[str]) -> Viewer:
        return cls(user, frozenset(roles))

    @property
    def is_admin(self) -> bool:
        return bool(self.user.is_admin)


INTERNAL_ROLES = ("representative", "rep_service", "regional_rep")  # and `admin`, which is a flag, not a role
EXTERNAL_ROLES = ("dealer_manager", "dealer_service", "dealer_staff")  # always bound to one organisation


def is_external(user: User) -> bool:
    return user.organisation_id is not None and not user.is_admin


def organisation_scope(viewer: Viewer) -> ColumnElement[bool] | None:
    """The organisations' narrowing of `select(Case)` for this person (None: no narrowing)."""
    user = viewer.user
    if user.is_admin:
        return None
    if user.organisation_id is not None:
        return Case.company_id == user.organisation_id
    if viewer.roles & set(EXTERNAL_ROLES):
        # A dealer's role held with no organisation (granted before grants were checked, or by hand in the
        # database): that person is of no dealer, so no dealer's case is theirs — not every dealer's.
        return Case.company_id.is_(None)
    if user.region:
        in_region = select(Company.id).where(Company.region == user.region)
        return or_(Case.company_id.is_(None), Case.company_id.in_(in_region))
    return None


def may_name_company(user: User, company: Company) -> bool:
    """A form's company field: a dealer's staff find and name only their own organisation or companies they
    added themselves (another dealer's name and details are not theirs to see)."""
    return not is_external(user) or company.id == user.organisation_id or company.created_by == user.id


async def in_organisation_scope(session: AsyncSession, user: User, company_id: int | None) -> bool:
    """The same rule for one case (by its organisation): may this person see or be told of it at all?"""
    if user.is_admin:
        return True
    if user.organisation_id is not None:
        return company_id == user.organisation_id
    if company_id is not None and await _holds_external_role(session, user.id):
        return False  # a dealer's role with no organisation: no dealer's case (`organisation_scope`)
    if user.region and company_id is not None:
        company = await session.get(Company, company_id)
        return company is not None and company.region == user.region
    return True


async def _holds_external_role(session: AsyncSession, user_id: int) -> bool:
    found = await session.execute(
        select(UserRole.role).where(UserRole.user_id == user_id, UserRole.role.in_(EXTERNAL_ROLES)).limit(1)
    )
    return found.first() is not None


async def reachable(session: AsyncSession, people: Iterable[User], company_id: int | None) -> list[User]:
    """Those of `people` whom a case of this organisation may be shown to (a role's members, a notice's
    addressees): another dealer's staff are not told of it."""
    return [p for p in people if await in_organisation_scope(session, p, company_id)]


def require(allowed: bool, message: str) -> None:
    if not allowed:
        raise AccessDenied(message)


def is_active(user: User | None) -> bool:
    return user is not None and bool(user.active)


def may_open_mini_app(user: User | None) -> bool:
    """The Mini App acts as the person its signed initData names: only someone we know, active and approved (a
    newcomer by a dealer link waiting for an admin sees nothing there either)."""
    return is_active(user) and user is not None and not user.awaiting_approval


def roles_may_start(roles: Iterable[str], is_admin: bool, spec: ProcessDef) -> bool:
    return is_admin or bool(set(roles) & set(spec.start.roles))


def can_start(user: User, roles: Iterable[str], spec: ProcessDef) -> bool:
    return is_active(user) and roles_may_start(roles, bool(user.is_admin), spec)


def startable(viewer: Viewer, specs: Iterable[ProcessDef]) -> list[ProcessDef]:
    return [s for s in specs if can_start(viewer.user, viewer.roles, s)]


def may_start_for_dealer(viewer: Viewer, spec: ProcessDef | None) -> bool:
    """The dealer portal's processes (an order request from the cart, a reclamation from a product's card) are
    the dealer's: started by someone its definition lets start it who is bound to a dealer (None: the process
    is not loaded here)."""
    return spec is not None and viewer.user.organisation_id is not None and can_start(viewer.user, viewer.roles, spec)


@dataclass(frozen=True)
class PortalRights:
    """What the portal's buttons offer a person: a button they may not use is not shown."""

    order: bool  # «📝 Place the order», «🛒 Big order» (an order request from the cart)
    reclaim: bool  # «🛠 Reclamation» on a product's card (its initiator later picks its parts from the cart)
    # /orders: the organisation's requests, for a role the order process names (a dealer's service engineer is
    # not one: /help does not offer it, and /orders says so rather than «no requests yet»)
    orders: bool = False
    browse: bool = False  # the catalogue itself: the inline search, a product's card, its Excel file (`may_browse`)

    @property
    def cart(self) -> bool:
        """The cart feeds an order request or a reclamation's parts: of use to someone who may do either."""
        return self.order or self.reclaim


def portal_rights(viewer: Viewer, order: ProcessDef | None, reclamation: ProcessDef | None) -> PortalRights:
    sees_orders = order is not None and is_active(viewer.user) and (
        viewer.is_admin or bool(set(viewer.roles) & set(order.roles))
    )
    return PortalRights(
        may_start_for_dealer(viewer, order),
        may_start_for_dealer(viewer, reclamation),
        sees_orders,
        may_browse(viewer, order, reclamation),
    )


def may_browse(viewer: Viewer, order: ProcessDef | None, reclamation: ProcessDef | None) -> bool:
    """The maker's catalogue (its stock by warehouse, a dealer's prices) is for those who work with it: a dealer's
    staff, the maker's people with a role in the portal's processes (None: not loaded here), admins. Someone of
    another process (seed 5's medical sales manager) gets no results instead of the maker's stock."""
    user = viewer.user
    if user.is_admin or user.organisation_id is not None:
        return True
    return any(set(viewer.roles) & set(spec.roles) for spec in (order, reclamation) if spec is not None)


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
    mine = Case.id.in_(union(
        select(Case.id).where(Case.initiator_id == user.id),
        select(Task.case_id).where(Task.assignee_id == user.id),
        select(Task.case_id).where(Task.done_by == user.id),
    ))
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


def can_export(viewer: Viewer) -> bool:
    """Whole-process exports hold every case's data: admins only, for now."""
    return is_active(viewer.user) and viewer.is_admin


def can_manage(user: User | None) -> bool:
    """The admin's own actions on any case (find, reassign a task, cancel with a reason, retry, see who is
    unreachable): in chat and in the panel alike."""
    return is_active(user) and bool(user is not None and user.is_admin)
FIGURES_ROLES = ("representative", "regional_rep", "dealer_manager", "director")


def can_see_figures(viewer: Viewer) -> bool:
    """Shipments and sales per dealer (`/figures`): the representatives, admins, the company's director, and a
    dealer's manager (who sees their own organisation's only — `figures_scope`)."""
    return is_active(viewer.user) and roles_see_figures(viewer.roles, viewer.is_admin)


def roles_see_figures(roles: Iterable[str], is_admin: bool) -> bool:
    """The same by roles alone: whether the menu offers «📈 Figures» (a newcomer has no row to ask yet)."""
    return is_admin or bool(set(roles) & set(FIGURES_ROLES))


def figures_reach(viewer: Viewer) -> Literal["every", "own"] | None:
    """Whose figures /help tells this person they get: a dealer's staff their own organisation's (`figures_scope`),
    the others who see figures every dealer's (a regional representative's region reads as «each dealer» too)."""
    if not roles_see_figures(viewer.roles, viewer.is_admin):
        return None
    return "own" if viewer.user.organisation_id is not None and not viewer.is_admin else "every"


def figures_scope(viewer: Viewer) -> ColumnElement[bool]:
    """Which dealers' figures this person gets, a filter on `Case.company_id`: a dealer's staff their own
    organisation only; a regional representative the dealers of their region — one with no region set yet sees
    and approves every dealer's requests (`organisation_scope`), so counts every dealer too; the representative
    office, the director and admins every dealer."""
    user = viewer.user
    if not can_see_figures(viewer):
        return false()
    if viewer.is_admin:
        return Case.company_id.is_not(None)
    if user.organisation_id is not None:
        return Case.company_id == user.organisation_id
    if user.region:
        return Case.company_id.in_(select(Company.id).where(Company.region == user.region))
    if {"representative", "regional_rep", "director"} & set(viewer.roles):  # the director: the whole company's
        return Case.company_id.is_not(None)
    return false()


def can_retry(viewer: Viewer) -> bool:
    """Retrying a failed step re-runs it as its author: admins only."""
    return is_active(viewer.user) and viewer.is_admin


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


def sees_internal(viewer: Viewer) -> bool:
    """The internal side (the representative office, admins): writes and reads internal notes. Anyone bound to
    an organisation or holding an external role is outside it, whatever else they hold."""
    user = viewer.user
    if not is_active(user):
        return False
    if user.is_admin:
        return True
    return user.organisation_id is None and not viewer.roles & set(EXTERNAL_ROLES)


def may_read_comment(viewer: Viewer, internal: bool) -> bool:
    """A comment of a case the person may see: an internal note only for the internal side."""
    return not internal or sees_internal(viewer)


async def comment_readers(
    session: AsyncSession, case: Case, spec: ProcessDef, candidates: Iterable[Viewer], internal: bool
) -> list[User]:
    """Those of a case's participants a comment may reach: they may see the case, and, for an internal note,
    are of the internal side."""
    return [
        v.user for v in candidates if may_read_comment(v, internal) and await can_see(session, v, case, spec)
    ]
