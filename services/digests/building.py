"""A person's digest built from what they may see (services/access/), sent with its chart, its groups as lists
and Excel files; a digest timer fired.

A case is stuck when it has been on its stage longer than the stage is expected to take (`Digests._stuck`)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditEntry, Case, Setting, Task, Timer, User
from flows.calendar import WorkCalendar
from flows.items import item_work_title
from flows.model import ProcessDef
from flows.runtime import START_TASK, task_def
from flows.status import CaseStatus, TaskStatus
from flows.values import from_json, number_sign
from services import access, people
from services.charts import Table, sheet_name, to_xlsx
from services.core import Core
from services.digests.contents import (
    CaseLine,
    Digest,
    Load,
    MoveLine,
    ProcessTotal,
    TaskLine,
    chart_async,
    table,
)
from services.digests.subscriptions import Subscription, add_timer, key_of, save, subscription
from services.exports import XLSX
from services.people import PeopleCache
from services.wording.names import STATUS_WORDS

log = logging.getLogger(__name__)


async def fire(core: Core, session: AsyncSession, timer: Timer) -> None:
    """A digest timer came due: send the digest (on a working day) and set the next one."""
    user_id = int(timer.payload.get("user_id", 0))
    sub = await subscription(core, session, user_id)
    if sub is None or not sub.on or sub.at.strftime("%H:%M") != timer.payload.get("at"):
        return  # turned off or moved since: `save` set the new timer
    now = core.clock.now()
    user = await session.get(User, user_id)
    if user is not None and user.active and core.calendar.is_working_day(now):
        await Digests(core, session).send(user, sub)
    elif user is not None and user.active:
        log.info("digest for %s skipped: %s is not a working day", user_id, now.date())
    add_timer(core, session, sub)


def _worth(value: Any) -> Decimal:
    """A case's stored amount («125000.00») as money to add; an empty or unreadable one adds nothing."""
    try:
        return from_json("money", value) or Decimal(0)
    except (TypeError, ValueError):
        return Decimal(0)


def _local_day_end(calendar: WorkCalendar, now: datetime) -> datetime:
    day = now.astimezone(calendar.tz).date() + timedelta(days=1)
    return datetime.combine(day, time(0, 0), tzinfo=calendar.tz).astimezone(UTC)


