"""A small web panel for admins: every case with its current step, deadline and holder, its data with the
photos and documents, its history in sentences; people and roles, process versions, and delivery problems.
The same services as the bot (another front end). What it changes goes through them, so it cannot bypass the
engine or the access rules, and each change is audited (`services.panel_actions`): a definition checked, loaded
or rolled back; a version's running cases moved onto another version (`services.migration`); invites (with a
QR code), roles, a person revoked; a failed step retried, a task reassigned, a case cancelled with a reason.

Access: log in with the admin token (ADMIN_TOKEN) on the login page or by opening `/admin/?token=…` once;
a server-side session follows (admin/auth.py). The panel speaks the settings' default language.

Here the application, its pages' rendering and the delivery page; the pages by subject: admin/cases.py,
admin/people.py, admin/organisations.py, admin/processes.py, admin/notifications.py.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web
from sqlalchemy import func, select

from admin.auth import CSRF_KEY, Auth, AuthConfig, Handler, wall_clock
from admin.cases import CasePages
from admin.notifications import NotificationsPage
from admin.organisations import OrganisationPages
from admin.people import PeoplePages
from admin.processes import ProcessPages
from admin.words import Words
from db.models import Outbox
from flows.i18n import _
from flows.runtime import EngineError
from services import panel_queries
from services.core import Core
from services.panel_sessions import SessionPolicy

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
PAGE = 50
Link = tuple[str, str]  # an address in the panel and its words

# What an error page says, by its status (the reason a handler gave, if any, follows it).
ERROR_TEXTS = {
    400: _("The request could not be read. Go back and try again."),
    403: _("This is not allowed."),
    404: _("There is no such page here: the address is wrong or what it named is gone."),
    405: _("This address does not open as a page: it takes a form's button."),
    413: _("The file is too large to be sent here."),
    500: _("Something went wrong on the server: the error is written to the panel's log. Open the page again; if it "
           "happens again, tell whoever runs the bot."),
}  # fmt: skip

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
        headers, *session = self.auth.middlewares()
        # Inside the headers' middleware (an error page gets them too), outside the session's (it knows the admin).
        app = web.Application(middlewares=[headers, self._error_pages, *session])
        app.add_routes(
            [
                *self.auth.routes(),
                *CasePages(self).routes(),
                *PeoplePages(self).routes(),
                *OrganisationPages(self).routes(),
                *ProcessPages(self).routes(),
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
            when=lambda moment: self.core.wording.when(moment, self.lang),
            **context,
        )
        return web.Response(text=text, status=code, content_type="text/html")

    @web.middleware
    async def _error_pages(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """A page that is not there, a refused or malformed request, a failure of ours: the panel's own page in the
        admin's language, with its header and the way back, never aiohttp's English plain text."""
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise  # redirects pass through
            if exc.status >= 500:
                log.error("panel: %s %s answered %s: %s", request.method, request.path, exc.status, exc.text)
                return self._failed(request, exc.status)
            said = self.t(ERROR_TEXTS.get(exc.status, ERROR_TEXTS[400]))
            # A handler's own reason is a msgid («There is no such case.»), so the Russian catalog knows it; aiohttp's
            # texts («404: Not Found», «Maximum request body size…») are English and not there: left out.
            ours = exc.text and self.core.translator.t(exc.text, "ru") != exc.text
            reason = self.t(exc.text) if exc.text and ours else None
            page = self.render(request, "error.html", exc.status, heading=said, reason=reason, status=exc.status)
            if "Allow" in exc.headers:  # a 405 still says what the address takes
                page.headers["Allow"] = exc.headers["Allow"]
            return page
        except Exception:
            # The traceback goes to the log only: it names our code and may hold people's data.
            log.exception("panel: %s %s failed", request.method, request.path)
            return self._failed(request, 500)

    def _failed(self, request: web.Request, status: int) -> web.Response:
        return self.render(request, "error.html", status, heading=self.t(ERROR_TEXTS[500]), status=status)

    def refused(
        self, request: web.Request, error: EngineError, back: str, code: int = 409, links: Sequence[Link] = ()
    ) -> web.Response:
        """A change the rules refused, said in words, with the way back (and the panel's pages that help)."""
        return self.render(request, "refused.html", code, text=self.said(error), back=back, links=links)

    def said(self, error: EngineError) -> str:
        """Why a change was refused, in the admin's language (the panel's own words where the chat's name a
        command)."""
        named = getattr(error, "roles", ())  # a `Refused` naming roles: by their labels, never their keys
        params = {"roles": ", ".join(self.words.role(r) for r in named), **error.params} if named else error.params
        message = getattr(error, "in_panel", None) or error.message
        return self.core.translator.t(message, self.lang, **params)

    def t(self, message: str, **params: Any) -> str:
        return self.core.translator.t(message, self.lang, **params)

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
