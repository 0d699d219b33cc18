"""A local stand-in for the Telegram Bot API, plus a user-side JSON API and a web chat page.

The bot talks to it unchanged (``TelegramAPIServer.from_base(server.base_url)``); people and tools play the
users through ``/sandbox/api/...`` (see `sandbox.user_api`) or the page at ``/``.

This module assembles the parts and owns start/stop:

- `sandbox.botapi` — ``/bot<token>/<method>``: token check, flood limits (`sandbox.limits`), the methods;
- `sandbox.webhook` — delivery of updates to a webhook URL;
- `sandbox.files` — stored files and the download routes;
- `sandbox.user_api` — the people's side (`sandbox.people`: block, edit, forward; `sandbox.groups`: group chats);
  `sandbox.web` — the page;
- `sandbox.hub` — what they share (state, counters, the change signal).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

from aiohttp import web

from .botapi import BotApi
from .errors import ApiError, UserApiError, bad_request
from .files import FileRoutes
from .groups import Groups
from .hub import DEFAULT_TOKEN, Hub
from .inline import InlineResults
from .limits import FloodControl, TokenBucket
from .params import Params, Upload
from .people import People
from .state import JsonDict, SandboxState
from .stats import SandboxStats
from .user_api import UserApi
from .web import add_routes as add_web_routes
from .webhook import WebhookDelivery

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_TOKEN",
    "ApiError",
    "Params",
    "SandboxServer",
    "SandboxStats",
    "TokenBucket",
    "Upload",
    "UserApiError",
    "bad_request",
]


class SandboxServer:
    """Fake Telegram Bot API server with a user-side API and a web chat page."""

    BOT_FIRST_NAME = Hub.BOT_FIRST_NAME
    BOT_USERNAME = Hub.BOT_USERNAME

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        any_token: bool = False,
        state_path: str | Path | None = None,
        enforce_limits: bool = True,
        global_rate: float = 30.0,
        per_chat_rate: float = 1.0,
        per_chat_burst: float = 3.0,
        group_per_minute: float = 20.0,
        save_interval: float = 0.5,
        callback_timeout: float = 10.0,
        callback_answer_ttl: float = 15.0,
        group_privacy: bool = True,
    ) -> None:
        """As Telegram by default: only `token` is accepted (``any_token=True`` accepts any well-formed token,
        for tools running several bots) and flood limits apply (``enforce_limits=False`` turns them off)."""
        self.token = token
        self.any_token = any_token
        self.enforce_limits = enforce_limits
        self.global_rate = global_rate
        self.per_chat_rate = per_chat_rate
        self.per_chat_burst = per_chat_burst
        self.save_interval = save_interval
        self.callback_timeout = callback_timeout
        self.state = SandboxState(state_path)
        self.state.load()
        self.hub = Hub(
            self.state,
            token=token,
            any_token=any_token,
            callback_timeout=callback_timeout,
            callback_answer_ttl=callback_answer_ttl,
            group_privacy=group_privacy,
        )
        self.stats: SandboxStats = self.hub.stats
        self.base_url = ""
        if enforce_limits:
            self.hub.flood = FloodControl(global_rate, per_chat_rate, per_chat_burst, group_per_minute)
        self.bot_api = BotApi(self.hub)
        self.webhook = WebhookDelivery(self.hub, self.bot_api)
        self.hub.kick_webhook = self.webhook.ensure_running
        self.files = FileRoutes(self.hub)
        self.user_api = UserApi(self.hub)
        self.people = People(self.hub, self.user_api)
        self.inline = InlineResults(self.hub, self.user_api)
        self.groups = Groups(self.hub, self.user_api)
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.app = self.make_app()

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", r"/bot{token}/{method:[A-Za-z0-9_]*}", self.bot_api.handle)
        app.router.add_get(r"/file/bot{token}/{path:.+}", self.files.bot_download)
        self.user_api.add_routes(app)
        self.people.add_routes(app)
        self.inline.add_routes(app)
        self.groups.add_routes(app)
        self.hub.faults.add_routes(app)
        app.router.add_get("/sandbox/api/files/{file_id}", self.files.user_download)
        add_web_routes(app)
        return app

    # ================================================================ lifecycle
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self.hub.closing = False
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        real_port = port
        server = site._server  # aiohttp keeps the bound sockets here
        sockets = getattr(server, "sockets", None)
        if sockets:
            real_port = sockets[0].getsockname()[1]
        shown_host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
        self.base_url = f"http://{shown_host}:{real_port}"
        if self.state.path is not None:
            self._tasks.append(asyncio.create_task(self._persist_loop()))
        if self.state.webhook.url:
            self.webhook.ensure_running()
        logger.info("Sandbox Telegram server on %s", self.base_url)
        return self.base_url

    async def stop(self) -> None:
        self.hub.closing = True
        await self.hub.notify()
        self.hub.release_waiters()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        await self.webhook.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.state.path is not None:
            text = self.state.dump()
            await asyncio.to_thread(self.state.write, text)
            self.state.dirty = False

    async def __aenter__(self) -> SandboxServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _persist_loop(self) -> None:
        while not self.hub.closing:
            await asyncio.sleep(self.save_interval)
            if self.state.dirty:
                text = self.state.dump()
                self.state.dirty = False
                try:
                    await asyncio.to_thread(self.state.write, text)
                except OSError:
                    logger.exception("Cannot save sandbox state to %s", self.state.path)

    # ================================================================ for tools and tests
    def bot_user(self, token: str) -> JsonDict:
        return self.hub.bot_user(token)

    async def call_method(self, token: str, method: str, params: Params) -> Any:
        """Runs a Bot API method as if the bot with `token` had called it (limits apply)."""
        return await self.bot_api.call(token, method, params)
