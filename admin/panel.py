"""A small web panel for admins: every case with its current step, deadline and holder, its data with the
photos and documents, its history in sentences; people and roles, process versions, and delivery problems.
The same services as the bot (another front end). What it changes goes through them, so it cannot bypass the
engine or the access rules, and each change is audited (`services.panel_actions`): a definition checked, loaded
or rolled back; a version's running cases moved onto another version (`services.migration`); invites (with a
QR code), roles, a person revoked; a failed step retried, a task reassigned, a case cancelled with a reason.

Access: log in with the admin token (ADMIN_TOKEN) on the login page or by opening `/admin/?token=…` once;
a server-side session follows (admin/auth.py). The panel speaks the settings' default language.
"""

from __future__ import annotations

import base64
import logging
import mimetypes
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from admin.auth import CSRF_KEY, Auth, AuthConfig, wall_clock
from admin.notifications import NotificationsPage
from admin.organisations import OrganisationPages
from admin.words import CASE_STATUS, Words
from db.models import Case, Outbox, StoredFile, User
from flows.i18n import _
from flows.loader import DefinitionError
from flows.model import FieldDef, ProcessDef
from flows.runtime import EARLIER, EngineError
from flows.status import CaseStatus
from services import comments, companies, panel_actions, panel_queries
from services.admin_actions import AdminActions
from services.cases import CaseService
from services.core import Core
from services.diagrams import Diagrams, UnknownProcess, current_stage, process_graph, render_async
from services.migration import Migration, MigrationReport
from services.panel_sessions import SessionPolicy
from services.team import Team, UnknownRoles
from services.wording import ORGANISATION_KINDS

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
PAGE = 50
# Shown inline (and served `inline`) only for raster formats a browser cannot run code from; SVG and
# everything else is a download, so a file someone sent the bot cannot script the panel.
INLINE_IMAGES = {"image/jpeg", "image/png", "image/gif", "image/webp"}

REPORT_MAPPING = web.RequestKey("panel_migration_mapping", dict)


def report_mapping(request: web.Request) -> dict[str, str]:
    """The mapping the admin posted, so the form shows what was checked."""
    return dict(request.get(REPORT_MAPPING) or {})


_env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)  # user text is escaped


