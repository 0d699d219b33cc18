"""The menu's three lists: a page of my open tasks, the processes I may start, my cases.

Who sees what comes from `services.access`; the chat words and sends the lists (`tgbot.views`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Case
from flows.model import ProcessDef
from flows.runtime import CaseState, TaskState
from services import access
from services import people as people_repo
from services.access import Viewer
from services.cases import load_work
from services.core import Core
from services.queries import my_tasks_page

PAGE = 10
_NEVER = datetime.max.replace(tzinfo=UTC)  # sorts a task without a due date last


@dataclass
class TaskPage:
    """A page of open tasks with their cases and the names their cards show."""

    entries: list[tuple[CaseState, TaskState]] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)
    more: bool = False  # there are more than a page of them
    drafts: list[tuple[CaseState, TaskState]] = field(default_factory=list)  # unfinished start forms


class Menu:
    def __init__(self, core: Core, session: AsyncSession) -> None:
        self.core = core
        self.session = session

    async def my_tasks(self, viewer: Viewer, page: int = PAGE) -> TaskPage:
        """Tasks held by the person or waiting in one of their roles' pools, the soonest due first, and the
        person's unfinished requests: one statement for all of them with what their cards show of their cases
        (`my_tasks_page`); names only if a card names someone other than the reader (almost never: the page holds
        their own tasks and their pools')."""
        query = my_tasks_page(viewer.user.id, viewer.roles, page + 1, access.visible_tasks(viewer))
        rows = (await self.session.execute(query)).all()
        states: dict[int, CaseState] = {}
        entries: list[tuple[CaseState, TaskState]] = []
        drafts: list[tuple[CaseState, TaskState]] = []
        for row in rows:
            task = TaskState(
                key=row.key, stage=row.stage, visit=row.visit, kind=row.kind, role=row.role,
                assignee_id=row.assignee_id, status=row.status, due_at=row.due_at, created_at=row.created_at,
                outcome=row.outcome, done_by=row.done_by, done_at=row.done_at, id=row.id,
            )  # fmt: skip
            state = states.get(row.case_id)
            if state is None:
                state = states[row.case_id] = CaseState(
                    spec=await self.core.registry.spec(self.session, row.definition_id),
                    initiator_id=row.initiator_id, stage=row.case_stage, status=row.case_status, data=row.data,
                    responsible_id=row.responsible_id, visit=row.case_visit, result=row.result, title=row.title,
                    id=row.case_id,
                )  # fmt: skip
            state.tasks.append(task)  # the case's tasks on this page only: the cards show nothing else of them
            (drafts if row.draft else entries).append((state, task))
        entries.sort(key=lambda e: (e[1].due_at is None, e[1].due_at or _NEVER, e[1].id or 0))
        drafts.sort(key=lambda e: e[1].id or 0)
        entries, more = entries[:page], len(entries) > page
        await load_work(self.session, [state for state, _task in entries])
        named = {i for _s, t in entries for i in (t.assignee_id, t.done_by) if i and i != viewer.user.id}
        names = {uid: u.name for uid, u in (await people_repo.users_by_ids(self.session, named)).items()}
        return TaskPage(entries=entries, names=names, more=more, drafts=drafts)

    def startable(self, viewer: Viewer) -> list[ProcessDef]:
        # A process started elsewhere (the order request: from the cart) is not offered here.
        return [s for s in access.startable(viewer, self.core.registry.current_specs()) if s.start.menu]

    async def my_cases(self, viewer: Viewer, page: int = PAGE) -> list[tuple[Case, ProcessDef]]:
        """The person's own cases (started or taken part in), not cancelled, the latest changed first."""
        query = (
            select(Case)
            .where(access.own_cases(viewer), Case.status != "cancelled")
            .order_by(Case.updated_at.desc())
            .limit(page)
        )
        cases = list((await self.session.execute(query)).scalars())
        return [(case, await self.core.registry.spec(self.session, case.definition_id)) for case in cases]
