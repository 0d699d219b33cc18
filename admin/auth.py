"""Who may use the panel: a login with the admin token starts a server-side session (aiohttp-session with
a storage in the database, so every worker sees it), wrong tokens are throttled per client address, and
every POST carries the session's CSRF token.

Why the database and not aiohttp-session's EncryptedCookieStorage: a cookie that holds the whole session
cannot be revoked — logout would only ask the browser to forget it, and a copied cookie would stay valid
until its expiry; a server-side row is deleted on logout and dies after its idle time on every worker. The
throttle must be shared by the workers too, so the database is needed anyway.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp_session import AbstractStorage, Session, get_session, new_session, session_middleware
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin.forms import unsaved
from flows.i18n import _
from services import panel_sessions as store
from services.panel_sessions import SessionPolicy

log = logging.getLogger(__name__)

COOKIE = "konveyer_panel"
OLD_COOKIE = "konveyer_admin"  # the token itself was kept here before sessions: cleared wherever seen
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
PUBLIC = {"panel-login", "panel-login-post"}  # the routes that need no session

# Tokens the session accepted before the latest login, with the moment each stops being accepted (epoch seconds).
CSRF_BEFORE = "csrf_before"
KEPT_TOKENS = 3  # a few logins in a row within the grace; more would keep a token seen long ago alive

# The session's CSRF token, for the page templates (set by the middleware once the session is checked).
CSRF_KEY = web.RequestKey("panel_csrf", str)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class AuthConfig:
    token: str
    policy: SessionPolicy
    # Behind a reverse proxy that terminates TLS: trust its X-Forwarded-Proto (for the Secure flag) and the
    # last X-Forwarded-For entry (the address the proxy saw, for the throttle). Off by default, because a
    # client talking to us directly could write those headers itself and dodge the throttle.
    behind_proxy: bool = False
    now: Callable[[], datetime] = wall_clock


def is_https(request: web.Request, config: AuthConfig) -> bool:
    if config.behind_proxy:
        proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
        if proto:
            return proto == "https"
    return request.secure


def client_address(request: web.Request, config: AuthConfig) -> str:
    if config.behind_proxy:
        forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
        if forwarded:
            return forwarded[-1][:64]
    return (request.remote or "unknown")[:64]


class DatabaseStorage(AbstractStorage):
    """aiohttp-session storage: the cookie holds a random id, the data lives in `panel_sessions`."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], config: AuthConfig) -> None:
        # No max_age: the cookie lasts while the browser runs; the server ends it after idle time or lifetime.
        super().__init__(cookie_name=COOKIE, path="/admin", httponly=True, samesite="Strict")
        self.sessionmaker = sessionmaker
        self.config = config

    async def load_session(self, request: web.Request) -> Session:
        cookie = self.load_cookie(request)
        if not cookie or len(cookie) > 100:
            return Session(None, data=None, new=True)
        async with self.sessionmaker.begin() as session:
            row = await store.load(session, cookie, self.config.now(), self.config.policy)
            if row is None:
                return Session(None, data=None, new=True)
            return Session(cookie, data={"created": int(row.created_at.timestamp()), "session": row.data}, new=False)

    async def save_session(self, request: web.Request, response: web.StreamResponse, session: Session) -> None:
        data = dict(session)
        async with self.sessionmaker.begin() as db:
            if session.identity is not None and (session.empty or session.new):
                await store.drop(db, str(session.identity))
            if session.empty:
                response.del_cookie(COOKIE, path="/admin")
                return
            if session.identity is None or session.new:
                session_id, _row = await store.create(db, data, self.config.now(), self.config.policy)
            else:
                session_id = str(session.identity)
                await store.save(db, session_id, data)
        response.set_cookie(
            COOKIE,
            session_id,
            path="/admin",
            httponly=True,
            samesite="Strict",  # never sent with a request another site starts: the first line against CSRF
            secure=is_https(request, self.config),
        )


