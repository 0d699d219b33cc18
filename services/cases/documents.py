"""Documents and reports as effect handlers: a DOCX from a template, an Excel report over other cases."""

from __future__ import annotations

import asyncio
import copy
from datetime import date
from typing import TYPE_CHECKING, Any

from flows.context import case_context
from flows.runtime import BuildReport, Render
from services import access, outbox, reports
from services.cases.effects import handles
from services.cases.state import Loaded
from services.files import file_ref, render_docx
from services.i18n import LANGUAGES

if TYPE_CHECKING:
    from services.cases.service import CaseService
    from services.core import Core


class TemplateMissing(RuntimeError):
    pass


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@handles(Render)
async def render_document(service: CaseService, loaded: Loaded, effect: Render, actor_id: int | None) -> None:
    templates = service.core.templates_dir.resolve()
    path = (templates / effect.template).resolve()
    if templates not in path.parents or not path.is_file():
        # Not the person's mistake: the step fails, the case needs attention, an admin fixes and retries.
        raise TemplateMissing(f"the document template {effect.template} is missing")
    state = loaded.state
    name = effect.name if effect.name.endswith(".docx") else f"{effect.name}.docx"
    # The file is reserved now and rendered after the commit (`DocumentJobs`): the step does not wait for
    # python-docx, and the messages that carry the file go out once it is written.
    stored = await service.store.reserve_file(
        name=name, kind="document", case_id=loaded.row.id, user_id=actor_id, mime_type=DOCX
    )
    extra = service.extra(loaded)
    outbox.render_job(
        service.session,
        payload={
            "file_id": stored.id,
            "template": effect.template,
            "definition_id": loaded.row.definition_id,
            "data": copy.deepcopy(state.data),
            "case": extra["case"],
            "today": extra["today"].isoformat(),
        },
        now=service.now,
        case_id=loaded.row.id,
    )
    state.data[effect.to] = [file_ref(stored)]


class DocumentJobs:
    """Runs render jobs (`services.outbox.render_job`) for the outbox sender: the case's data as it was at
    the step, the template as it is now, python-docx in a worker thread so the event loop keeps serving."""

    def __init__(self, core: Core) -> None:
        self.core = core

    async def render(self, payload: dict[str, Any]) -> bytes:
        if payload.get("kind") == "xlsx":
            return await asyncio.to_thread(reports.sheet_from_job, payload)
        templates = self.core.templates_dir.resolve()
        path = (templates / str(payload["template"])).resolve()
        if templates not in path.parents or not path.is_file():
            raise TemplateMissing(f"the document template {payload['template']} is missing")
        async with self.core.sessionmaker() as session:
            spec = await self.core.registry.spec(session, int(payload["definition_id"]))
        extra = {"case": payload["case"], "today": date.fromisoformat(payload["today"])}
        context = case_context(spec, payload["data"], extra)
        return await asyncio.to_thread(render_docx, path, context)


@handles(BuildReport)
async def build_report(service: CaseService, loaded: Loaded, effect: BuildReport, actor_id: int | None) -> None:
    core, report = service.core, effect.report
    lang = core.config.default_language
    scope = await access.report_scope(service.session, loaded.row)
    # The cases are read once: the file and each language's summary are of the same moment.
    cases = await reports.cases_at(service.session, report.process, report.stage, scope=scope)
    rows = await reports.rows_of(core, service.session, cases, report, lang)
    title = core.translator.local(report.title, lang)
    headers = [core.translator.local(c.label, lang) for c in report.columns]
    # A total of a field no case holds (receivables nobody entered) is no figure: «Дебиторка: 0,00 ₽» would state a
    # debt of nothing nobody gave. A real 0 entered is one, and is summed.
    given = [name for name in report.totals if any(name in r.numbers for r in rows)]
    totals = {name: sum(r.numbers.get(name, 0.0) for r in rows) for name in given}
    # The totals are fields of the cases reported on: labelled and written as that process has them.
    reported = core.registry.latest(report.process)[1] if report.process in core.registry.current else loaded.state.spec
    labelled = {reports.total_label(core, report, reported, n, lang): v for n, v in totals.items()}
    stamp = service.now.astimezone(core.calendar.tz).strftime("%d.%m.%Y %H-%M")
    # The rows are read now (they are this moment's cases); the workbook is built after the commit. The file is
    # the company's, in its language; the summary below is read in chat, so it is written in every language.
    stored = await service.store.reserve_file(
        name=f"{title} {stamp}.xlsx", kind="document", case_id=loaded.row.id, user_id=actor_id, mime_type=XLSX
    )
    outbox.render_job(
        service.session,
        payload={
            "file_id": stored.id,
            "name": stored.file_name,
            **reports.sheet_job(title, headers, rows, labelled, core.translator.t("Total", lang)),
        },
        now=service.now,
        case_id=loaded.row.id,
    )
    loaded.state.data[report.to] = [file_ref(stored)]
    if report.count is not None:
        loaded.state.data[report.count] = len(rows)
    for name, target in report.totals_to.items():
        loaded.state.data[target] = sum(r.numbers.get(name, 0.0) for r in rows)
    # Kept for a later report of this case to say what moved since (`changes_since`), when one does.
    if report.to in loaded.state.spec.compared_reports():
        loaded.state.data[f"{report.to}:rows"] = reports.snapshot(report, rows)
    earlier = loaded.state.data.get(f"{report.changes_since}:rows") if report.changes_since else None
    if report.summary is None and (report.changes is None or not isinstance(earlier, dict)):
        return
    # Texts the system wrote, in each language (`flows.model.LocalText`): each reader's card and task read theirs.
    texts: dict[str, str] = {}
    moved: dict[str, str] = {}
    for other in LANGUAGES:
        cells = rows if other == lang else await reports.rows_of(core, service.session, cases, report, other)
        texts[other] = reports.summary(core, report, reported, cells, totals, other)
        if isinstance(earlier, dict):
            moved[other] = reports.changes(core, report, earlier, cells, other)
    if report.summary is not None:
        loaded.state.data[report.summary] = texts
    if report.changes is not None and moved:
        loaded.state.data[report.changes] = moved
