"""The Bot API side of the sandbox: ``/bot<token>/<method>``.

One module per group of methods (`updates`, `messages`, `media`, `queries`, `chat`), each exporting ``METHODS``
(lower-case name -> handler); `BotApi` checks the token, applies faults and dispatches
(flood limits are spent where a message is stored: `common.bot_message`, `messages.apply_edit`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ..errors import ApiError
from ..faults import HTTP_REASONS
from ..hub import Hub
from ..params import Params, read_params
from ..state import JsonDict
from . import chat, forwarding, media, messages, more_media, queries, updates
from .known import TELEGRAM_METHODS

logger = logging.getLogger("sandbox.server")

MethodHandler = Callable[[Hub, JsonDict, Params], Awaitable[Any]]

METHODS: dict[str, MethodHandler] = {
    **updates.METHODS,
    **messages.METHODS,
    **media.METHODS,
    **more_media.METHODS,
    **forwarding.METHODS,
    **queries.METHODS,
    **chat.METHODS,
}


def known(method: str) -> MethodHandler:
    """The handler, or 404 «Not Found» for a name Telegram has no method for (what the official server answers),
    or 501 for a real Telegram method the sandbox does not implement (never a 404 that looks like a bad token)."""
    handler = METHODS.get(method.lower())
    if handler is not None:
        return handler
    if method.lower() in TELEGRAM_METHODS:
        raise ApiError(501, f"Not Implemented: method {method} not supported by the sandbox")
    raise ApiError(404, "Not Found")


def drop_connection(request: web.Request) -> web.StreamResponse:
    """Closes the connection with no answer at all, as a network failure would."""
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=499)  # never reaches the client


class BotApi:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """``/bot<token>/<method>``: every Bot API call of the bot comes through here."""
        hub = self.hub
        token = request.match_info["token"]
        method = request.match_info["method"]
        hub.stats.requests[method] += 1
        try:
            if not hub.token_ok(token):
                raise ApiError(401, "Unauthorized")
            known(method)
            fault = hub.faults.take(method, {"error", "retry_after", "hang", "drop", "drop_after"})
            if fault is not None and fault.kind == "error":
                description = HTTP_REASONS.get(fault.status, "Internal Server Error")
                raise ApiError(fault.status, description)
            if fault is not None and fault.kind == "retry_after":
                raise ApiError(429, f"Too Many Requests: retry after {fault.retry_after}", fault.retry_after)
            if fault is not None and fault.kind == "drop":
                return drop_connection(request)
            if fault is not None and fault.kind == "hang":
                await asyncio.sleep(fault.seconds)
            params = await read_params(request)
            hub.default_bot_token = token
            result = await self.call(token, method, params)
            if fault is not None and fault.kind == "drop_after":
                return drop_connection(request)
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
        handler = known(method)
        return await handler(self.hub, self.hub.bot_user(token), params)
