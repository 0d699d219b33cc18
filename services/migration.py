"""Moving running cases of a process onto another version of it, with a stage mapping.

Checked first: every case's current stage maps onto a stage of the new version (a stage with the same key maps
to itself unless told otherwise), the fields the new stage requires are there or the case will ask for them,
and which open tasks are kept, closed and given. Applied case by case, each in a transaction of its own and
audited («moved to version N»); a case that cannot move is listed with the reason and left exactly as it was.
The command line (`konveyer migrate process`) and the panel both call this.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Case, Definition, Task, User
from flows.i18n import _
from flows.model import ProcessDef
from flows.runtime import (
    CaseState,
    Effect,
    EngineError,
    Notify,
    TaskClosed,
    TaskCreated,
    TaskState,
    base_key,
    is_empty,
    is_service_task,
    task_fields,
)
from flows.status import CaseStatus, TaskStatus
from services.cases import CaseService, Loaded
from services.core import Core

log = logging.getLogger(__name__)

MIGRATED = "case.migrated"


class MappingError(ValueError):
    """A `--map` item that is not `old_stage:new_stage`."""


def parse_mapping(items: list[str]) -> dict[str, str]:
    """`["old:new", …]` → {old: new}."""
    mapping: dict[str, str] = {}
    for item in items:
        old, sep, new = item.partition(":")
        if not sep or not old.strip() or not new.strip():
            raise MappingError(item)
        mapping[old.strip()] = new.strip()
    return mapping


@dataclass
class CaseMove:
    """One case in the report: where it stands, where it goes, what happens to its work, or why it cannot."""

    case_id: int
    title: str
    stage: str
    to: str = ""
    ask: list[str] = field(default_factory=list)  # required fields of the new stage still empty: asked for
    kept: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    given: list[str] = field(default_factory=list)
    # Forms half filled on tasks the move closes or whose questions change: dropped, their people told.
    dropped: list[str] = field(default_factory=list)
    dropped_ids: list[int] = field(default_factory=list)
    problem: str | None = None
    moved: bool = False


@dataclass
class MigrationReport:
    process: str
    title: str
    from_version: int
    to_version: int
    problems: list[str] = field(default_factory=list)  # about the request itself: nothing moves
    cases: list[CaseMove] = field(default_factory=list)
    applied: bool = False

    @property
    def movable(self) -> list[CaseMove]:
        return [c for c in self.cases if c.problem is None]

    @property
    def refused(self) -> list[CaseMove]:
        return [c for c in self.cases if c.problem is not None]


@dataclass
class _Versions:
    old_id: int
    old: ProcessDef
    new_id: int
    new: ProcessDef
    new_version: int


class Migration:
    def __init__(self, core: Core, lang: str | None = None) -> None:
        self.core = core
        self.lang = core.translator.lang(lang or core.config.default_language)

    def t(self, message: str, **params: Any) -> str:
        return self.core.translator.t(message, self.lang, **params)

    async def check(
        self, process: str, from_version: int, to_version: int, mapping: dict[str, str]
    ) -> MigrationReport:
        """What would happen, case by case; nothing is written."""
        async with self.core.sessionmaker() as session:
            report, versions = await self._request(session, process, from_version, to_version, mapping)
            if versions is None:
                return report
            running = Case.status.in_((CaseStatus.ACTIVE, CaseStatus.DRAFT))
            query = select(Case.id).where(Case.definition_id == versions.old_id, running).order_by(Case.id)
            ids = (await session.execute(query)).scalars()
            service = CaseService(self.core, session)
            for case_id in list(ids):
                loaded = await service.load(case_id, lock=False)
                done = await _answered(session, loaded.state)
                report.cases.append(self._try(loaded.state, versions, mapping, done, drafts=_drafts(loaded)))
        return report

    async def apply(
        self, process: str, from_version: int, to_version: int, mapping: dict[str, str], by: str = "cli"
    ) -> MigrationReport:
        """Check, then move every case that can move, each in one transaction (re-checked under its lock).
        `by`: where an admin did it (`panel` or `cli`), for the case's history to name."""
        report = await self.check(process, from_version, to_version, mapping)
        if report.problems:
            return report
        report.applied = True
        async with self.core.sessionmaker() as session:
            _report, versions = await self._request(session, process, from_version, to_version, mapping)
        assert versions is not None
        for move in report.movable:
            try:
                async with self.core.sessionmaker() as session, session.begin():
                    service = CaseService(self.core, session)
                    loaded = await service.load(move.case_id)
                    if loaded.row.definition_id != versions.old_id:
                        raise EngineError(_("The case changed since the check; check again."))
                    old_view = Loaded(loaded.row, replace(loaded.state), loaded.task_rows)  # the old version's eyes
                    open_before = {t.id for t in loaded.state.open_tasks()}
                    effects: list[Effect] = []
                    done = await _answered(session, loaded.state)
                    drafts = _drafts(loaded)
                    checked = self._try(loaded.state, versions, mapping, done, effects, drafts)
                    if checked.problem is not None:
                        raise EngineError(checked.problem)
                    effects.extend(await self._drop_drafts(session, loaded, old_view, checked, drafts))
                    # A closed task belongs to a stage only the old version knows: its cards are worded by that
                    # version (the effect handler would read the new one), its timers go as any closed task's.
                    for closed in [e.task for e in effects if isinstance(e, TaskClosed)]:
                        service.store.cancel_timers(task_id=closed.id)
                        await service.notifier.task_changed(old_view, closed, fresh=False)
                    effects = [e for e in effects if not isinstance(e, TaskClosed)]
                    previous = loaded.row.stage
                    loaded.row.definition_id = versions.new_id
                    detail = {"from_version": from_version, "to_version": to_version, "from": previous,
                              "to": loaded.state.stage, "by": by}
                    await service.save(loaded, effects, None, MIGRATED, detail)
                    # The tasks that stay are worded by the new version now (its stage, its titles): their cards
                    # are edited through the outbox, as any other change of a card is.
                    for kept in loaded.state.open_tasks():
                        if kept.id in open_before:
                            await service.notifier.task_changed(loaded, kept, fresh=False)
                # What was done under the lock is what the report says (the case may have moved since the check).
                move.to, move.kept, move.closed, move.given, move.ask, move.dropped = (
                    checked.to, checked.kept, checked.closed, checked.given, checked.ask, checked.dropped
                )
                move.moved = True
            except EngineError as refusal:
                move.problem = self.t(refusal.message, **refusal.params)
            except Exception as error:  # one case's fault must not stop the others; its transaction rolled back
                log.exception("case %s: moving onto version %s failed", move.case_id, to_version)
                move.problem = self.t("failed: %(error)s", error=f"{type(error).__name__}: {error}"[:300])
        self.core.outbox_written()
        return report

    async def _drop_drafts(
        self,
        session: AsyncSession,
        loaded: Loaded,
        old_view: Loaded,
        move: CaseMove,
        drafts: dict[int, dict[str, Any]],
    ) -> list[Effect]:
        """Drop the forms the move leaves without a place: the answers go, whoever was filling one is no longer in
        it, and each person is told (in their task's words of the old version)."""
        notes: list[Effect] = []
        for task_id in move.dropped_ids:
            row = loaded.task_rows.get(task_id)
            if row is None or task_id not in drafts:
                continue
            row.draft = None
            await session.execute(
                update(User).where(User.active_task_id == task_id).values(active_task_id=None)
            )
            task = next((t for t in old_view.state.tasks if t.id == task_id), None)
            if row.assignee_id is None or task is None:
                continue
            titles = {lang: self.core.wording.task_title(old_view.state.spec, task, lang) for lang in ("ru", "en")}
            text = {
                "ru": f"Незаконченный ответ на задачу «{titles['ru']}» отброшен: дело перенесено на новую версию "
                "процесса, где этой задачи нет или она спрашивает другое.",
                "en": f"Your unfinished answer to “{titles['en']}” was dropped: the case moved onto a new version "
                "of its process, where this task is gone or asks other questions.",
            }
            notes.append(Notify(kind="text", user_ids=(row.assignee_id,), text=text))
        return notes

    def report_lines(self, report: MigrationReport) -> list[str]:
        """The report as lines of text (the command line prints them)."""
        t = self.t
        head = t("Process “%(title)s” (%(process)s): version %(from)s → %(to)s",
                 title=report.title, process=report.process, **{"from": report.from_version, "to": report.to_version})
        lines = [head + ", " + (t("applied") if report.applied else t("checked only, nothing changed"))]
        lines += [t("✗ %(problem)s", problem=p) for p in report.problems]
        for move in report.cases:
            name = f"№{move.case_id}" + (f" «{move.title}»" if move.title else "")
            if move.problem is not None:
                lines.append(t("%(case)s: cannot move — %(reason)s", case=name, reason=move.problem))
                continue
            line = f"{name}: «{move.stage}» → «{move.to}»"
            for label, items in ((_("tasks kept"), move.kept), (_("tasks closed"), move.closed),
                                 (_("tasks given"), move.given), (_("fields asked for"), move.ask),
                                 (_("unfinished answers dropped"), move.dropped)):
                if items:
                    line += f"; {t(label)}: {', '.join(items)}"
            if report.applied:
                line += " — " + t("moved onto the new version")
            lines.append(line)
        if not report.problems:
            ok, refused = len(report.movable), len(report.refused)
            if report.applied:
                lines.append(t("Moved: %(ok)s, not moved: %(refused)s.", ok=ok, refused=refused))
            else:
                lines.append(t("Can move: %(ok)s, cannot: %(refused)s. Nothing is changed until you add --apply.",
                               ok=ok, refused=refused))
        return lines

    async def _request(
        self, session: AsyncSession, process: str, from_version: int, to_version: int, mapping: dict[str, str]
    ) -> tuple[MigrationReport, _Versions | None]:
        rows = {
            row.version: row
            for row in (await session.execute(select(Definition).where(Definition.process == process))).scalars()
        }
        report = MigrationReport(process, process, from_version, to_version)
        if not rows:
            report.problems.append(self.t("There is no process “%(process)s”.", process=process))
            return report, None
        for version in (from_version, to_version):
            if version not in rows:
                report.problems.append(self.t("Process “%(process)s” has no version %(version)s.",
                                              process=process, version=version))
        if from_version == to_version:
            report.problems.append(self.t("The versions to move from and to are the same."))
        if report.problems:
            return report, None
        old = await self.core.registry.spec(session, rows[from_version].id)
        new = await self.core.registry.spec(session, rows[to_version].id)
        report.title = self.core.translator.local(new.title, self.lang)
        old_stages, new_stages = {s.key for s in old.stages}, {s.key for s in new.stages}
        for source, target in mapping.items():
            if source not in old_stages:
                report.problems.append(self.t("Version %(version)s has no stage “%(stage)s”.",
                                              version=from_version, stage=source))
            if target not in new_stages:
                report.problems.append(self.t("Version %(version)s has no stage “%(stage)s”.",
                                              version=to_version, stage=target))
        if report.problems:
            return report, None
        return report, _Versions(rows[from_version].id, old, rows[to_version].id, new, to_version)

    def _try(
        self,
        state: CaseState,
        versions: _Versions,
        mapping: dict[str, str],
        done: frozenset[str],
        effects: list[Effect] | None = None,
        drafts: dict[int, dict[str, Any]] | None = None,
    ) -> CaseMove:
        """Run the move on the case in memory (the caller saves it, or drops it for a dry run). `drafts`: the
        forms people are filling on its open tasks (task id → draft), to tell which of them the move drops."""
        wording, lang = self.core.wording, self.lang
        move = CaseMove(state.id or 0, state.title_in(lang), wording.stage_title(versions.old, state.stage, lang))
        if state.status == CaseStatus.DRAFT:
            move.problem = self.t("the request is not finished yet (its start form is still being filled)")
            return move
        new_stages = {s.key for s in versions.new.stages}
        target = mapping.get(state.stage) or (state.stage if state.stage in new_stages else None)
        if target is None:
            move.problem = self.t("its stage “%(stage)s” has no place in version %(version)s: map it to a stage",
                                  stage=move.stage, version=versions.new_version)
            return move
        before = {t.id: t.key for t in state.open_tasks()}
        old_titles = {t.id: wording.task_title(versions.old, t, lang) for t in state.open_tasks()}
        drafts = drafts or {}
        old_asks = {
            t.id: task_fields(versions.old, t, drafts[t.id].get("outcome"))
            for t in state.open_tasks()
            if t.id in drafts
        }
        try:
            result = self.core.engine.migrate(state, versions.new, target, done)
        except EngineError as refusal:
            move.problem = self.t(refusal.message, **refusal.params)
            return move
        move.to = wording.stage_title(versions.new, target, lang)
        closed = {e.task.id for e in result if isinstance(e, TaskClosed)}
        move.closed = [old_titles[i] for i in before if i in closed]
        move.kept = [wording.task_title(versions.new, t, lang) for t in state.open_tasks() if t.id in before]
        # The form for missing fields is reported as what it asks (`ask`), not as a task.
        created: list[TaskState] = [
            e.task for e in result if isinstance(e, TaskCreated) and not is_service_task(e.task.key)
        ]
        move.given = [wording.task_title(versions.new, t, lang) for t in created]
        # A half-filled form stays with its task if the task stays and asks the same; otherwise it is dropped.
        still = {t.id: t for t in state.open_tasks()}
        for task_id, asked in old_asks.items():
            task = still.get(task_id)
            if task is not None and task_fields(versions.new, task, drafts[task_id].get("outcome")) == asked:
                continue
            move.dropped.append(old_titles[task_id])
            move.dropped_ids.append(task_id or 0)
        target_stage = versions.new.stage(target)
        move.ask = [self.core.translator.local(versions.new.fields[n].label, lang)
                    for n in target_stage.requires if n in versions.new.fields and is_empty(state.data.get(n))]
        if effects is not None:
            effects.extend(result)
        return move


def _drafts(loaded: Loaded) -> dict[int, dict[str, Any]]:
    """The forms being filled on the case's open tasks: task id → draft."""
    open_ids = {t.id for t in loaded.state.open_tasks()}
    return {tid: row.draft for tid, row in loaded.task_rows.items() if tid in open_ids and row.draft}


async def _answered(session: AsyncSession, state: CaseState) -> frozenset[str]:
    """The tasks already answered at the stage the case stands at, this time round (their definition keys)."""
    rows = await session.execute(
        select(Task.key).where(
            Task.case_id == state.id,
            Task.stage == state.stage,
            Task.visit == state.visit,
            Task.status == TaskStatus.DONE,
        )
    )
    return frozenset(base_key(key) for key in rows.scalars())