class Auth:
    """The middlewares and the login/logout pages. `render(request, name, status, **context)` draws a page."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        config: AuthConfig,
        render: Callable[..., web.Response],
    ) -> None:
        self.sessionmaker = sessionmaker
        self.config = config
        self.render = render
        self.storage = DatabaseStorage(sessionmaker, config)

    def middlewares(self) -> list[Any]:
        return [self._headers, session_middleware(self.storage), self._require]

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/login", self.login_page, name="panel-login"),
            web.post("/login", self.login, name="panel-login-post"),
            web.post("/logout", self.logout, name="logout"),
        ]

    # --- middlewares ---------------------------------------------------------------------------------------

    @web.middleware
    async def _headers(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = exc
        # Pages hold people's data and a CSRF token: not cached, not framed, no URL leaked to other sites.
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Content-Type-Options"] = "nosniff"
        if OLD_COOKIE in request.cookies:
            response.del_cookie(OLD_COOKIE)
        if isinstance(response, web.HTTPException):
            raise response
        return response

    @web.middleware
    async def _require(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if "token" in request.query:
            return await self._login_from_url(request)
        session = await get_session(request)
        if request.match_info.route.name in PUBLIC:
            return await handler(request)
        if not session.get("admin"):
            if request.method == "POST":
                return self.render(request, "login.html", 401, error=_("Log in again: your session has ended."))
            return self.render(request, "login.html", 401, next=_inside(request.rel_url.path_qs))
        request[CSRF_KEY] = str(session["csrf"])  # before the check: a refused form's page still has the header
        if request.method not in ("GET", "HEAD", "OPTIONS") and not await self._csrf_accepted(request, session):
            return self._stale_form(request)
        return await handler(request)

    async def _csrf_accepted(self, request: web.Request, session: Session) -> bool:
        """The session's token, or one it had before the latest login while that login is younger than the grace."""
        given = request.headers.get(CSRF_HEADER, "")
        if not given and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            given = str((await request.post()).get(CSRF_FIELD, ""))
        expected = str(session.get("csrf", ""))
        if expected and _same(given, expected):
            return True
        now = self.config.now().timestamp()
        for token, until in session.get(CSRF_BEFORE, []):
            if _same(given, str(token)):
                if now < float(until):
                    return True
                log.warning("panel: a POST to %s with a token of before a re-login, past its grace", request.path)
                return False
        log.warning("panel: a POST to %s with a wrong CSRF token was refused", request.path)
        return False

    def _stale_form(self, request: web.Request) -> web.Response:
        """A form refused for its token: said in words, with what it would have done, so the admin knows what to
        send again (a reload of the page gives its forms the session's token)."""
        message, params = unsaved(request)
        return self.render(request, "stale_form.html", 403, not_saved=message, not_saved_params=params)

    # --- login and logout ----------------------------------------------------------------------------------

    async def _login_from_url(self, request: web.Request) -> web.StreamResponse:
        """`?token=…` once (the link `konveyer demo` prints): log in, then the same page without the token, so
        it stays out of the history, of later Referer headers and of any proxy's log of later requests."""
        query = {k: v for k, v in request.query.items() if k != "token"}
        target = _inside(str(request.rel_url.with_query(query)))
        return await self._try(request, request.query.get("token", ""), target)

    async def login_page(self, request: web.Request) -> web.Response:
        session = await get_session(request)
        if session.get("admin"):
            raise web.HTTPSeeOther("/admin/")
        return self.render(request, "login.html", 200, next=_inside(request.query.get("next", "/admin/")))

    async def login(self, request: web.Request) -> web.StreamResponse:
        # No CSRF token here: there is no session yet to hold one, and a forged login would need the admin
        # token, which the forger would then simply use. SameSite=Strict guards everything after login.
        form = await request.post()
        return await self._try(request, str(form.get("token", "")), _inside(str(form.get("next", "/admin/"))))

    async def _try(self, request: web.Request, token: str, target: str) -> web.StreamResponse:
        address = client_address(request, self.config)
        now = self.config.now()
        async with self.sessionmaker.begin() as db:
            wait = await store.waiting(db, address, now)
        if wait is not None:
            return self._throttled(request, wait)
        if not hmac.compare_digest(token.encode(), self.config.token.encode()):
            async with self.sessionmaker.begin() as db:
                wait = await store.failed(db, address, now, self.config.policy)
            log.warning("panel: wrong admin token from %s", address)  # the token itself is never logged
            if wait is not None:
                return self._throttled(request, wait)
            return self.render(request, "login.html", 401, error=_("Wrong token."), next=target)
        async with self.sessionmaker.begin() as db:
            await store.succeeded(db, address)
        # A fresh id at login (never the one the browser came with): a planted cookie cannot become a session.
        old = await get_session(request)
        before = self._tokens_before(old, now)
        if old.identity is not None:
            async with self.sessionmaker.begin() as db:
                await store.drop(db, str(old.identity))
        session = await new_session(request)
        session["admin"] = True
        session["csrf"] = secrets.token_urlsafe(32)  # a new token at every login: a token seen once ages out
        if before:
            session[CSRF_BEFORE] = before
        log.info("panel: admin logged in from %s", address)
        raise web.HTTPSeeOther(target)

    def _tokens_before(self, old: Session, now: datetime) -> list[list[Any]]:
        """The login link opened again in another tab: the pages this browser already has open keep sending their
        forms for a while (a refusal right away would lose what was typed there), so the old session's token, and
        those it still accepted, go on accepted until the grace after this login. Only an admin's live session
        passes them on: one no longer known to the server (`load_session`) is a new, empty one."""
        if old.new or not old.get("admin") or not old.get("csrf"):
            return []
        until = (now + self.config.policy.form_grace).timestamp()
        alive = [[str(t), float(u)] for t, u in old.get(CSRF_BEFORE, []) if float(u) > now.timestamp()]
        return [[str(old["csrf"]), until], *alive][:KEPT_TOKENS]

    def _throttled(self, request: web.Request, wait: timedelta) -> web.Response:
        seconds = max(1, int(wait.total_seconds() + 0.999))
        response = self.render(request, "login.html", 429, throttled=seconds)
        response.headers["Retry-After"] = str(seconds)
        return response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        session = await get_session(request)  # _require has checked the session and the CSRF token
        session.invalidate()  # the storage deletes the row and the cookie
        raise web.HTTPSeeOther("/admin/login")


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _inside(target: str) -> str:
    """A redirect target inside the panel only (an open redirect would turn our login into a phishing aid)."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/admin/") or target.startswith("//"):
        return "/admin/"
    return target
