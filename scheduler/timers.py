"""The clock: wake the engine for due timers (deadlines, reminders, escalations, waits).

Timers are rows. Each due timer is handled in its own transaction that first locks its case (the same
order handlers use, so no deadlock), then takes the timer row with SKIP LOCKED and marks it fired in that
same transaction. A crash before commit leaves it pending; a second worker skips it or sees it fired.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select

from db.models import Case, Timer
from flows.status import TimerStatus, transition
from scheduler.cron import fire_schedule
from services import attention, digests
from services.cases import CaseService
from services.core import Core

log = logging.getLogger(__name__)


async def due_timer_ids(core: Core, now: datetime, limit: int = 200) -> list[int]:
    async with core.sessionmaker() as session:
        rows = await session.execute(
            select(Timer.id)
            .where(Timer.status == TimerStatus.PENDING, Timer.due_at <= now)
            .order_by(Timer.due_at, Timer.id)
            .limit(limit)
        )
        return list(rows.scalars())


async def fire_timer(core: Core, timer_id: int, now: datetime) -> bool:
    """Fire one timer; False if another worker already did (or is doing) it."""
    async with core.sessionmaker() as session, session.begin():
        case_id = (await session.execute(select(Timer.case_id).where(Timer.id == timer_id))).scalar_one_or_none()
        if case_id is not None and not core.sqlite:
            await session.execute(select(Case.id).where(Case.id == case_id).with_for_update())
        query = select(Timer).where(Timer.id == timer_id, Timer.status == TimerStatus.PENDING)
        if not core.sqlite:
            query = query.with_for_update(skip_locked=True)
        timer = (await session.execute(query)).scalar_one_or_none()
        if timer is None:
            return False
        failure: str | None = None
        try:
            async with session.begin_nested():
                if timer.kind == "cron":
                    await fire_schedule(core, session, timer)
                elif timer.kind == digests.KIND:
                    await digests.fire(core, session, timer)
                else:
                    await CaseService(core, session).fire(timer)
        except Exception as error:
            # A broken definition must not block every other timer; the failure is kept on the row, the case
            # is marked as needing attention and the admins are told (an admin retries it once fixed).
            log.exception("timer %s (%s, case %s) failed", timer.id, timer.kind, timer.case_id)
            failure = attention.describe(error)
            # The row was taken `pending` above (the WHERE of the query).
            timer.status = transition(TimerStatus.PENDING, TimerStatus.FAILED)
        else:
            timer.status = transition(TimerStatus.PENDING, TimerStatus.FIRED)
        timer.fired_at = now
        kind, failed_case = timer.kind, timer.case_id
    if failure is not None:
        await attention.step_failed(
            core, case_id=failed_case, step=f"timer: {kind}", error=failure, person=None, now=now
        )
    core.outbox_written()
    return True


async def tick(core: Core) -> int:
    """Fire everything due now; returns how many timers fired."""
    now = core.clock.now()
    fired = 0
    for timer_id in await due_timer_ids(core, now):
        if await fire_timer(core, timer_id, now):
            fired += 1
    if fired:
        log.info("fired %s timer(s)", fired)
    return fired
