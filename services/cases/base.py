"""What every case command stands on: the unit of work (the case store, the people read once, the notifier) and
reading a case for a command — loaded under its lock, seen only by those who may, an open task found."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Task, User
from flows.i18n import _
from flows.runtime import CaseState, EngineError, TaskState
from services import access, attention
from services import people as people_repo
from services.cases.state import Loaded
from services.cases.store import CaseStore
from services.core import Core
from services.people import PeopleCache

if TYPE_CHECKING:
    from services.cases.service import CaseService


class CaseServiceBase:
    """The state a `CaseService` holds for one unit of work, and reading a case for its commands."""

    def __init__(self, core: Core, session: AsyncSession) -> None:
        self.core = core
        self.session = session
        self.now = core.clock.now()
        self.store = CaseStore(session, core.registry, sqlite=core.sqlite, now=self.now)
        self.people = PeopleCache(session)
        self.notifier = core.notifier_factory(session, self.people, self.now)
        # Parents whose step is being applied in memory right now: a child ending meanwhile leaves them be.
        self.calling: set[int] = set()
        # Children whose end is being taken to their parent right now: a join it meets does not cancel them.
        self.returning: set[int] = set()

    @property
    def whole(self) -> CaseService:
        """This unit of work as the `CaseService` its parts are only ever put together into: what the effects'
        handlers and a sub-process's return are given, as they may reach any part."""
        return cast("CaseService", self)

    async def load(self, case_id: int, *, lock: bool = True) -> Loaded:
        return self._hint(await self.store.load(case_id, lock=lock))

    def _hint(self, loaded: Loaded) -> Loaded:
        """The case's people are read with the first person the step needs (one query for the step)."""
        state = loaded.state
        self.people.hint([state.initiator_id, state.responsible_id, *(t.assignee_id for t in state.tasks)])
        self.people.hint(card.user_id for cards in loaded.cards.values() for card in cards)
        return loaded

    async def visible(self, viewer: access.Viewer, case_id: int) -> Loaded:
        """The case, without a lock, if this person may see it."""
        loaded = await self.load(case_id, lock=False)
        await access.require_see(self.session, viewer, loaded.row, loaded.state.spec)
        return loaded

    async def in_scope(self, user: User, loaded: Loaded) -> Loaded:
        """Refuse a person acting on another organisation's case (a guessed case number or task id)."""
        allowed = await access.in_organisation_scope(self.session, user, loaded.row.company_id)
        access.require(allowed, _("You cannot see this case."))
        return loaded

    async def task_row(self, task_id: int) -> Task:
        return await self.store.task_row(task_id)

    async def names(self, state: CaseState, extra: list[int | None] | None = None) -> dict[int, str]:
        ids: set[int | None] = {state.initiator_id, state.responsible_id, *(extra or [])}
        for task in state.tasks:
            ids |= {task.assignee_id, task.done_by}
        return await self.people.names(ids)

    async def allowed_moves(self, user: User, loaded: Loaded) -> list[str]:
        roles = await people_repo.roles_of(self.session, user.id)
        return self.core.engine.allowed_moves(loaded.state, user.id, roles, user.is_admin)

    def _open_task(self, loaded: Loaded, task_id: int) -> TaskState:
        for task in loaded.state.tasks:
            if task.id == task_id:
                lang = self.core.config.default_language
                attention.note(step=self.core.wording.task_title(loaded.state.spec, task, lang, loaded.state.data))
                return task
        raise EngineError(_("This task is already done or no longer needed."))

    async def task_changed(self, loaded: Loaded, task: TaskState) -> None:
        await self.notifier.task_changed(loaded, task, fresh=task.id in self.store.created)

    def extra(self, loaded: Loaded) -> dict[str, Any]:
        """What templates may read besides the case's fields."""
        return {"case": {"id": loaded.row.id, "title": loaded.state.title}, "today": self.now.date()}
