"""A person's digest subscription: kept in the `settings` table (key `digest:<user id>`, value `{"on", "at",
"last"}`), a few facts per person, no schema change. Each subscribed person has one pending timer (kind `digest`)
for the next working day at their hour (in the company's time zone, on the production calendar)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Setting, Timer, status_is
from flows.calendar import WorkCalendar
from flows.status import TimerStatus, transition
from services import people
from services.core import Core
from services.setting_keys import key_range

KIND = "digest"  # the timer kind
PREFIX = "digest:"  # the settings key of a person's subscription
HOURS = (time(7, 0), time(8, 0), time(9, 0), time(10, 0), time(12, 0), time(17, 0))  # offered in chat


@dataclass
class Subscription:
    user_id: int
    on: bool
    at: time
    last: datetime | None = None

    def value(self) -> dict[str, Any]:
        return {"on": self.on, "at": self.at.strftime("%H:%M"), "last": self.last.isoformat() if self.last else None}

    @classmethod
    def of(cls, user_id: int, value: dict[str, Any], default: time) -> Subscription:
        try:
            at = time.fromisoformat(str(value.get("at")))
        except ValueError:
            at = default
        last = value.get("last")
        return cls(user_id, bool(value.get("on")), at, datetime.fromisoformat(last) if last else None)


def key_of(user_id: int) -> str:
    return f"{PREFIX}{user_id}"


def next_digest(calendar: WorkCalendar, at: time, after: datetime) -> datetime:
    """The first working day's `at` (company time) strictly after `after`."""
    day = after.astimezone(calendar.tz).date()
    for _attempt in range(3660):
        moment = calendar.local_moment(day, at)
        if moment > after and calendar.is_working_day(day):
            return moment
        day += timedelta(days=1)
    raise ValueError("no working day ahead; check the calendar")


async def subscription(core: Core, session: AsyncSession, user_id: int) -> Subscription | None:
    row = await session.get(Setting, key_of(user_id))
    return Subscription.of(user_id, row.value, core.config.digest_time) if row is not None else None


async def save(core: Core, session: AsyncSession, sub: Subscription) -> None:
    """Store the subscription and put its timer right: the pending one is dropped, a new one set if it is on."""
    row = await session.get(Setting, key_of(sub.user_id))
    if row is None:
        session.add(Setting(key=key_of(sub.user_id), value=sub.value()))
    else:
        row.value = sub.value()
    for timer in await _pending(session, sub.user_id):
        timer.status = transition(TimerStatus(timer.status), TimerStatus.CANCELLED)
    if sub.on:
        add_timer(core, session, sub)


async def _pending(session: AsyncSession, user_id: int | None = None) -> list[Timer]:
    rows = await session.execute(select(Timer).where(Timer.kind == KIND, status_is(Timer.status, TimerStatus.PENDING)))
    return [t for t in rows.scalars() if user_id is None or t.payload.get("user_id") == user_id]


def add_timer(core: Core, session: AsyncSession, sub: Subscription) -> None:
    due = next_digest(core.calendar, sub.at, core.clock.now())
    payload = {"user_id": sub.user_id, "at": sub.at.strftime("%H:%M")}
    session.add(Timer(case_id=None, task_id=None, kind=KIND, due_at=due, status=TimerStatus.PENDING, payload=payload))


async def ensure_subscriptions(core: Core) -> None:
    """People with a digest role get a subscription (unless they turned it off), and every subscription that is
    on has its pending timer. Idempotent and safe for several workers."""
    async with core.sessionmaker() as session, session.begin():
        if not core.sqlite:
            # Its own key: 727003 is the outbox sender's passes' lock (services/delivery/sender.py), which this
            # used to take too — every scheduler tick then held every worker's sender passes for its transaction.
            await session.execute(text("SELECT pg_advisory_xact_lock(727005)"))
        # A range of the keys' index (`key_range`), not a LIKE: a scan of every setting (every follower of every case)
        # on each of the scheduler's ticks.
        rows = (await session.execute(select(Setting).where(key_range(PREFIX[:-1], sqlite=core.sqlite)))).scalars()
        subs = {
            int(row.key[len(PREFIX) :]): Subscription.of(
                int(row.key[len(PREFIX) :]), row.value, core.config.digest_time
            )
            for row in rows
        }
        for role in core.config.digest_roles:
            for user in await people.members(session, role):
                if user.id not in subs:
                    subs[user.id] = Subscription(user.id, True, core.config.digest_time)
                    session.add(Setting(key=key_of(user.id), value=subs[user.id].value()))
        timed = {t.payload.get("user_id") for t in await _pending(session)}
        for sub in subs.values():
            if sub.on and sub.user_id not in timed:
                add_timer(core, session, sub)
