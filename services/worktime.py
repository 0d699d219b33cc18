"""Time spent on timed tasks («start/stop the time»): per person and process over the last days (`/worktime`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Case, Task, User, WorkPeriod
from services.core import Core

DEFAULT_DAYS = 30
# Ten years back is more than any timed work kept; a larger number is a typo (and would overflow a date).
MAX_DAYS = 3660


def days_asked(args: str | None) -> int | None:
    """What follows `/worktime`: how many days back (30 when nothing follows), or None for what is not a number of
    days 1…3660 — the report is not made over a period the admin did not ask for."""
    said = (args or "").strip()
    if not said:
        return DEFAULT_DAYS
    if not (said.isascii() and said.isdigit()) or not 1 <= int(said) <= MAX_DAYS:
        return None
    return int(said)


@dataclass
class WorkReport:
    days: int
    # (person, process title) → seconds, sorted by person and title
    by_process: list[tuple[str, str, float]] = field(default_factory=list)
    # person → seconds, sorted by person
    by_person: list[tuple[str, float]] = field(default_factory=list)


class WorkTime:
    def __init__(self, core: Core, session: AsyncSession) -> None:
        self.core = core
        self.session = session

    async def report(self, days: int, lang: str | None) -> WorkReport:
        """Work periods that began in the last `days` days; a running one counts until now."""
        now = self.core.clock.now()
        rows = (
            await self.session.execute(
                select(User.name, Case.process, WorkPeriod.started_at, WorkPeriod.ended_at)
                .join(User, User.id == WorkPeriod.user_id)
                .join(Case, Case.id == WorkPeriod.case_id)
                .where(WorkPeriod.started_at >= now - timedelta(days=days))
            )
        ).all()
        totals: dict[tuple[str, str], float] = {}
        for name, process, started, ended in rows:
            totals[(name, process)] = totals.get((name, process), 0.0) + ((ended or now) - started).total_seconds()
        by_person: dict[str, float] = {}
        for (name, _process), seconds in totals.items():
            by_person[name] = by_person.get(name, 0.0) + seconds
        return WorkReport(
            days=days,
            by_process=[
                (name, self._title(process, lang), seconds) for (name, process), seconds in sorted(totals.items())
            ],
            by_person=sorted(by_person.items()),
        )

    def _title(self, process: str, lang: str | None) -> str:
        library = self.core.registry.library
        return self.core.translator.local(library[process].spec.title, lang) if process in library else process

    async def case_totals(self, case_id: int) -> list[tuple[str, str, str, float]]:
        """Time spent on one case's timed tasks: (person, task's stage, task's key, seconds) per person and
        task, in the order the work began; a running period counts until now."""
        now = self.core.clock.now()
        rows = (
            await self.session.execute(
                select(WorkPeriod.user_id, User.name, Task.stage, Task.key, WorkPeriod.started_at, WorkPeriod.ended_at)
                .join(Task, Task.id == WorkPeriod.task_id)
                .outerjoin(User, User.id == WorkPeriod.user_id)
                .where(WorkPeriod.case_id == case_id)
                .order_by(WorkPeriod.started_at)
            )
        ).all()
        totals: dict[tuple[int, str, str], float] = {}
        names: dict[int, str] = {}
        for user_id, name, stage, key, started, ended in rows:
            names[user_id] = name or "?"
            totals[(user_id, stage, key)] = (
                totals.get((user_id, stage, key), 0.0) + ((ended or now) - started).total_seconds()
            )
        return [(names[user_id], stage, key, seconds) for (user_id, stage, key), seconds in totals.items()]
