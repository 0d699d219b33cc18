"""The work timer of a timed task: its holder starts, pauses and resumes it; the periods are the store's rows."""

from __future__ import annotations

from db.models import User
from flows.i18n import _
from flows.runtime import EngineError, task_def
from services.cases.base import CaseServiceBase
from services.cases.state import Loaded


class WorkTimer(CaseServiceBase):
    """A timed task's timer, started and paused by its holder."""

    async def start_work(self, user: User, task_id: int) -> Loaded:
        """Start or resume the timer of a timed task; only the person who holds the task may."""
        loaded = self._hint(await self.store.load_by_task(task_id))
        task = self._open_task(loaded, task_id)
        if not task_def(loaded.state.spec, task.stage, task.key).timing:
            raise EngineError(_("This task has no timer."))
        if task.assignee_id != user.id:
            raise EngineError(_("Take the task first; then you can start its timer."))
        if task.work_started_at is None:
            await self.store.start_work(loaded, task_id, user.id)
            task.work_started_at = self.now
            self.store.audit(loaded, user.id, "work.started", {}, task_id=task_id)
            await self.store.touch(loaded)  # with its rows: a press of the other timer button waiting reads this one's
            await self.task_changed(loaded, task)
        return loaded

    async def pause_work(self, user: User, task_id: int) -> Loaded:
        loaded = self._hint(await self.store.load_by_task(task_id))
        task = self._open_task(loaded, task_id)
        if task.assignee_id != user.id:
            raise EngineError(_("This task is assigned to someone else."))
        if task.work_started_at is not None:
            await self.store.close_work(task_id)
            task.worked_seconds += (self.now - task.work_started_at).total_seconds()
            task.work_started_at = None
            self.store.audit(loaded, user.id, "work.paused", {}, task_id=task_id)
            await self.store.touch(loaded)  # with its rows: a press of the other timer button waiting reads this one's
            await self.task_changed(loaded, task)
        return loaded
