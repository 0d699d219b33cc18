"""Processes that start on a schedule (the weekly pre-order cycle: «0 9 * * thu»).

Each schedule keeps one pending timer row for its next start. When it fires, the case is started and the
next timer is set from *now*, not from the missed moment: after downtime over Thursday morning the cycle
starts once when the bot is back — not never, and not once per missed week.
"""

from __future__ import annotations

import logging
from datetime import datetime

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Timer, status_is
from flows.status import TimerStatus
from services import people
from services.cases import CaseService
from services.core import Core

log = logging.getLogger(__name__)


def next_start(cron: str, tz: str, after: datetime) -> datetime:
    # Weekday names ("thu") avoid the classic trap: APScheduler numbers weekdays from Monday, cron from Sunday.
    trigger = CronTrigger.from_crontab(cron, timezone=tz)
    moment = trigger.get_next_fire_time(None, after)
    assert moment is not None
    return moment


def schedule_token(process: str, index: int, cron: str) -> str:
    return f"{process}#{index}#{cron}"


async def ensure_schedules(core: Core) -> None:
    """Make sure every schedule in the library has its pending timer (idempotent, safe for several workers)."""
    now = core.clock.now()
    async with core.sessionmaker() as session, session.begin():
        if not core.sqlite:
            # Two workers starting together must not both add the timer.
            await session.execute(text("SELECT pg_advisory_xact_lock(727002)"))
        cron = select(Timer).where(Timer.kind == "cron", status_is(Timer.status, TimerStatus.PENDING))
        pending = (await session.execute(cron)).scalars()
        have = {t.payload.get("schedule") for t in pending}
        for key, loaded in core.registry.library.items():
            for index, schedule in enumerate(loaded.spec.schedule):
                token = schedule_token(key, index, schedule.cron)
                if token in have:
                    continue
                try:
                    due = next_start(schedule.cron, core.config.timezone, now)
                except (ValueError, AssertionError):
                    log.error("process %s: schedule %r cannot be used; skipped", key, schedule.cron)
                    continue
                session.add(
                    Timer(
                        case_id=None,
                        task_id=None,
                        kind="cron",
                        due_at=due,
                        status=TimerStatus.PENDING,
                        payload={"schedule": token, "process": key, "index": index},
                    )
                )
                log.info("process %s scheduled (%s): next start %s", key, schedule.cron, due.isoformat())


async def fire_schedule(core: Core, session: AsyncSession, timer: Timer) -> None:
    """Start the scheduled case and set the timer for the next start (counted from now)."""
    process = str(timer.payload.get("process"))
    index = int(timer.payload.get("index", 0))
    loaded = core.registry.library.get(process)
    if loaded is None or index >= len(loaded.spec.schedule):
        log.warning("schedule %s no longer exists; dropping it", timer.payload)
        return
    schedule = loaded.spec.schedule[index]
    if schedule_token(process, index, schedule.cron) != timer.payload.get("schedule"):
        return  # the schedule changed; ensure_schedules sets the new one
    now = core.clock.now()
    members = await people.members(session, schedule.initiator)
    if members:
        await CaseService(core, session).start(
            members[0], process, parent=None, scheduled=True, started_by={"schedule": schedule.cron}
        )
        log.info("scheduled start of %s by %s", process, members[0].id)
    else:
        log.warning("scheduled start of %s skipped: nobody has the role %s", process, schedule.initiator)
    session.add(
        Timer(
            case_id=None,
            task_id=None,
            kind="cron",
            due_at=next_start(schedule.cron, core.config.timezone, now),
            status=TimerStatus.PENDING,
            payload=dict(timer.payload),
        )
    )
