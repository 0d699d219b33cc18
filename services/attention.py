"""No case stuck in silence: when a step fails at run time (a person's answer, a timer), its transaction is
rolled back, the case is marked as needing attention with the error, the person is told in words, every
admin gets one message with the case, the step and the error, and an admin can retry the step once the
data or the definition is fixed."""

from __future__ import annotations

import logging
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Case, InboxUpdate, Outbox, Timer, User
from flows.expressions import ExpressionError
from flows.runtime import EngineError
from flows.status import InboxStatus, TimerStatus, transition
from services import channels, inbox
from services import people as people_repo
from services.core import Core
from services.i18n import Translator

log = logging.getLogger(__name__)


@dataclass
class StepRecord:
    """What the running step is about, noted as the case service works, so a failure can name it."""

    case_id: int | None = None
    step: str | None = None


# Set per update (or timer) by whoever runs the step; the case service fills it in as it goes.
current_step: ContextVar[StepRecord | None] = ContextVar("current_step", default=None)


def note(*, case_id: int | None = None, step: str | None = None) -> None:
    record = current_step.get()
    if record is None:
        return
    if case_id is not None:
        record.case_id = case_id
    if step is not None:
        record.step = step


def describe(error: BaseException, translator: Translator | None = None) -> str:
    """What went wrong, for the admins: a definition's condition or a refused step in words (in the company's
    language, with what to fix), anything else — a fault of ours — by its exception, for whoever reads the log."""
    text = f"{type(error).__name__}: {error}"
    if translator is not None and isinstance(error, ExpressionError | EngineError):
        try:
            said = translator.t(error.message, None, **error.params) if error.message else str(error)
            if isinstance(error, ExpressionError):  # its own words where it has them, else the analyst's English
                said = translator.t("The process definition needs fixing: %(what)s", None, what=said)
            text = said
        except (KeyError, ValueError, TypeError):  # a msgid whose values its front end fills in: as it was raised
            pass
    return text if len(text) <= 500 else text[:499] + "…"


async def step_failed(
    core: Core, *, case_id: int | None, step: str, error: str, person: User | None, now: datetime
) -> None:
    """In a transaction of its own (the step's was rolled back)."""
    async with core.sessionmaker() as session, session.begin():
        case = await session.get(Case, case_id) if case_id else None
        if case is not None:
            case.attention = f"{step}: {error}"[:2000]
        notifier = core.notifier_factory(session, people_repo.PeopleCache(session), now)
        await notifier.step_failed(case, step, error, person)
    core.outbox_written()
    log.error("case %s needs attention: %s: %s", case_id, step, error)


async def retry(session: AsyncSession, case_id: int) -> int:
    """Put the failed steps of a case back in line (updates and timers); returns how many. The attention
    mark is cleared now and set again if the step fails again. In the caller's transaction."""
    ids = list(
        (
            await session.execute(
                select(InboxUpdate.update_id).where(
                    InboxUpdate.case_id == case_id, InboxUpdate.status == InboxStatus.FAILED
                )
            )
        ).scalars()
    )
    count = 0
    for update_id in ids:
        count += int(await inbox.retry(session, update_id))
    timers = await session.execute(
        update(Timer)
        .where(Timer.case_id == case_id, Timer.status == TimerStatus.FAILED)
        .values(status=transition(TimerStatus.FAILED, TimerStatus.PENDING), fired_at=None)
        .execution_options(synchronize_session=False)
    )
    count += int(timers.rowcount or 0)  # type: ignore[attr-defined]
    await session.execute(update(Case).where(Case.id == case_id).values(attention=None))
    return count


async def undelivered(core: Core, session: AsyncSession, rows: list[Outbox]) -> None:
    """E-mails or SMS that failed for good: each one's responsible person (whose step sent it, else the case's
    initiator; with neither, the admins) is told at once what to send by hand and to whom."""
    notifier = core.notifier_factory(session, people_repo.PeopleCache(session), core.clock.now())
    notices = channels.notices(rows)
    # A notification goes on to the next channel of its fallback instead (services/channels/): it is the
    # person's own message, nobody sends it by hand; without a fallback the panel lists the failure.
    await channels.after_failure(session, notices, core.clock.now())
    for row in rows:
        if row in notices:
            continue
        person_id = row.payload.get("responsible_id")
        person = await session.get(User, person_id) if isinstance(person_id, int) else None
        if person is None and row.case_id is not None:
            case = await session.get(Case, row.case_id)
            person = await session.get(User, case.initiator_id) if case is not None else None
        for someone in [person] if person is not None else await people_repo.admins(session):
            await notifier.delivery_failed(row, someone)
