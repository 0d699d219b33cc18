"""The menu's three lists: a page of my open tasks, the processes I may start, my cases.

Who sees what comes from `services.access`; the chat words and sends the lists (`tgbot.views`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Case, Task
from flows.model import ProcessDef
from flows.runtime import START_TASK, CaseState, TaskState
from flows.status import TaskStatus
from services import access
from services import people as people_repo
from services.access import Viewer
from services.core import Core
from services.queries import case_states, open_tasks_page

PAGE = 10


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
        """Tasks held by the person or waiting in one of their roles' pools, the soonest due first."""
        query = open_tasks_page(viewer.user.id, viewer.roles, page + 1, access.visible_tasks(viewer))
        rows: list[Task] = list((await self.session.execute(query)).scalars())
        rows, more = rows[:page], len(rows) > page
        # The page's cases, and everyone their cards name, in a few statements for the whole page.
        states = await case_states(self.core, self.session, (r.case_id for r in rows))
        people: set[int] = set()
        for state in states.values():
            people |= {state.initiator_id, state.responsible_id or 0}
            people |= {i for task in state.tasks for i in (task.assignee_id or 0, task.done_by or 0)}
        users = await people_repo.users_by_ids(self.session, people - {0})
        entries = []
        for row in rows:
            state = states[row.case_id]
            entries.append((state, next(x for x in state.tasks if x.id == row.id)))
        names = {uid: u.name for uid, u in users.items()}
        return TaskPage(entries=entries, names=names, more=more, drafts=await self.drafts(viewer))

    async def drafts(self, viewer: Viewer, process: str | None = None) -> list[tuple[CaseState, TaskState]]:
        """The person's unfinished requests (start forms still open), the oldest first."""
        query = select(Task).where(
            Task.assignee_id == viewer.user.id, Task.key == START_TASK, Task.status == TaskStatus.OPEN
        )
        if process is not None:
            query = query.join(Case, Case.id == Task.case_id).where(Case.process == process)
        rows = list((await self.session.execute(query.order_by(Task.id))).scalars())
        states = await case_states(self.core, self.session, (r.case_id for r in rows))
        return [(states[r.case_id], next(x for x in states[r.case_id].tasks if x.id == r.id)) for r in rows]

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
