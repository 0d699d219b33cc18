"""Requests not yet registered (a start form still open): a person's unfinished ones of a process, and those
left too long, closed with a word to their author."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from db.models import Case, Task, User, status_is
from flows.i18n import _
from flows.runtime import CONTINUED_AT, START_TASK, CaseClosed, CaseState, Effect, TaskState
from flows.status import CASE_CLOSED, TaskStatus
from services.cases.calls import return_to_parent
from services.cases.saving import StepWrites
from services.i18n import LANGUAGES

# Why a request left unfinished was closed, as its `on_cancel` texts read it (`cancel_reason`).
LEFT_UNFINISHED = _("started more than %(days)s days ago and never finished")


class Drafts(StepWrites):
    """Requests whose start form is still open."""

    async def drafts(self, user: User, process: str) -> list[tuple[CaseState, TaskState]]:
        """The person's unfinished requests of a process (start forms still open)."""
        rows = await self.session.execute(
            select(Task.case_id)
            .join(Case, Case.id == Task.case_id)
            .where(
                Task.assignee_id == user.id,
                Task.key == START_TASK,
                status_is(Task.status, TaskStatus.OPEN),
                Case.process == process,
            )
            .order_by(Task.id)
        )
        found = []
        for case_id in rows.scalars():
            loaded = await self.load(case_id, lock=False)
            task = next((t for t in loaded.state.tasks if t.key == START_TASK), None)
            # A request another case handed on is not their own draft: never offered to be dropped for a new one.
            if task is not None and CONTINUED_AT not in loaded.state.data:
                found.append((loaded.state, task))
        return found

    async def close_stale_drafts(self, older_than: timedelta) -> int:
        """Requests left unfinished longer than `older_than` are closed, with a note to their author."""
        cutoff = self.now - older_than
        rows = await self.session.execute(
            select(Task.case_id)
            .join(Case, Case.id == Task.case_id)
            .where(
                Task.key == START_TASK,
                status_is(Task.status, TaskStatus.OPEN),
                Task.created_at < cutoff,
                # A request another case handed on is work given (its number told), not a request left unfinished.
                Case.data[CONTINUED_AT].as_string().is_(None),
            )
        )
        closed = 0
        for case_id in rows.scalars().all():
            loaded = await self.load(case_id)
            if loaded.state.status in CASE_CLOSED:
                continue
            author = await self.people.user(loaded.state.initiator_id)
            # Not the «case closed» notice: the author gets a word about their unfinished request instead.
            # Its `on_cancel` texts read why, as a cancel's reason (never an empty «Причина: »).
            why = {lang: self.core.translator.t(LEFT_UNFINISHED, lang, days=older_than.days) for lang in LANGUAGES}
            effects: list[Effect] = [
                e for e in self.core.engine.cancel(loaded.state, None, why) if not isinstance(e, CaseClosed)
            ]
            await self.save(loaded, effects, None, "case.draft_expired", {"days": older_than.days})
            # Without its «closed» notice, a sub-process still owes its waiting parent the news.
            await return_to_parent(self.whole, loaded, CaseClosed(loaded.state.status, None), None)
            if author is not None:
                # The person's own row (not the directory's copy): its form's progress is changed here.
                person = await self.session.get(User, author.id)
                if person is not None and person.active_task_id in loaded.task_rows:
                    person.active_task_id = None
                await self.notifier.draft_expired(loaded, author, older_than.days)
            closed += 1
        return closed
