"""What an admin does to any case, whether from chat (inline commands with buttons) or from the web panel: find a
case by its number or by any words in it, reassign an open task to someone who may do it, cancel a case with a
reason, retry a failed step, see who the bot can no longer reach. Every change is audited. Who may is
`services.access.can_manage` in chat; the panel checks its own session and acts as itself (no person: the
audit says `by: panel`). Each front end only words the results.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from db.models import AuditEntry, Case, User
from flows.i18n import _
from flows.runtime import EngineError, TaskState
from services import access, attention, panel_queries
from services.cases import CaseService, Loaded
from services.escalations import hand_over, may_take

log = logging.getLogger(__name__)

PANEL = "panel"  # the actor in the audit of what the panel changed (it has one admin token, not a person)
CANCEL_REASON = "cancel_reason"  # `User.prompt` kind: the admin's next text is why the case is cancelled
MAX_REASON = 500
FOUND_LIMIT = 10
NUMBER = re.compile(r"^\s*(?:№|#|no\.?\s*)?\s*(\d{1,9})\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Found:
    """Cases an admin's search found (newest first) and each case's nearest deadline among its open tasks (absent:
    nothing due)."""

    cases: list[Case]
    deadlines: dict[int, datetime] = field(default_factory=dict)
    indexing: int = 0  # changed cases the search cannot find yet (the scheduler is writing their words)


class AdminActions:
    def __init__(self, cases: CaseService, admin: User | None) -> None:
        """`admin`: the person acting in chat; None: the panel (its session was checked by the panel)."""
        self.cases = cases
        self.admin = admin
        self.session = cases.session
        self.by: dict[str, str] = {} if admin is not None else {"by": PANEL}  # added to each audited change

    @property
    def actor_id(self) -> int | None:
        return self.admin.id if self.admin is not None else None

    def _require(self) -> None:
        if self.admin is not None:
            access.require(access.can_manage(self.admin), _("Only an admin can do this."))

    # --- finding ----------------------------------------------------------------------------------------

    async def find(self, query: str, lang: str, limit: int = FOUND_LIMIT) -> Found:
        """`12`, `№12`: that case; any other words: the cases whose fields, people or title contain them."""
        self._require()
        number = NUMBER.match(query)
        if number is not None:
            case = await self.session.get(Case, int(number.group(1)))
            return Found([case] if case is not None else [])
        if not query.strip():
            raise EngineError(_("Write a case number or words to look for."))
        page = await panel_queries.find_cases(
            self.cases.core, self.session, process=None, status=None, text=query, lang=lang, limit=limit
        )
        deadlines = {case_id: work.deadline for case_id, work in page.work.items() if work.deadline is not None}
        return Found(page.cases, deadlines, page.indexing)

    async def case(self, case_id: int) -> Loaded:
        """A case as the admin manages it (any case, whoever's it is)."""
        self._require()
        return await self.cases.load(case_id, lock=False)

    # --- reassigning ------------------------------------------------------------------------------------

    async def _open_task(self, task_id: int) -> tuple[Loaded, TaskState]:
        self._require()
        loaded = await self.cases.store.load_by_task(task_id)
        task = next((t for t in loaded.state.open_tasks() if t.id == task_id), None)
        if task is None:
            raise EngineError(_("This task is already done or no longer needed."))
        return loaded, task

    async def candidates(self, task_id: int) -> tuple[Loaded, TaskState, list[User]]:
        """Who may do the open task instead of its holder (`escalations.may_take`)."""
        loaded, task = await self._open_task(task_id)
        return loaded, task, await self._others(loaded, task)

    async def _others(self, loaded: Loaded, task: TaskState) -> list[User]:
        people = await may_take(self.session, loaded, task)
        if not people:
            raise EngineError(_("Nobody else may do this task."))
        return people

    async def open_task_candidates(self, case_id: int) -> dict[int, list[User]]:
        """For a case's page: each open task's possible new holders, by task id (none for a closed case)."""
        self._require()
        loaded = await self.cases.load(case_id, lock=False)
        tasks = loaded.state.open_tasks() if loaded.state.status not in ("done", "cancelled") else []
        return {t.id: await may_take(self.session, loaded, t) for t in tasks if t.id}

    async def reassign(self, task_id: int, to_id: int) -> tuple[Loaded, TaskState, User]:
        """Give the open task to one of its candidates: the new holder gets its card, the old one is told."""
        loaded, task = await self._open_task(task_id)
        if task.assignee_id == to_id:  # an old picker pressed again: it is done already
            raise EngineError(_("This task is already with that person."))
        people = await self._others(loaded, task)
        target = next((p for p in people if p.id == to_id), None)
        access.require(target is not None, _("This person cannot take this task."))
        assert target is not None
        await hand_over(self.cases, self.admin, loaded, task, target, keep_role=True, action="task.reassigned",
                        taken=False, detail=self.by)
        log.info("admin %s reassigned task %s to %s", self.actor_id or PANEL, task_id, target.id)
        return loaded, task, target

    # --- cancelling -------------------------------------------------------------------------------------

    async def ask_cancel_reason(self, case_id: int) -> Loaded:
        """The admin chose to cancel a case: the reason is asked next, as text (kept on the person)."""
        loaded = await self.case(case_id)
        if loaded.state.status not in ("draft", "active"):
            raise EngineError(_("This case is already closed."))
        if self.admin is not None:
            self.admin.prompt = {"kind": CANCEL_REASON, "case_id": case_id}
        return loaded

    def cancel_pending(self) -> int | None:
        """The case whose cancellation waits for the admin's reason, if any."""
        return cancel_pending(self.admin)

    def drop_cancel(self) -> None:
        if self.admin is not None and self.cancel_pending() is not None:
            self.admin.prompt = None

    async def cancel(self, case_id: int, reason: str) -> Loaded:
        """Cancel the case for a reason: its open work closes, its people are told as for any cancellation, and
        the reason is audited."""
        self._require()
        reason = reason.strip()
        if not reason:
            raise EngineError(_("Please write the reason in words."))
        if len(reason) > MAX_REASON:  # the panel's textarea stops there too; a form posted by hand does not
            raise EngineError(_("The reason is too long: at most %(n)s characters, please."), n=MAX_REASON)
        if self.cancel_pending() == case_id:
            self.drop_cancel()
        loaded = await self.cases.load(case_id)
        # The case's people are told why, those who held its work by a message of their own.
        # The admin in chat is answered (`tgbot.admin_buttons`), with the process's words to them on the cancel.
        await self.cases.close_cancelled(loaded, self.actor_id, reason, {"reason": reason, **self.by}, answered=True)
        log.info("admin %s cancelled case %s", self.actor_id or PANEL, case_id)
        author_id = loaded.state.initiator_id
        if loaded.given_back and author_id is not None and author_id != self.actor_id:
            # A request cancelled before it was registered gave back what it held (an order's positions to the
            # cart): its author did not press anything, so they are told.
            author = await self.cases.people.user(author_id)
            if author is not None:
                await self.cases.notifier.given_back(loaded, author)
        return loaded

    # --- failed steps and unreachable people --------------------------------------------------------------

    async def retry(self, case_id: int) -> int:
        """Put the case's failed steps back in line (after fixing its data or definition); how many."""
        self._require()
        count = await attention.retry(self.session, case_id)
        if not count:  # nothing failed: the case's history says nothing was retried by saying nothing
            return 0
        at = self.cases.core.clock.now()
        detail = {"steps": count, **self.by}
        self.session.add(AuditEntry(case_id=case_id, actor_id=self.actor_id, action="case.retried", data=detail, at=at))
        return count

    async def needing_attention(self, limit: int = FOUND_LIMIT) -> list[Case]:
        """Cases whose step failed and waits for an admin, newest first."""
        self._require()
        query = select(Case).where(Case.attention.is_not(None)).order_by(Case.updated_at.desc()).limit(limit)
        return list((await self.session.execute(query)).scalars())

    async def unreachable_among(self, ids: set[int]) -> set[int]:
        """Which of these people the bot can no longer write to (read now: an admin's card is about today)."""
        if not ids:
            return set()
        query = select(User.id).where(User.id.in_(ids), User.unreachable_at.is_not(None))
        return set((await self.session.execute(query)).scalars())

    async def unreachable(self) -> list[User]:
        """People the bot can no longer write to (they blocked it, or their chat is gone), longest first."""
        self._require()
        query = select(User).where(User.unreachable_at.is_not(None)).order_by(User.unreachable_at, User.id)
        return list((await self.session.execute(query)).scalars())


def cancel_pending(admin: User | None) -> int | None:
    """The case whose cancellation waits for this admin's reason, if any: read off the person alone (the bot's
    filters ask it before any service is made)."""
    prompt = (admin.prompt if admin is not None else None) or {}
    return int(prompt["case_id"]) if prompt.get("kind") == CANCEL_REASON else None
