"""The panel's processes: each with its loaded version and its cases; a definition checked (each mistake with its
line, shown against the text) or loaded; a version rolled back to; every version drawn as SVG; a version's stages
with the running cases at each, and its running cases moved onto another version (checked first, then applied:
`services.migration`). Changes go through `services.panel_actions`, which audits them."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from aiohttp import web
from sqlalchemy import func, select

from admin.pages import PanelPages
from db.models import Case
from flows.i18n import _
from flows.loader import DefinitionError, Problem
from flows.runtime import EngineError
from flows.status import CaseStatus
from services import panel_actions, panel_queries
from services.diagrams import Diagrams, UnknownProcess
from services.library import stored_warnings
from services.migration import Migration, MigrationReport

ROLLED_BACK = re.compile(r"v(\d+):")  # a copy of version N, as rollbacks stored them before migration 0035
REPORT_MAPPING = web.RequestKey("panel_migration_mapping", dict)


def report_mapping(request: web.Request) -> dict[str, str]:
    """The mapping the admin posted, so the form shows what was checked."""
    return dict(request.get(REPORT_MAPPING) or {})


class ProcessPages(PanelPages):
    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/processes", self.processes),
            web.post("/processes/upload", self.upload, name="process-upload"),
            web.post("/processes/{process}/versions/{version:\\d+}/rollback", self.rollback, name="version-rollback"),
            web.get("/processes/{process}", self.process),
            web.get("/processes/{process}/{version:\\d+}.svg", self.diagram),
            web.get("/processes/{process}/versions/{version:\\d+}", self.version),
            web.post("/processes/{process}/versions/{version:\\d+}/migrate", self.migrate, name="version-migrate"),
        ]

    async def processes(self, request: web.Request, **upload: Any) -> web.Response:
        async with self.core.sessionmaker() as session:
            versions = await self.core.registry.versions(session)
            counts = Counter(
                {
                    (p, s): n
                    for p, s, n in (
                        await session.execute(
                            select(Case.process, Case.status, func.count()).group_by(Case.process, Case.status)
                        )
                    ).all()
                }
            )
        items = [
            {
                "key": key,
                "title": self.core.translator.local(loaded.spec.title, self.lang),
                "version": versions.get(key),
                "active": counts[(key, CaseStatus.ACTIVE)],
                "done": counts[(key, CaseStatus.DONE)],
                "path": self._source(loaded.path),
            }
            for key, loaded in sorted(self.core.registry.library.items())
        ]
        return self.panel.render(request, "processes.html", upload.pop("code", 200), items=items, **upload)

    async def upload(self, request: web.Request) -> web.Response:
        """A definition sent as a file or pasted: checked (each mistake with its line, shown against the text),
        and with «load» made the version new cases start with; then its page with the diagram."""
        form = await request.post()
        sent = form.get("file")
        if isinstance(sent, web.FileField) and sent.filename:
            # Only the file's own name (no folders a browser may send), short enough for the versions table.
            name = Path(sent.filename.replace("\\", "/")).name[:200] or "definition.yaml"
            text = sent.file.read().decode("utf-8", errors="replace")
        else:
            name, text = "definition.yaml", str(form.get("text", ""))
        if not text.strip():
            nothing = [{"line": 0, "text": self.panel.t("Choose a file or paste a definition.")}]
            return await self.processes(request, code=400, text=text, problems=nothing)
        load = form.get("action") == "load"
        try:
            async with self.core.sessionmaker() as session, session.begin():
                upload = await panel_actions.upload_definition(self.core, session, text, name, load=load)
        except DefinitionError as exc:
            problems = self._said(exc.problems)
            bad = {p.line for p in exc.problems}
            lines = [{"n": n, "text": line, "bad": n in bad} for n, line in enumerate(text.splitlines(), 1)]
            return await self.processes(request, code=422, text=text, problems=problems, lines=lines)
        if upload.version is None:
            return await self.processes(request, text=text, valid=upload.key, warnings=self._said(upload.warnings))
        said = "same" if upload.same else "loaded"  # the same text as the current version: nothing was loaded
        raise web.HTTPSeeOther(f"/admin/processes/{quote(upload.key)}?{said}={upload.version}")

    async def rollback(self, request: web.Request) -> web.Response:
        """New cases start on this version again (no version is added); running cases keep theirs."""
        process, number = request.match_info["process"], int(request.match_info["version"])
        try:
            async with self.core.sessionmaker() as session, session.begin():
                version = await panel_actions.roll_back(self.core, session, process, number)
        except EngineError as exc:
            return self.panel.refused(request, exc, f"processes/{quote(process)}", 404)
        raise web.HTTPSeeOther(f"/admin/processes/{quote(process)}?loaded={version}")

    async def process(self, request: web.Request) -> web.Response:
        """A process's versions, each with its diagram (the newest shown unless another is asked for)."""
        process = request.match_info["process"]
        async with self.core.sessionmaker() as session:
            versions = await panel_queries.process_versions(session, process)
        if not versions:
            raise web.HTTPNotFound(text=_("There is no such process."))
        shown = request.query.get("version", "")
        numbers = {v.version for v in versions}
        shown_version = int(shown) if shown.isdigit() and int(shown) in numbers else versions[0].version
        loaded = self.core.registry.library.get(process)
        title = self.core.translator.local(loaded.spec.title, self.lang) if loaded else process
        items = [
            {
                "version": v.version,
                "at": v.created_at,
                "path": self._source(v.path),
                "running": v.running,
                "current": v.current,
            }
            for v in versions
        ]
        loaded_now, same = request.query.get("loaded", ""), request.query.get("same", "")
        warned: list[Problem] = []
        said = loaded_now or same
        if said.isdigit() and int(said) in numbers:  # just loaded: its warnings, as its check would have said them
            async with self.core.sessionmaker() as session:
                warned = await stored_warnings(session, process, int(said))
        return self.panel.render(
            request,
            "process.html",
            key=process,
            title=title,
            versions=items,
            shown=shown_version,
            loaded=int(loaded_now) if loaded_now.isdigit() else None,
            same=int(same) if same.isdigit() else None,
            warnings=self._said(warned),
        )

    def _said(self, problems: list[Problem]) -> list[dict[str, Any]]:
        """The checker's mistakes or warnings in the panel's language, each with its line."""
        gettext = lambda message: self.core.translator.i18n.gettext(message, locale=self.lang)  # noqa: E731
        return [{"line": p.line, "text": p.said(gettext)} for p in problems]

    def _source(self, path: str) -> str:
        """Where a version came from as an admin knows it: its file's name, or the version it was rolled back
        to — never a path on the server (`Definition.path` keeps one for the library's files)."""
        path = path.removeprefix("upload:")
        rolled_back = ROLLED_BACK.match(path)
        if rolled_back:
            return self.panel.t("version %(n)s", n=rolled_back.group(1))
        return PurePosixPath(path.replace("\\", "/")).name

    async def diagram(self, request: web.Request) -> web.Response:
        """One version of a process drawn as SVG (made here from the definition; no one's upload)."""
        process, version = request.match_info["process"], int(request.match_info["version"])
        async with self.core.sessionmaker() as session:
            try:
                svg = await Diagrams(self.core, session).version_svg(process, version, self.lang)
            except UnknownProcess:
                raise web.HTTPNotFound(text=_("There is no such version of the process.")) from None
        return svg_document(svg)

    async def version(self, request: web.Request, report: MigrationReport | None = None) -> web.Response:
        """One version of a process: its stages with the running cases at each, the other versions, and the
        form that moves its running cases onto another version (checked first, then applied)."""
        process, number = request.match_info["process"], int(request.match_info["version"])
        async with self.core.sessionmaker() as session:
            versions = await panel_queries.process_versions(session, process)
            by_number = {v.version: v for v in versions}
            if number not in by_number:
                raise web.HTTPNotFound(text=_("There is no such version of the process."))
            this = by_number[number]
            spec = await self.core.registry.spec(session, this.definition_id)
            in_use = await panel_queries.stages_in_use(session, this.definition_id)
            targets = {v.version: await self.core.registry.spec(session, v.definition_id) for v in versions
                       if v.version != number}
        wording = self.core.wording
        to = int(request.query.get("to") or (report.to_version if report else 0) or max(targets, default=0) or 0)
        target = targets.get(to)
        target_keys = {s.key for s in target.stages} if target else set()
        chosen = report_mapping(request) if report else {}
        stages = [
            {
                "key": st.key,
                "title": wording.stage_title(spec, st.key, self.lang),
                "running": in_use.get(st.key, 0),
                "to": chosen.get(st.key, st.key if st.key in target_keys else ""),
            }
            for st in spec.stages
        ]
        # A running case moves onto a stage that still has work; final stages are not offered.
        options: list[tuple[str, str]] = []
        if target is not None:
            options = [(s.key, wording.stage_title(target, s.key, self.lang)) for s in target.stages if not s.final]
        return self.panel.render(
            request,
            "version.html",
            process=process,
            title=self.core.translator.local(spec.title, self.lang),
            version=this,
            versions=versions,
            stages=stages,
            to=to,
            targets=sorted(targets, reverse=True),
            options=options,
            report=report,
        )

    async def migrate(self, request: web.Request) -> web.Response:
        """Check (or, with «apply», do) moving this version's running cases onto another version."""
        process, number = request.match_info["process"], int(request.match_info["version"])
        form = await request.post()
        try:
            to = int(str(form.get("to", "")))
        except ValueError:
            raise web.HTTPBadRequest(text=_("Choose the version to move the cases to.")) from None
        mapping = {
            str(key).removeprefix("map:"): str(value)
            for key, value in form.items()
            if str(key).startswith("map:") and str(value)
        }
        migration = Migration(self.core, self.lang)
        if form.get("action") == "apply":
            report = await migration.apply(process, number, to, mapping, by="panel")
        else:
            report = await migration.check(process, number, to, mapping)
        request[REPORT_MAPPING] = mapping
        return await self.version(request, report)


def svg_document(svg: bytes) -> web.Response:
    # Drawn here from a definition, but served as a document of its own: nothing in it may run.
    headers = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}
    return web.Response(body=svg, content_type="image/svg+xml", headers=headers)

