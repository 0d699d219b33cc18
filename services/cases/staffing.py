"""Who holds a case's work: the open tasks of someone who lost roles or left go back to their pool (or to an
admin), and a person's open tasks across cases."""

from __future__ import annotations

from sqlalchemy import select

from db.models import Task, User, status_is
from flows.runtime import Effect, TaskCreated, TaskState, is_service_task
from flows.status import TaskStatus
from services import people as people_repo
from services.cases.saving import StepWrites
from services.cases.state import Loaded


class Staffing(StepWrites):
    """The open work a person holds: released, or listed."""

    async def release_tasks(
        self, user: User, roles: set[str] | None, actor_id: int | None, because: str = "role"
    ) -> list[tuple[Loaded, TaskState]]:
        """Someone lost roles (`roles`), or left altogether (`None`): their open tasks of those roles go back
        to the role's pool (the others get the card; a pool of one, its only person, told why: `because` is
        `role`, `left` or `unreachable`); a personal task of a person who left goes to the admins. The old
        holder's cards say where each task went, with no button. Returns the tasks that moved, with their cases."""
        moved: list[tuple[Loaded, TaskState]] = []
        for case_id in await self._cases_held_by(user):
            loaded = await self.load(case_id)
            effects: list[Effect] = []
            released: list[TaskState] = []
            for task in loaded.state.tasks:
                if task.assignee_id != user.id or task.status != TaskStatus.OPEN:
                    continue
                if task.role is not None and (roles is None or task.role in roles):
                    task.assignee_id = None
                elif task.role is None and roles is None and not is_service_task(task.key):
                    # (their own request being filled in, a move's or a correction's form: theirs, not work to hand on)
                    admins = await people_repo.admins(self.session)
                    heir = next((a for a in admins if a.id != user.id), None)
                    if heir is None:
                        continue
                    task.assignee_id = heir.id
                else:
                    continue
                row = loaded.task_rows[task.id or 0]
                row.assignee_id, row.claimed_at = task.assignee_id, None
                # The history says why, as the notice does.
                audit = {"task": task.key, "from": user.id, "because": because}
                self.store.audit(loaded, actor_id, "task.released", audit, task.id)
                effects.append(TaskCreated(task))  # the task is offered anew
                released.append(task)
            if effects:
                await self.save(loaded, effects, actor_id, "case.tasks_released", {"user": user.id})
            for task in released:  # now that it is known whose each one is (a pool of one is given its task)
                await self.notifier.task_released(loaded, task, user, because)
                moved.append((loaded, task))
        return moved

    async def open_tasks_of(self, user: User) -> list[tuple[Loaded, TaskState]]:
        """The person's open tasks of registered cases (not a request they are filling in), with their cases."""
        found: list[tuple[Loaded, TaskState]] = []
        for case_id in await self._cases_held_by(user):
            loaded = await self.load(case_id)
            mine = [t for t in loaded.state.tasks if t.assignee_id == user.id and t.status == TaskStatus.OPEN]
            found += [(loaded, t) for t in mine if not is_service_task(t.key)]
        return found

    async def _cases_held_by(self, user: User) -> list[int]:
        """The cases in which the person holds an open task, in order."""
        rows = await self.session.execute(
            select(Task.case_id).where(Task.assignee_id == user.id, status_is(Task.status, TaskStatus.OPEN)).distinct()
        )
        return sorted(rows.scalars())
