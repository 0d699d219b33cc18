"""Exports: every case of a process with all its fields, as an Excel file (e.g. to count refusal reasons)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from flows.i18n import _
from flows.model import ReportColumn, ReportDef
from flows.runtime import EngineError
from services import access, comments, outbox, reports
from services.core import Core
from services.definitions import process_named

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class UnknownProcess(Exception):
    """No loaded process has this key: the admin is shown the usage and the processes there are."""


@dataclass
class Export:
    file_id: int
    title: str
    cases: int


class Exports:
    def __init__(self, core: Core, session: AsyncSession) -> None:
        self.core = core
        self.session = session

    def processes(self) -> list[str]:
        return sorted(self.core.registry.library)

    def titled(self, lang: str | None) -> list[tuple[str, str]]:
        """The processes as (key, title in this language), by title: what `/export`'s buttons offer."""
        local = self.core.translator.local
        return sorted(
            ((k, local(d.spec.title, lang)) for k, d in self.core.registry.library.items()), key=lambda p: p[1]
        )

    async def process_cases(self, viewer: access.Viewer, named: str) -> Export:
        """The process's cases (closed ones too) as an Excel file stored for this person; `named`: its key or its
        title in the person's language (`/export Сделка`), as `/diagram` takes it."""
        process = process_named(self.titled(viewer.user.language), named)
        if process is None:
            raise UnknownProcess(named)
        access.require(access.can_export(viewer), _("Only an administrator can export a process's cases."))
        lang = viewer.user.language
        t, local = self.core.translator.t, self.core.translator.local
        spec = self.core.registry.library[process].spec
        columns = [
            ReportColumn(field="id", label={"ru": "№", "en": "No."}),
            ReportColumn(field="title", label=t("Case", lang)),
            ReportColumn(field="stage", label=t("Stage", lang)),
            ReportColumn(field="responsible", label=t("Responsible", lang)),
            ReportColumn(field="status", label=t("Status", lang)),
            ReportColumn(field="created", label=t("Created", lang)),
            ReportColumn(field="closed", label=t("Closed", lang)),
        ]
        columns += [ReportColumn(field=name, label=f.label) for name, f in spec.fields.items() if f.type != "list"]
        report = ReportDef(process=process, columns=columns, to="-", title=spec.title)
        rows = await reports.build_rows(self.core, self.session, report, lang, include_closed=True)
        if not rows:  # an empty workbook told the admin nothing they could not be told in words
            nothing = _("“%(title)s” has no cases yet: there is nothing to export.")
            raise EngineError(nothing, title=local(spec.title, lang))
        # Each case's comment thread as its reader may read it (an internal note never in an external one's file).
        threads = await comments.threads(self.session, viewer, [int(r.values[0]) for r in rows])
        for row in rows:
            said = "\n".join(self.core.wording.comment_line(e, lang) for e in threads.get(int(row.values[0]), []))
            row.cells.append(said)
            row.values.append(said)
        title = local(spec.title, lang)
        # The rows are read in this transaction; the workbook is built after its commit by a render job, and
        # the message carrying the file waits for it.
        stored = await self.core.files.reserve(
            self.session, name=f"{title}.xlsx", kind="document", now=self.core.clock.now(), case_id=None,
            user_id=viewer.user.id, mime_type=XLSX,
        )  # fmt: skip
        headers = [*(local(c.label, lang) for c in columns), t("Comments", lang)]
        outbox.render_job(
            self.session,
            payload={"file_id": stored.id, "name": stored.file_name, **reports.sheet_job(title, headers, rows, {}, "")},
            now=self.core.clock.now(),
            case_id=None,
        )
        return Export(file_id=stored.id, title=title, cases=len(rows))
