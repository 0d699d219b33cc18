"""A small web panel for admins: every case with its history, people and roles, process versions, and the
outbox's health. The same services as the bot (other front end); read-only, so it cannot bypass the engine.

Access needs the admin token (ADMIN_TOKEN): open `/admin/?token=…` once, a cookie keeps the session.
"""

from __future__ import annotations

import hmac
import logging
from collections import Counter
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web
from sqlalchemy import false, func, select

from db.models import AuditEntry, Case, Outbox, Task, User, UserRole
from flows.status import CaseStatus, OutboxStatus, TaskStatus
from services.core import Core

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
COOKIE = "konveyer_admin"
PAGE = 50

_env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)  # user text is escaped


def _render(name: str, **context: Any) -> web.Response:
    return web.Response(text=_env.get_template(name).render(**context), content_type="text/html")


class AdminPanel:
    def __init__(self, core: Core, token: str) -> None:
        if len(token) < 12:
            raise ValueError("ADMIN_TOKEN must be at least 12 characters")
        self.core = core
        self.token = token

    def app(self) -> web.Application:
        """The panel as a sub-application; mount it at /admin (pages link relative to <base href="/admin/">)."""
        app = web.Application(middlewares=[self._auth])
        app.add_routes(
            [
                web.get("/", self.cases),
                web.get("/cases/{case_id:\\d+}", self.case),
                web.get("/people", self.people),
                web.get("/processes", self.processes),
                web.get("/outbox", self.outbox),
            ]
        )
        return app

    async def serve(self, host: str, port: int) -> web.AppRunner:
        root = web.Application()
        root.add_subapp("/admin", self.app())
        runner = web.AppRunner(root, access_log=None)  # the first request carries the token in its URL
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        log.info("admin panel on http://%s:%s/admin/", host, port)
        return runner

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        given = request.query.get("token") or request.cookies.get(COOKIE) or ""
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            return web.Response(status=401, text="Откройте ссылку с токеном администратора / admin token required")
        if "token" in request.query:
            # Keep the token out of browser history and logs: set the cookie, then the same page without it.
            query = {k: v for k, v in request.query.items() if k != "token"}
            redirect = web.HTTPSeeOther(request.rel_url.with_query(query))
            redirect.set_cookie(COOKIE, self.token, httponly=True, samesite="Strict")
            raise redirect
        answer: web.StreamResponse = await handler(request)
        return answer

    async def cases(self, request: web.Request) -> web.Response:
        process = request.query.get("process") or None
        status = request.query.get("status") or None
        lang = self.core.config.default_language
        async with self.core.sessionmaker() as session:
            query = select(Case).order_by(Case.updated_at.desc()).limit(PAGE)
            if process:
                query = query.where(Case.process == process)
            if status:
                # Only a status can match (the column holds nothing else); any other filter shows no case.
                query = query.where(Case.status == status if status in set(CaseStatus) else false())
            rows = list((await session.execute(query)).scalars())
            open_tasks = dict(
                (
                    await session.execute(
                        select(Task.case_id, func.count())
                        .where(Task.status == TaskStatus.OPEN, Task.case_id.in_([c.id for c in rows]))
                        .group_by(Task.case_id)
                    )
                ).all()
            )
            overdue = dict(
                (
                    await session.execute(
                        select(Task.case_id, func.count())
                        .where(
                            Task.status == TaskStatus.OPEN,
                            Task.due_at < self.core.clock.now(),
                            Task.case_id.in_([c.id for c in rows]),
                        )
                        .group_by(Task.case_id)
                    )
                ).all()
            )
            items = []
            for case in rows:
                spec = await self.core.registry.spec(session, case.definition_id)
                items.append(
                    {
                        "case": case,
                        "process": self.core.translator.local(spec.title, lang),
                        "stage": self.core.wording.stage_title(spec, case.stage, lang),
                        "open": open_tasks.get(case.id, 0),
                        "overdue": overdue.get(case.id, 0),
                    }
                )
        processes = sorted(self.core.registry.library)
        return _render(
            "cases.html",
            items=items,
            processes=processes,
            process=process,
            statuses=list(CaseStatus),
            status=status,
            when=self.core.wording.when,
        )

    async def case(self, request: web.Request) -> web.Response:
        case_id = int(request.match_info["case_id"])
        lang = self.core.config.default_language
        async with self.core.sessionmaker() as session:
            case = await session.get(Case, case_id)
            if case is None:
                raise web.HTTPNotFound(text="no such case")
            spec = await self.core.registry.spec(session, case.definition_id)
            tasks = list(
                (await session.execute(select(Task).where(Task.case_id == case_id).order_by(Task.id))).scalars()
            )
            audit = list(
                (
                    await session.execute(
                        select(AuditEntry).where(AuditEntry.case_id == case_id).order_by(AuditEntry.id)
                    )
                ).scalars()
            )
            people = {u.id: u.name for u in (await session.execute(select(User))).scalars()}
        renderer = self.core.wording
        fields = renderer.summary(spec, list(spec.fields), case.data, lang)
        task_rows = [
            {
                "task": t,
                "stage": renderer.stage_title(spec, t.stage, lang),
                "title": _task_title(self.core, spec, t, lang),
            }
            for t in tasks
        ]
        return _render(
            "case.html",
            case=case,
            spec_title=self.core.translator.local(spec.title, lang),
            stage=renderer.stage_title(spec, case.stage, lang),
            fields=fields,
            tasks=task_rows,
            audit=audit,
            people=people,
            when=renderer.when,
        )

    async def people(self, request: web.Request) -> web.Response:
        async with self.core.sessionmaker() as session:
            users = list((await session.execute(select(User).order_by(User.id))).scalars())
            roles: dict[int, list[str]] = {}
            for user_id, role in (await session.execute(select(UserRole.user_id, UserRole.role))).all():
                roles.setdefault(user_id, []).append(role)
        return _render("people.html", users=users, roles=roles)

    async def processes(self, request: web.Request) -> web.Response:
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
        lang = self.core.config.default_language
        items = [
            {
                "key": key,
                "title": self.core.translator.local(loaded.spec.title, lang),
                "version": versions.get(key),
                "active": counts[(key, CaseStatus.ACTIVE)],
                "done": counts[(key, CaseStatus.DONE)],
                "path": loaded.path,
            }
            for key, loaded in sorted(self.core.registry.library.items())
        ]
        return _render("processes.html", items=items)

    async def outbox(self, request: web.Request) -> web.Response:
        async with self.core.sessionmaker() as session:
            by_status = dict((await session.execute(select(Outbox.status, func.count()).group_by(Outbox.status))).all())
            problems = list(
                (
                    await session.execute(
                        select(Outbox)
                        .where(Outbox.status.in_((OutboxStatus.FAILED, OutboxStatus.UNCERTAIN)))
                        .order_by(Outbox.id.desc())
                        .limit(PAGE)
                    )
                ).scalars()
            )
        return _render("outbox.html", by_status=by_status, problems=problems, when=self.core.wording.when)


def _task_title(core: Core, spec: Any, task: Task, lang: str) -> str:
    from flows.runtime import task_def

    try:
        return core.translator.local(task_def(spec, task.stage, task.key).title, lang)
    except KeyError:
        return task.key
