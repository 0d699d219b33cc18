"""The clock: wake the engine for due timers (deadlines, reminders, escalations, waits).

Timers are rows. Each due timer is handled in its own transaction that first locks its case (the same
order handlers use, so no deadlock), then takes the timer row with SKIP LOCKED and marks it fired, in one
UPDATE … RETURNING, in that same transaction. A crash before commit leaves it pending; a second worker skips
it or sees it fired.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Case, Timer, status_is
from flows.status import TimerStatus, transition
from scheduler.cron import fire_schedule
from services import attention, digests, outbox
from services.cases import CaseService
from services.core import Core

log = logging.getLogger(__name__)


# Built once per process: building and compiling a statement costs more than running these. The status is written
# in (`status_is`): the pending timers' own index (due_at, id) matches only that, and holds them in this order.
_DUE = (
    select(Timer.id)
    .where(status_is(Timer.status, TimerStatus.PENDING), Timer.due_at <= bindparam("now"))
    .order_by(Timer.due_at, Timer.id)
    .limit(bindparam("limit", type_=Integer()))
)
# PostgreSQL: the timer's case locked first, found by the timer in the same statement (the same order handlers
# use — case, then its timers — so no deadlock). SQLite serialises writers already (BEGIN IMMEDIATE).
_LOCK_CASE = (
    select(Case.id)
    .where(Case.id == select(Timer.case_id).where(Timer.id == bindparam("timer_id")).scalar_subquery())
    .with_for_update()
)
_TIMER: Table = Timer.__table__  # type: ignore[assignment]
_CLAIMED = (_TIMER.c.id, _TIMER.c.case_id, _TIMER.c.task_id, _TIMER.c.kind, _TIMER.c.due_at, _TIMER.c.payload)


def _claim(sqlite: bool) -> Any:
    """Take a pending timer and mark it (fired, or failed) in one statement that returns what firing needs. On
    PostgreSQL a timer another worker holds is skipped (SKIP LOCKED), not waited for."""
    taken: Any = _TIMER.c.id == bindparam("timer_id")
    if not sqlite:
        taken = _TIMER.c.id == (
            select(_TIMER.c.id)
            .where(_TIMER.c.id == bindparam("timer_id"), _TIMER.c.status == TimerStatus.PENDING)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
    return (
        update(_TIMER)
        .where(taken, _TIMER.c.status == TimerStatus.PENDING)
        .values(
            status=bindparam("status", type_=_TIMER.c.status.type),
            fired_at=bindparam("now", type_=_TIMER.c.fired_at.type),
        )
        .returning(*_CLAIMED)
    )


_CLAIM = {sqlite: _claim(sqlite) for sqlite in (False, True)}


async def due_timer_ids(core: Core, now: datetime, limit: int = 200) -> list[int]:
    async with core.sessionmaker() as session:
        return list((await session.execute(_DUE, {"now": now, "limit": limit})).scalars())


async def _take(core: Core, session: AsyncSession, timer_id: int, now: datetime, status: TimerStatus) -> Timer | None:
    """Lock the timer's case, then take the timer if it is still pending and mark it `status`; None if another
    worker fired it, is firing it, or it was cancelled."""
    if not core.sqlite:
        await session.execute(_LOCK_CASE, {"timer_id": timer_id})
    params = {"timer_id": timer_id, "status": transition(TimerStatus.PENDING, status), "now": now}
    row = (await session.execute(_CLAIM[core.sqlite], params)).one_or_none()
    if row is None:
        return None
    # What the firing code reads, not a session object: the row is written already, nothing to flush.
    return Timer(id=row.id, case_id=row.case_id, task_id=row.task_id, kind=row.kind, due_at=row.due_at,
                 status=status, payload=row.payload, fired_at=now)  # fmt: skip


class _StepFailed(Exception):
    def __init__(self, timer: Timer, error: Exception) -> None:
        super().__init__(str(error))
        self.timer, self.error = timer, error


async def fire_timer(core: Core, timer_id: int, now: datetime) -> bool:
    """Fire one timer; False if another worker already did (or is doing) it.

    The timer is marked fired in the transaction that fires it, so they commit together (a crash before the
    commit leaves it pending). A firing that raises rolls its whole transaction back, and the timer is then
    marked failed in a transaction of its own: a broken definition must not block every other timer."""
    written: outbox.Written | None = None  # what the firing queued: the sender takes its chats without a pass
    try:
        async with core.sessionmaker() as session, session.begin():
            timer = await _take(core, session, timer_id, now, TimerStatus.FIRED)
            if timer is None:
                return False
            try:
                if timer.kind == "cron":
                    await fire_schedule(core, session, timer)
                elif timer.kind == digests.KIND:
                    await digests.fire(core, session, timer)
                else:
                    await CaseService(core, session).fire(timer)
            except Exception as error:
                raise _StepFailed(timer, error) from error
        written = outbox.written(session)
    except _StepFailed as failed:
        # The failure is kept on the row, the case is marked as needing attention and the admins are told (an
        # admin retries it once fixed).
        timer = failed.timer
        log.error("timer %s (%s, case %s) failed", timer.id, timer.kind, timer.case_id, exc_info=failed.error)
        async with core.sessionmaker() as session, session.begin():
            if await _take(core, session, timer_id, now, TimerStatus.FAILED) is None:
                return False  # taken by another worker in between
        await attention.step_failed(
            core, case_id=timer.case_id, step=f"timer: {timer.kind}",
            error=attention.describe(failed.error, core.translator), person=None, now=now,
        )  # fmt: skip
    core.outbox_written(written)
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