class Digests:
    def __init__(self, core: Core, session: AsyncSession) -> None:
        self.core = core
        self.session = session

    def t(self, message: str, lang: str | None, **params: Any) -> str:
        return self.core.translator.t(message, lang, **params)

    async def build(self, viewer: access.Viewer, since: datetime | None = None) -> Digest:
        """The digest for this person as things stand now, over the cases they may see."""
        core, session, lang = self.core, self.session, viewer.user.language
        wording, local = core.wording, core.translator.local
        now = core.clock.now()
        digest = Digest(now=now, since=since or now - timedelta(days=1))
        scope = access.visible_cases(viewer, core.registry.known().values())
        cases = list(
            (
                await session.execute(select(Case).where(scope, Case.status == CaseStatus.ACTIVE).order_by(Case.id))
            ).scalars()
        )
        specs: dict[int, ProcessDef] = {}
        for definition_id in {c.definition_id for c in cases}:
            specs[definition_id] = await core.registry.spec(session, definition_id)
        by_id = {c.id: c for c in cases}
        tasks = list(
            (
                await session.execute(
                    select(Task)
                    .where(Task.case_id.in_(select(Case.id).where(scope, Case.status == CaseStatus.ACTIVE)))
                    .where(Task.key != START_TASK)
                    .order_by(Task.due_at, Task.id)
                )
            ).scalars()
        )
        open_tasks = [t for t in tasks if t.status == TaskStatus.OPEN]
        names = await PeopleCache(session).names({t.assignee_id for t in open_tasks})

        def case_name(case: Case) -> str:
            spec = specs[case.definition_id]
            title = core.registry.case_title(spec, case, lang) or local(spec.title, lang)
            return f"{number_sign(lang)}{case.id} · {title}"

        def holder(task: Task) -> str:
            if task.assignee_id is not None:
                return names.get(task.assignee_id, "—")
            return self.t("pool: %(role)s", lang, role=wording.role(task.role, lang))

        def task_title(case: Case, task: Task) -> str:
            spec = specs[case.definition_id]
            named = item_work_title(spec, task.key, case.data)  # «Согласуйте: Дефибриллятор → …», not «Позиция №2»
            if named is not None:
                return local(named, lang)
            try:
                return local(task_def(spec, task.stage, task.key).title, lang)
            except KeyError:
                return wording.stage_title(specs[case.definition_id], task.stage, lang)

        day_end = _local_day_end(core.calendar, now)
        load: dict[str, Load] = {}
        totals: dict[str, ProcessTotal] = {}
        for case in cases:
            if case.stage == START_TASK:
                continue  # a request still being filled in (a dealer's cart at checkout) is no case yet
            spec = specs[case.definition_id]
            title = local(spec.title, lang)
            total = totals.setdefault(title, ProcessTotal(title, 0, 0, 0))
            total.cases += 1
            if spec.amount is not None:
                total.amount = (total.amount or Decimal(0)) + _worth(case.data.get(spec.amount))
        mine = viewer.user.id
        for task in open_tasks:
            case = by_id[task.case_id]
            spec = specs[case.definition_id]
            process = local(spec.title, lang)
            who = holder(task)
            entry = load.setdefault(who, Load(who, 0, 0))
            entry.open += 1
            totals[process].open += 1
            late = abs(now - task.due_at) if task.due_at is not None else timedelta(0)
            line = TaskLine(case.id, case_name(case), process, task_title(case, task), who, task.due_at, late)
            if task.assignee_id == mine or (task.assignee_id is None and task.role in viewer.roles):
                digest.yours.append(line)  # a director's approvals, anyone's own work: what asks for the reader
            if task.due_at is None:
                continue
            if task.due_at < now:
                entry.overdue += 1
                totals[process].overdue += 1
                digest.overdue.append(line)
            elif task.due_at < day_end:
                digest.today.append(line)
        digest.overdue.sort(key=lambda line: line.due_at or now)
        digest.yours.sort(key=lambda line: (line.due_at is None, line.due_at or now))  # no deadline: last
        digest.load = sorted(load.values(), key=lambda item: (-item.overdue, -item.open, item.holder))
        digest.processes = sorted(totals.values(), key=lambda item: item.process)
        digest.stuck = await self._stuck(cases, tasks, specs, case_name, lang)
        digest.moved = await self._moved(viewer, digest.since, lang)
        return digest

    async def _stuck(
        self, cases: list[Case], tasks: list[Task], specs: dict[int, ProcessDef], case_name: Any, lang: str
    ) -> list[CaseLine]:
        core, now = self.core, self.core.clock.now()
        if not cases:
            return []
        rows = await self.session.execute(
            select(AuditEntry.case_id, func.max(AuditEntry.at))
            .where(AuditEntry.action == "stage.entered", AuditEntry.case_id.in_([c.id for c in cases]))
            .group_by(AuditEntry.case_id)
        )
        # (not dict(rows): a Result has `keys()`, so dict() would take it for a mapping)
        entered: dict[int | None, datetime] = {case_id: at for case_id, at in rows.all()}
        deadlines: dict[tuple[int, str, int], datetime] = {}
        for task in tasks:
            if task.due_at is not None:
                key = (task.case_id, task.stage, task.visit)
                deadlines[key] = max(deadlines.get(key, task.due_at), task.due_at)
        stuck = []
        for case in cases:
            since = entered.get(case.id) or case.created_at
            if case.stage == START_TASK:
                continue
            # What a director means by stuck: longer on the stage than it is expected to take. It is expected to
            # take until the latest deadline it gave its tasks on this visit (the stage's own deadline). A stage
            # with no deadline (a wait for a move button), or whose deadline had already gone when the case came
            # (one counted from a date in the case's data: «1 working day from shipping_date»), is given
            # `stage_norm_days` working days from its entry: a case that came to its stage this minute is never
            # stuck — its late task is in the overdue group.
            deadline = deadlines.get((case.id, case.stage, case.visit))
            if deadline is not None and deadline > since:
                norm = deadline
            else:
                norm = core.calendar.shift_working_days(since, core.config.stage_norm_days)
            if norm < now:
                spec = specs[case.definition_id]
                stage = core.wording.stage_title(spec, case.stage, lang)
                process = core.translator.local(spec.title, lang)
                stuck.append(CaseLine(case.id, case_name(case), process, stage, since, norm))
        return sorted(stuck, key=lambda line: line.norm)

    async def _moved(self, viewer: access.Viewer, since: datetime, lang: str) -> list[MoveLine]:
        core, local = self.core, self.core.translator.local
        scope = access.visible_cases(viewer, core.registry.known().values())
        rows = await self.session.execute(
            select(AuditEntry, Case)
            .join(Case, Case.id == AuditEntry.case_id)
            .where(scope, AuditEntry.action.in_(("stage.entered", "case.closed")), AuditEntry.at > since)
            .order_by(AuditEntry.at, AuditEntry.id)
        )
        moved: dict[int, MoveLine] = {}
        for entry, case in rows.all():
            spec = await core.registry.spec(self.session, case.definition_id)
            data = entry.data or {}
            if entry.action == "case.closed":
                if data.get("status") != CaseStatus.CANCELLED or case.stage == START_TASK:
                    # A case that ended its way entered its final stage: that move is listed already. A request
                    # dropped before it was registered never was work anyone saw.
                    continue
                # Cancelled where it stood: no stage entered, but it left the work all the same.
                source = core.wording.stage_title(spec, case.stage, lang)
                target = self.t(STATUS_WORDS[CaseStatus.CANCELLED], lang)
            elif not data.get("from") or not data.get("to") or data["from"] == data["to"]:
                # The first stage of a new case: it is new, not moved (a case another one's end started enters its
                # first stage «from» it); a stage entered again from itself went nowhere.
                continue
            else:
                source = core.wording.stage_title(spec, str(data["from"]), lang)
                target = core.wording.stage_title(spec, str(data["to"]), lang)
            title = core.registry.case_title(spec, case, lang) or local(spec.title, lang)
            name = f"{number_sign(lang)}{case.id} · {title}"
            earlier = moved.pop(case.id, None)  # a case moved twice is one line: where it was → where it is
            source = earlier.source if earlier is not None else source
            moved[case.id] = MoveLine(case.id, name, local(spec.title, lang), source, target, entry.at)
        return list(moved.values())

    # --- what people get ----------------------------------------------------------------------------------

    async def subscription_of(self, user: User) -> Subscription | None:
        return await subscription(self.core, self.session, user.id)

    async def change(self, user: User, *, on: bool | None = None, at: time | None = None) -> Subscription:
        """`/digest`'s buttons: turn it on or off, or pick the hour (which turns it on)."""
        sub = await subscription(self.core, self.session, user.id) or Subscription(
            user.id, False, self.core.config.digest_time
        )
        if at is not None:
            sub.at, sub.on = at, True
        if on is not None:
            sub.on = on
        await save(self.core, self.session, sub)
        log.info("digest of %s: %s at %s", user.id, "on" if sub.on else "off", sub.at)
        return sub

    async def send(self, user: User, sub: Subscription | None = None, *, remember: bool = True) -> Digest:
        """Build this person's digest, draw its chart and hand both to the notifier; remember when (not for one asked
        for now: «what moved since the last digest» is the scheduled one's, and the next still has it)."""
        viewer = access.Viewer.of(user, await people.roles_of(self.session, user.id))
        sub = sub or await subscription(self.core, self.session, user.id)
        digest = await self.build(viewer, sub.last if sub is not None else None)
        chart_id: int | None = None
        if digest.open_work:  # with nothing open the chart is an empty axis (and a legend of one colour)
            png = await chart_async(digest, self.t("Overdue", user.language), self.t("Open tasks", user.language))
            stored = await self.core.files.add(
                self.session,
                content=png,
                name="digest.png",
                kind="photo",
                now=digest.now,
                case_id=None,
                user_id=user.id,
                mime_type="image/png",
            )
            chart_id = stored.id
        notifier = self.core.notifier_factory(self.session, PeopleCache(self.session), digest.now)
        await notifier.digest(user, digest, chart_id)
        if sub is not None and remember:
            sub.last = digest.now
            row = await self.session.get(Setting, key_of(user.id))
            if row is not None:
                row.value = sub.value()
        return digest

    async def group_file(self, viewer: access.Viewer, group: str, since: datetime | None) -> tuple[int, str, int]:
        """One group of this person's digest, as it stands now, as an Excel file stored for them; `since`: the
        moment the digest whose button was pressed counted its moves from."""
        lang = viewer.user.language
        digest = await self.build(viewer, since or await self._since(viewer.user))
        rows = table(self.core.wording, digest, group, lang)
        stored = await self.core.files.add(
            self.session,
            content=to_xlsx(rows),
            name=f"{sheet_name(rows.title)}.xlsx",
            kind="document",
            now=digest.now,
            case_id=None,
            user_id=viewer.user.id,
            mime_type=XLSX,
        )
        return stored.id, rows.title, len(rows.rows)

    async def group_list(self, viewer: access.Viewer, group: str, since: datetime | None) -> Table:
        digest = await self.build(viewer, since or await self._since(viewer.user))
        return table(self.core.wording, digest, group, viewer.user.language)

    async def _since(self, user: User) -> datetime | None:
        """Where a digest sent now would count its moves from: the last one sent at its hour."""
        sub = await subscription(self.core, self.session, user.id)
        return sub.last if sub is not None else None
