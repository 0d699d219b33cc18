"""The Bot API side of the sandbox: ``/bot<token>/<method>``.

One module per group of methods (`updates`, `messages`, `media`, `queries`, `chat`), each exporting ``METHODS``
(lower-case name -> handler); `BotApi` checks the token and the flood limits and dispatches.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ..errors import ApiError
from ..hub import Hub
from ..limits import FloodControl
from ..params import Params, read_params
from ..state import JsonDict
from . import chat, media, messages, queries, updates

logger = logging.getLogger("sandbox.server")

MethodHandler = Callable[[Hub, JsonDict, Params], Awaitable[Any]]

METHODS: dict[str, MethodHandler] = {
    **updates.METHODS,
    **messages.METHODS,
    **media.METHODS,
    **queries.METHODS,
    **chat.METHODS,
}


class BotApi:
    def __init__(self, hub: Hub, flood: FloodControl | None) -> None:
        self.hub = hub
        self.flood = flood
        """None when limits are off."""

    async def handle(self, request: web.Request) -> web.Response:
        """``/bot<token>/<method>``: every Bot API call of the bot comes through here."""
        hub = self.hub
        token = request.match_info["token"]
        method = request.match_info["method"]
        hub.stats.requests[method] += 1
        try:
            if not hub.token_ok(token):
                raise ApiError(401, "Unauthorized")
            if method.lower() not in METHODS:
                raise ApiError(404, "Not Found")
            params = await read_params(request)
            hub.default_bot_token = token
            result = await self.call(token, method, params)
        except ApiError as exc:
            hub.stats.errors[exc.code] += 1
            if exc.code == 429:
                hub.stats.rate_limited += 1
            if exc.code != 409:
                logger.debug("Bot API %s -> %s %s", method, exc.code, exc.description)
            return web.json_response(exc.payload(), status=exc.code)
        return web.json_response({"ok": True, "result": result})

    async def call(self, token: str, method: str, params: Params) -> Any:
        """Runs one method (also used for a method returned in a webhook's response body)."""
        handler = METHODS.get(method.lower())
        if handler is None:
            raise ApiError(404, "Not Found")
        if self.flood is not None:
            self.flood.check(method.lower(), params)
        return await handler(self.hub, self.hub.bot_user(token), params)