class AdminPanel:
    def __init__(
        self,
        core: Core,
        token: str,
        *,
        policy: SessionPolicy | None = None,
        behind_proxy: bool = False,
        language: str | None = None,
        now: Callable[[], datetime] = wall_clock,
        bot_name: Callable[[], Awaitable[str]] | None = None,
    ) -> None:
        if len(token) < 12:
            raise ValueError("ADMIN_TOKEN must be at least 12 characters")
        self.core = core
        self.lang = core.translator.lang(language or core.config.default_language)
        self.words = Words(core, self.lang)
        config = AuthConfig(token=token, policy=policy or SessionPolicy(), behind_proxy=behind_proxy, now=now)
        self.auth = Auth(core.sessionmaker, config, self.render)
        # The bot's @username makes an invite a t.me link (asked of Telegram once; without a bot, the code only).
        self.bot_name = bot_name

    def app(self) -> web.Application:
        """The panel as a sub-application; mount it at /admin (pages link relative to <base href="/admin/">)."""
        app = web.Application(middlewares=self.auth.middlewares())
        app.add_routes(
            [
                *self.auth.routes(),
                web.get("/", self.cases),
                web.get("/cases/{case_id:\\d+}", self.case),
                web.get("/cases/{case_id:\\d+}/diagram.svg", self.case_diagram),
                web.post("/cases/{case_id:\\d+}/retry", self.retry),
                web.post("/cases/{case_id:\\d+}/cancel", self.cancel),
                web.post("/cases/{case_id:\\d+}/tasks/{task_id:\\d+}/reassign", self.reassign),
                web.get("/files/{file_id:\\d+}", self.file),
                web.get("/people", self.people),
                web.post("/people/invite", self.invite),
                web.post("/people/{user_id:\\d+}/roles", self.roles),
                web.post("/people/{user_id:\\d+}/revoke", self.revoke),
                web.get("/organisations", self.organisations),
                *OrganisationPages(self).routes(),
                web.get("/processes", self.processes),
                web.post("/processes/upload", self.upload),
                web.post("/processes/{process}/versions/{version:\\d+}/rollback", self.rollback),
                web.get("/processes/{process}", self.process),
                web.get("/processes/{process}/{version:\\d+}.svg", self.diagram),
                web.get("/processes/{process}/versions/{version:\\d+}", self.version),
                web.post("/processes/{process}/versions/{version:\\d+}/migrate", self.migrate),
                web.get("/outbox", self.outbox),
                *NotificationsPage(self).routes(),
            ]
        )
        return app

    async def serve(self, host: str, port: int) -> web.AppRunner:
        root = web.Application()
        root.add_subapp("/admin", self.app())
        # No access log: a first request may carry the token in its URL (it is redirected away at once).
        runner = web.AppRunner(root, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        log.info("admin panel on http://%s:%s/admin/", host, port)
        return runner

    def render(self, request: web.Request, name: str, code: int = 200, **context: Any) -> web.Response:
        text = _env.get_template(name).render(
            _=lambda message, **params: self.core.translator.t(message, self.lang, **params),
            lang=self.lang,
            csrf=request.get(CSRF_KEY),
            logged_in=CSRF_KEY in request,
            w=self.words,
            when=self.core.wording.when,
            **context,
        )
        return web.Response(text=text, status=code, content_type="text/html")

    async def cases(self, request: web.Request) -> web.Response:
        process = request.query.get("process") or None
        status = request.query.get("status") or None
        text = request.query.get("q", "").strip()[:200] or None
        stage = request.query.get("stage") or None
        overdue = request.query.get("overdue") == "1"
        now = self.core.clock.now()
        async with self.core.sessionmaker() as session:
            page = await panel_queries.find_cases(
                self.core,
                session,
                process=process,
                status=status,
                text=text,
                lang=self.lang,
                limit=PAGE,
                stage=stage,
                overdue_at=now if overdue else None,
            )
        items = []
        for case in page.cases:
            spec = page.specs[case.definition_id]
            work = page.work[case.id]
            holders = list(dict.fromkeys(self.words.holder(t, page.names) for t in work.tasks))
            deadline = work.deadline
            items.append(
                {
                    "case": case,
                    "process": self.core.translator.local(spec.title, self.lang),
                    "stage": self.words.stage(spec, case.stage),
                    "status": self.words.case_status(case.status),
                    "active": case.status == "active",
                    "deadline": deadline,
                    "overdue": deadline is not None and deadline < now,
                    "holders": holders,
                    "attention": case.attention,
                    # The stage's colour from the definition: a coloured row (a cancelled case keeps none).
                    "colour": self.core.registry.stage_colour(spec, case.stage) if case.status != "cancelled" else None,
                }
            )
        processes = [
            (key, self.core.translator.local(loaded.spec.title, self.lang))
            for key, loaded in sorted(self.core.registry.library.items())
        ]
        # The stages to filter by: the chosen process's (or every process's, each stage once by its key).
        stages: dict[str, str] = {}
        for key, loaded in sorted(self.core.registry.library.items()):
            if process in (None, key):
                for st in loaded.spec.stages:
                    stages.setdefault(st.key, self.words.stage(loaded.spec, st.key))
        statuses = [(key, self.words.case_status(key)) for key in CASE_STATUS]
        statuses.append((panel_queries.ATTENTION, self.core.translator.t("⚠️ Needs attention", self.lang)))
        return self.render(
            request,
            "cases.html",
            items=items,
            processes=processes,
            statuses=statuses,
            process=process,
            status=status,
            q=text or "",
            stages=sorted(stages.items(), key=lambda item: item[1]),
            stage=stage,
            overdue=overdue,
            scanned_all=page.scanned_all,
            scan_limit=panel_queries.SEARCH_SCAN,
        )

    async def case(self, request: web.Request) -> web.Response:
        case_id = int(request.match_info["case_id"])
        now = self.core.clock.now()
        async with self.core.sessionmaker() as session:
            detail = await panel_queries.case_detail(self.core, session, case_id)
            if detail is None:
                raise web.HTTPNotFound(text="no such case")
            # Whom each open task of a role may be reassigned to (the same rule as the chat's escalation).
            candidates = await self._actions(session).open_task_candidates(case_id)
            thread = await comments.case_thread(session, case_id)  # the panel is the admins': internal notes too
        case, spec, names = detail.case, detail.spec, detail.names
        by_id = {t.id: t for t in detail.tasks}
        tasks = [
            {
                "id": t.id,
                "open": t.status == "open",
                "candidates": [(u.id, u.name) for u in candidates.get(t.id, [])],
                "title": self.words.task_title(spec, t.stage, t.key),
                "stage": self.words.stage(spec, t.stage),
                "holder": self.words.holder(t, names),
                "due": t.due_at,
                "overdue": t.status == "open" and t.due_at is not None and t.due_at < now,
                "status": self.words.task_status(t.status),
                "outcome": self.words.outcome(spec, t.stage, t.key, t.outcome),
            }
            for t in detail.tasks
        ]
        history = [{"at": a.at, "text": self.words.history(a, spec, by_id, names)} for a in detail.audit]
        return self.render(
            request,
            "case.html",
            case=case,
            spec_title=self.core.translator.local(spec.title, self.lang),
            stage=self.words.stage(spec, case.stage),
            status=self.words.case_status(case.status),
            initiator=names.get(case.initiator_id, "?"),
            fields=self._fields(spec, case.data, names),
            tasks=tasks,
            history=history,
            closed=case.status in ("done", "cancelled"),
            comments=[{"text": self.core.wording.comment_line(e, self.lang), "entry": e} for e in thread],
            files=[_file_view(f.id, f.file_name, f.mime_type) | {"size": f.size} for f in detail.files],
        )

    async def case_diagram(self, request: web.Request) -> web.Response:
        """The case's process (its version) drawn with the stage the case stands at highlighted."""
        case_id = int(request.match_info["case_id"])
        async with self.core.sessionmaker() as session:
            detail = await panel_queries.case_detail(self.core, session, case_id)
        if detail is None:
            raise web.HTTPNotFound(text="no such case")
        current = current_stage(detail.case.status, detail.case.stage)
        svg = await render_async(process_graph(self.core, detail.spec, self.lang, current=current), "svg")
        return _svg(svg)

    async def retry(self, request: web.Request) -> web.Response:
        """A failed step of the case goes back in line (the admin fixed its data or its definition)."""
        case_id = int(request.match_info["case_id"])
        async with self.core.sessionmaker() as session, session.begin():
            await self._actions(session).retry(case_id)
        raise web.HTTPSeeOther(f"/admin/cases/{case_id}")

    async def cancel(self, request: web.Request) -> web.Response:
        """The case stops, with the admin's reason in its history (the chat's cancel, for the panel)."""
        case_id = int(request.match_info["case_id"])
        reason = str((await request.post()).get("reason", ""))
        try:
            async with self.core.sessionmaker() as session, session.begin():
                await self._actions(session).cancel(case_id, reason)
        except EngineError as exc:
            return self.refused(request, exc, f"cases/{case_id}")
        self.core.outbox_written()
        raise web.HTTPSeeOther(f"/admin/cases/{case_id}")

    async def reassign(self, request: web.Request) -> web.Response:
        """An open task goes to another person of its role (chosen from those who may hold it)."""
        case_id, task_id = int(request.match_info["case_id"]), int(request.match_info["task_id"])
        to = str((await request.post()).get("to", ""))
        try:
            async with self.core.sessionmaker() as session, session.begin():
                await self._actions(session).reassign(task_id, int(to) if to.isdigit() else 0)
        except EngineError as exc:
            return self.refused(request, exc, f"cases/{case_id}")
        self.core.outbox_written()
        raise web.HTTPSeeOther(f"/admin/cases/{case_id}")

    def _actions(self, session: AsyncSession) -> AdminActions:
        """What an admin does to cases, acting as the panel (this request's session and CSRF token were checked)."""
        return AdminActions(CaseService(self.core, session), None)

    def refused(self, request: web.Request, error: EngineError, back: str, code: int = 409) -> web.Response:
        """A change the rules refused, said in words, with the way back."""
        text = self.core.translator.t(error.message, self.lang, **error.params)
        return self.render(request, "refused.html", code, text=text, back=back)

    def _fields(self, spec: ProcessDef, data: dict[str, Any], names: dict[int, str]) -> list[dict[str, Any]]:
        """The case's data, one row per field and one block per list entry; files as links and images."""
        rows: list[dict[str, Any]] = []
        for name, fdef in spec.fields.items():
            value = data.get(name)
            if name not in data:
                continue
            label = self.core.translator.local(fdef.label, self.lang)
            if fdef.type == "list" and fdef.fields:
                entries = []
                for item in value if isinstance(value, list) else []:
                    if isinstance(item, dict):
                        entries.append(
                            [self._value(sub, item.get(key), spec, names) for key, sub in fdef.fields.items()]
                        )
                rows.append({"label": label, "entries": entries})
            else:
                row = self._value(fdef, value, spec, names)
                notes = [n for n in (data.get(EARLIER) or {}).get(name) or [] if isinstance(n, dict)]
                if notes and "text" in row:  # a value a later answer replaced stays in view
                    wording = self.core.wording
                    before = ", ".join(
                        wording.summary_value(fdef, n.get("value"), self.lang, spec) for n in notes[::-1]
                    )
                    row["text"] += " · " + wording.t("earlier: %(values)s", self.lang, values=before)
                rows.append(row)
        return rows

    def _value(self, fdef: FieldDef, value: Any, spec: ProcessDef, names: dict[int, str]) -> dict[str, Any]:
        label = self.core.translator.local(fdef.label, self.lang)
        if fdef.type in ("photo", "document") and value:
            refs = value if isinstance(value, list) else [value]
            files = [
                _file_view(ref["id"], str(ref.get("name", "file")), ref.get("mime"))
                for ref in refs
                if isinstance(ref, dict) and isinstance(ref.get("id"), int)
            ]
            return {"label": label, "files": files}
        return {"label": label, "text": self.core.wording.format_field(fdef, value, self.lang, spec, names)}

    async def file(self, request: web.Request) -> web.StreamResponse:
        """A stored file of a case, only inside a session (the auth middleware has checked it)."""
        file_id = int(request.match_info["file_id"])
        async with self.core.sessionmaker() as session:
            stored = await session.get(StoredFile, file_id)
        if stored is None:
            raise web.HTTPNotFound(text="no such file")
        root = self.core.files.root
        path = self.core.files.path(stored).resolve()
        if not path.is_relative_to(root) or not path.is_file():  # a path in the table never leaves the store
            raise web.HTTPNotFound(text="file is missing from the store")
        view = _file_view(stored.id, stored.file_name, stored.mime_type)
        disposition = "inline" if view["image"] else "attachment"
        return web.FileResponse(
            path,
            headers={
                "Content-Type": view["mime"] if view["image"] else (stored.mime_type or "application/octet-stream"),
                "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(stored.file_name)}",
                # Even opened directly, a file is a sandboxed document: no scripts, no access to the panel.
                "Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self'",
                "Cache-Control": "private, max-age=3600",
            },
        )

    async def people(self, request: web.Request, **invited: Any) -> web.Response:
        """Everyone with their roles (granted and revoked here), those the bot cannot reach, and invite links."""
        async with self.core.sessionmaker() as session:
            team = Team(self.core, session)
            roster = await team.roster()
            orgs = await companies.listed(session)
            lost = await panel_actions.unreachable(session)
        known = sorted(team.known_roles(), key=self.words.role)
        return self.render(
            request,
            "people.html",
            invited.pop("code", 200),
            roster=[(u, [(r, self.words.role(r)) for r in roles]) for u, roles in roster],
            known=[(r, self.words.role(r)) for r in known],
            orgs=[(o.id, o.name) for o in orgs],
            lost=lost,
            **invited,
        )

    async def invite(self, request: web.Request) -> web.Response:
        """An invite link for a role (and an organisation), shown with its QR code to scan from a phone."""
        form = await request.post()
        roles = [str(r) for r in form.getall("role", [])]
        org = str(form.get("organisation", ""))
        uses = str(form.get("uses", "1"))
        try:
            async with self.core.sessionmaker() as session, session.begin():
                created = await panel_actions.invite(
                    self.core,
                    session,
                    roles,
                    organisation_id=int(org) if org.isdigit() else None,
                    uses=int(uses) if uses.isdigit() else 1,
                )
        except UnknownRoles:
            return await self.people(request, code=400, invite_error=self._t("Choose at least one role."))
        link = await self._invite_link(created.code)
        return await self.people(
            request,
            link=link,
            qr=qr_data_uri(link),
            invite_roles=", ".join(self.words.role(r) for r in roles),
            invite_uses=created.max_uses,
        )

    async def _invite_link(self, code: str) -> str:
        if self.bot_name is None:
            return f"/start {code}"
        return f"https://t.me/{await self.bot_name()}?start={code}"

    async def roles(self, request: web.Request) -> web.Response:
        """Grant or revoke one role of a person (a revoked role's tasks go back to its pool)."""
        user_id = int(request.match_info["user_id"])
        form = await request.post()
        try:
            async with self.core.sessionmaker() as session, session.begin():
                await panel_actions.change_role(
                    self.core, session, user_id, str(form.get("role", "")), grant=form.get("action") == "grant"
                )
        except UnknownRoles:
            return self.refused(request, EngineError(_("No such person or role.")), "people", 400)
        self.core.outbox_written()  # a revoked role's tasks went back to the pool: its members are told
        raise web.HTTPSeeOther("/admin/people")

    async def revoke(self, request: web.Request) -> web.Response:
        """The person leaves: inactive, their tasks back to the pools."""
        user_id = int(request.match_info["user_id"])
        try:
            async with self.core.sessionmaker() as session, session.begin():
                await panel_actions.revoke_person(self.core, session, user_id)
        except UnknownRoles:
            return self.refused(request, EngineError(_("No such person or role.")), "people", 400)
        self.core.outbox_written()
        raise web.HTTPSeeOther("/admin/people")

    async def organisations(self, request: web.Request) -> web.Response:
        """Dealers, suppliers and clients with their details and people (kept in chat: /org_new, /org_set)."""
        async with self.core.sessionmaker() as session:
            orgs = await companies.listed(session)
            users = {u.id: u for u in (await session.execute(select(User))).scalars()}
        members: dict[int, list[str]] = {}
        for user in users.values():
            if user.organisation_id is not None:
                members.setdefault(user.organisation_id, []).append(user.name)
        reps = {o.id: users[o.regional_rep_id].name for o in orgs if o.regional_rep_id in users}
        kinds = {k: self.core.translator.t(v, self.lang) for k, v in ORGANISATION_KINDS.items()}
        return self.render(request, "organisations.html", orgs=orgs, members=members, reps=reps, kinds=kinds)

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
                "path": loaded.path,
            }
            for key, loaded in sorted(self.core.registry.library.items())
        ]
        return self.render(request, "processes.html", upload.pop("code", 200), items=items, **upload)

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
            nothing = [{"line": 0, "text": self._t("Choose a file or paste a definition.")}]
            return await self.processes(request, code=400, text=text, problems=nothing)
        load = form.get("action") == "load"
        try:
            async with self.core.sessionmaker() as session, session.begin():
                upload = await panel_actions.upload_definition(self.core, session, text, name, load=load)
        except DefinitionError as exc:
            gettext = lambda message: self.core.translator.i18n.gettext(message, locale=self.lang)  # noqa: E731
            problems = [
                {"line": p.line, "text": p.translated(gettext).removeprefix(f"{p.file}:{p.line}: ")}
                for p in exc.problems
            ]
            bad = {p.line for p in exc.problems}
            lines = [{"n": n, "text": line, "bad": n in bad} for n, line in enumerate(text.splitlines(), 1)]
            return await self.processes(request, code=422, text=text, problems=problems, lines=lines)
        if upload.version is None:
            return await self.processes(request, text=text, valid=upload.key)
        raise web.HTTPSeeOther(f"/admin/processes/{quote(upload.key)}?loaded={upload.version}")

    async def rollback(self, request: web.Request) -> web.Response:
        """New cases start on this earlier version again (stored as the newest); running cases keep theirs."""
        process, number = request.match_info["process"], int(request.match_info["version"])
        try:
            async with self.core.sessionmaker() as session, session.begin():
                version = await panel_actions.roll_back(self.core, session, process, number)
        except EngineError as exc:
            return self.refused(request, exc, f"processes/{quote(process)}", 404)
        raise web.HTTPSeeOther(f"/admin/processes/{quote(process)}?loaded={version}")

    def _t(self, message: str, **params: Any) -> str:
        return self.core.translator.t(message, self.lang, **params)

    async def process(self, request: web.Request) -> web.Response:
        """A process's versions, each with its diagram (the newest shown unless another is asked for)."""
        process = request.match_info["process"]
        async with self.core.sessionmaker() as session:
            versions = await panel_queries.process_versions(session, process)
        if not versions:
            raise web.HTTPNotFound(text="no such process")
        shown = request.query.get("version", "")
        numbers = {v.version for v in versions}
        shown_version = int(shown) if shown.isdigit() and int(shown) in numbers else versions[0].version
        loaded = self.core.registry.library.get(process)
        title = self.core.translator.local(loaded.spec.title, self.lang) if loaded else process
        items = [{"version": v.version, "at": v.created_at, "path": v.path, "running": v.running} for v in versions]
        loaded_now = request.query.get("loaded", "")
        return self.render(
            request,
            "process.html",
            key=process,
            title=title,
            versions=items,
            shown=shown_version,
            loaded=int(loaded_now) if loaded_now.isdigit() else None,
        )

    async def diagram(self, request: web.Request) -> web.Response:
        """One version of a process drawn as SVG (made here from the definition; no one's upload)."""
        process, version = request.match_info["process"], int(request.match_info["version"])
        async with self.core.sessionmaker() as session:
            try:
                svg = await Diagrams(self.core, session).version_svg(process, version, self.lang)
            except UnknownProcess:
                raise web.HTTPNotFound(text="no such version") from None
        return _svg(svg)

    async def version(self, request: web.Request, report: MigrationReport | None = None) -> web.Response:
        """One version of a process: its stages with the running cases at each, the other versions, and the
        form that moves its running cases onto another version (checked first, then applied)."""
        process, number = request.match_info["process"], int(request.match_info["version"])
        async with self.core.sessionmaker() as session:
            versions = await panel_queries.process_versions(session, process)
            by_number = {v.version: v for v in versions}
            if number not in by_number:
                raise web.HTTPNotFound(text="no such version")
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
        return self.render(
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
            raise web.HTTPBadRequest(text="no version to move to") from None
        mapping = {
            str(key).removeprefix("map:"): str(value)
            for key, value in form.items()
            if str(key).startswith("map:") and str(value)
        }
        migration = Migration(self.core, self.lang)
        run = migration.apply if form.get("action") == "apply" else migration.check
        report = await run(process, number, to, mapping)
        request[REPORT_MAPPING] = mapping
        return await self.version(request, report)

    async def outbox(self, request: web.Request) -> web.Response:
        async with self.core.sessionmaker() as session:
            by_status = dict((await session.execute(select(Outbox.status, func.count()).group_by(Outbox.status))).all())
            problems = await panel_queries.delivery_problems(session, PAGE)
        return self.render(
            request,
            "outbox.html",
            by_status=[(self.words.outbox_status(s), n) for s, n in sorted(by_status.items())],
            problems=problems,
        )


def _svg(svg: bytes) -> web.Response:
    # Drawn here from a definition, but served as a document of its own: nothing in it may run.
    headers = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}
    return web.Response(body=svg, content_type="image/svg+xml", headers=headers)


def qr_data_uri(text: str) -> str:
    """A QR code of `text` as an SVG image inline in the page (drawn here, nothing fetched from elsewhere)."""
    # Loaded when an admin opens an invite, not in every bot process (qrcode brings PIL).
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    return "data:image/svg+xml;base64," + base64.b64encode(image.to_string()).decode()


def _file_view(file_id: int, name: str, mime: str | None) -> dict[str, Any]:
    mime = mime or mimetypes.guess_type(name)[0] or "application/octet-stream"
    return {"id": file_id, "name": name, "mime": mime, "image": mime in INLINE_IMAGES}
