"""Read-only queries behind the web panel: the case list with each case's current step, deadline and
holder, search over what the admin sees, one case with its files, the delivery problems with the case
and the person they were for, and a process's versions with their running cases."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditEntry, Case, Definition, Outbox, StoredFile, Task, TaskCard, User, status_is
from flows.model import ProcessDef
from flows.status import CaseStatus, TaskStatus
from services import case_search
from services.core import Core
from services.migration import MIGRATED
from services.panel_words import names_of, search_terms, specs_of, user_ids


@dataclass
class OpenWork:
    """A case's open tasks, soonest due first: the current step's deadline and who holds it."""

    tasks: list[Task] = field(default_factory=list)

    @property
    def deadline(self) -> datetime | None:
        dues = [t.due_at for t in self.tasks if t.due_at is not None]
        return min(dues) if dues else None


@dataclass
class CasePage:
    cases: list[Case]
    work: dict[int, OpenWork]
    names: dict[int, str]
    specs: dict[int, ProcessDef]
    more: bool = False  # older cases follow this page
    indexing: int = 0  # cases changed since the search last wrote their words, which it cannot find yet


ATTENTION = "attention"  # the list's filter for cases a failed step left needing an admin


async def find_cases(
    core: Core,
    session: AsyncSession,
    *,
    process: str | None,
    status: str | None,
    text: str | None,
    lang: str,
    limit: int,
    offset: int = 0,
    stage: str | None = None,
    stage_process: str | None = None,
    overdue_at: datetime | None = None,
) -> CasePage:
    """A page of cases newest first (`limit` from `offset`), narrowed by process, stage (of `stage_process`), status
    (or needing attention), open work late at `overdue_at`, and a text found in the words the panel shows for them
    (every case's but the `indexing` ones not yet written: services/case_search.py)."""
    query = select(Case).order_by(Case.updated_at.desc(), Case.id.desc())
    if process:
        query = query.where(Case.process == process)
    if stage:
        query = query.where(Case.stage == stage)
        if stage_process:  # a stage key is the process's own: another process's stage of that key is another stage
            query = query.where(Case.process == stage_process)
    if overdue_at is not None:
        late = select(Task.case_id).where(status_is(Task.status, TaskStatus.OPEN), Task.due_at < overdue_at)
        query = query.where(Case.id.in_(late))
    if status == ATTENTION:
        query = query.where(Case.attention.is_not(None))
    elif status:
        query = query.where(Case.status == status)
    terms = search_terms(text or "", lang)
    indexing = 0
    if terms:
        indexing = await case_search.bring_up_to_date(core, session, core.config.case_search_bound)
        query = case_search.narrowed(query, terms, sqlite=session.get_bind().dialect.name == "sqlite")
    cases = list((await session.execute(query.offset(offset).limit(limit + 1))).scalars())
    more = len(cases) > limit
    del cases[limit:]
    work = await open_work(session, [c.id for c in cases])
    names = await names_of(session, [t.assignee_id for w in work.values() for t in w.tasks])
    return CasePage(cases, work, names, await specs_of(core, session, cases), more, indexing)


async def open_work(session: AsyncSession, case_ids: list[int]) -> dict[int, OpenWork]:
    work: dict[int, OpenWork] = {case_id: OpenWork() for case_id in case_ids}
    if not case_ids:
        return work
    rows = (
        await session.execute(
            select(Task)
            .where(Task.case_id.in_(case_ids), status_is(Task.status, TaskStatus.OPEN))
            .order_by(Task.due_at.is_(None), Task.due_at, Task.id)
        )
    ).scalars()
    for task in rows:
        work[task.case_id].tasks.append(task)
    return work


@dataclass
class CaseDetail:
    case: Case
    spec: ProcessDef
    tasks: list[Task]
    audit: list[AuditEntry]
    files: list[StoredFile]
    names: dict[int, str]
    # The versions the case was moved away from (`case.migrated`), by version number: its earlier history and
    # tasks name stages, tasks and fields the current version may no longer have.
    earlier: dict[int, ProcessDef] = field(default_factory=dict)

    def spec_by_entry(self) -> dict[int, ProcessDef]:
        """The version each history entry was written under, by the entry's id."""
        moves = [a for a in self.audit if a.action == MIGRATED]
        found: dict[int, ProcessDef] = {}
        index = 0
        for entry in self.audit:  # in the order they were written
            if index < len(moves) and entry.id > moves[index].id:
                index += 1
            version = (moves[index].data or {}).get("from_version") if index < len(moves) else None
            found[entry.id] = self.earlier.get(version, self.spec) if isinstance(version, int) else self.spec
        return found

    def spec_of_stage(self, stage: str) -> ProcessDef:
        """The version that knows `stage`: the current one, else the newest earlier one that had it."""
        if any(s.key == stage for s in self.spec.stages):
            return self.spec
        for _version, spec in sorted(self.earlier.items(), reverse=True):
            if any(s.key == stage for s in spec.stages):
                return spec
        return self.spec


async def case_detail(core: Core, session: AsyncSession, case_id: int) -> CaseDetail | None:
    case = await session.get(Case, case_id)
    if case is None:
        return None
    spec = await core.registry.spec(session, case.definition_id)
    tasks = list((await session.execute(select(Task).where(Task.case_id == case_id).order_by(Task.id))).scalars())
    audit = list(
        (
            await session.execute(select(AuditEntry).where(AuditEntry.case_id == case_id).order_by(AuditEntry.id))
        ).scalars()
    )
    files = list(
        (
            await session.execute(select(StoredFile).where(StoredFile.case_id == case_id).order_by(StoredFile.id))
        ).scalars()
    )
    people: set[int | None] = {case.initiator_id, case.responsible_id}
    people |= {t.assignee_id for t in tasks} | {t.done_by for t in tasks} | {a.actor_id for a in audit}
    people |= {f.uploaded_by for f in files} | user_ids(spec, case.data)
    for entry in audit:  # whom a task was escalated or handed to
        to = (entry.data or {}).get("to") if entry.action.startswith("task.") else None
        people |= {i for i in (to if isinstance(to, list) else [to]) if isinstance(i, int)}
    moved = [(a.data or {}).get("from_version") for a in audit if a.action == MIGRATED]
    moved_from = sorted({v for v in moved if isinstance(v, int)})
    earlier: dict[int, ProcessDef] = {}
    if moved_from:
        rows = await session.execute(
            select(Definition.id, Definition.version).where(
                Definition.process == case.process, Definition.version.in_(moved_from)
            )
        )
        earlier = {version: await core.registry.spec(session, row_id) for row_id, version in rows.all()}
    return CaseDetail(case, spec, tasks, audit, files, await names_of(session, people), earlier)


@dataclass
class Problem:
    row: Outbox
    case_id: int | None
    recipient: str  # a person's name, an e-mail address, or the bare chat id when nobody has it


async def delivery_problems(session: AsyncSession, limit: int) -> list[Problem]:
    rows = list(
        (
            await session.execute(
                select(Outbox).where(Outbox.status.in_(("failed", "uncertain"))).order_by(Outbox.id.desc()).limit(limit)
            )
        ).scalars()
    )
    if not rows:
        return []
    chats = {r.chat_id for r in rows if r.channel != "email"}
    people = dict((await session.execute(select(User.tg_id, User.name).where(User.tg_id.in_(chats)))).all())
    # Which case a message was about. Outbox rows have no case column; the links that exist are a task card
    # (a message showing a task), the files an e-mail carries, and the «e-mail queued» history entry.
    by_card = dict(
        (
            await session.execute(
                select(TaskCard.outbox_id, Task.case_id)
                .join(Task, Task.id == TaskCard.task_id)
                .where(TaskCard.outbox_id.in_([r.id for r in rows]))
            )
        ).all()
    )
    file_ids = {i for r in rows for i in r.payload.get("file_ids", []) if isinstance(i, int)}
    by_file = (
        dict(
            (await session.execute(select(StoredFile.id, StoredFile.case_id).where(StoredFile.id.in_(file_ids)))).all()
        )
        if file_ids
        else {}
    )
    problems = []
    for row in rows:
        in_payload = row.payload.get("case_id")
        case_id = row.case_id or (in_payload if isinstance(in_payload, int) else None) or by_card.get(row.id)
        if case_id is None:
            case_id = next((by_file[i] for i in row.payload.get("file_ids", []) if by_file.get(i)), None)
        if row.channel == "email":
            recipient = str(row.payload.get("to") or "—")
            if case_id is None:
                case_id = await _emailed_case(session, row)
        elif "notice" in row.payload or "person" in row.payload:
            # A notification (services/channels/): whom it was for, and where it went if it had an address.
            person = str(row.payload.get("person") or row.payload.get("notice", {}).get("person") or "")
            to = row.payload.get("to")
            recipient = f"{person} ({to})" if to and person else person or str(to or people.get(row.chat_id) or "—")
        else:
            recipient = str(row.payload.get("to") or people.get(row.chat_id) or row.chat_id)
        problems.append(Problem(row, case_id, recipient))
    return problems


async def _emailed_case(session: AsyncSession, row: Outbox) -> int | None:
    """The case whose history says this e-mail (same address and subject) was queued, latest first."""
    entries = (
        await session.execute(
            select(AuditEntry.case_id, AuditEntry.data)
            .where(AuditEntry.action == "email.queued")
            .order_by(AuditEntry.id.desc())
            .limit(200)
        )
    ).all()
    for case_id, data in entries:
        if data.get("to") == row.payload.get("to") and data.get("subject") == row.payload.get("subject"):
            return case_id
    return None


@dataclass(frozen=True)
class VersionRow:
    version: int
    definition_id: int
    created_at: datetime
    running: int  # cases in progress (or still being filled in) on this version
    path: str  # where the definition was loaded from
    current: bool = False  # the version new cases start with


async def process_versions(session: AsyncSession, process: str) -> list[VersionRow]:
    """Every stored version of a process, newest first, with how many running cases each has."""
    running = (
        select(Case.definition_id, func.count().label("n"))
        .where(Case.process == process, Case.status.in_((CaseStatus.ACTIVE, CaseStatus.DRAFT)))
        .group_by(Case.definition_id)
        .subquery()
    )
    rows = await session.execute(
        select(
            Definition.version,
            Definition.id,
            Definition.created_at,
            func.coalesce(running.c.n, 0),
            Definition.path,
            Definition.is_current,
        )
        .outerjoin(running, running.c.definition_id == Definition.id)
        .where(Definition.process == process)
        .order_by(Definition.version.desc())
    )
    return [VersionRow(v, i, at, int(n), path, bool(now)) for v, i, at, n, path, now in rows.all()]


async def stages_in_use(session: AsyncSession, definition_id: int) -> dict[str, int]:
    """Running cases of one version, by the stage they stand at."""
    rows = await session.execute(
        select(Case.stage, func.count())
        .where(Case.definition_id == definition_id, Case.status.in_((CaseStatus.ACTIVE, CaseStatus.DRAFT)))
        .group_by(Case.stage)
    )
    return {stage: int(n) for stage, n in rows.all()}


async def moved_tasks(session: AsyncSession, task_ids: list[int]) -> list[tuple[Task, Case]]:
    """Tasks a revoke or a role's removal moved, as they stand now, with their cases (the panel's «where they went»)."""
    if not task_ids:
        return []
    rows = await session.execute(
        select(Task, Case).join(Case, Case.id == Task.case_id).where(Task.id.in_(task_ids)).order_by(Task.id)
    )
    return [(task, case) for task, case in rows.all()]
