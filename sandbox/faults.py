"""Faults on demand, for testing how the bot copes with a Telegram that misbehaves (user API):

- ``POST /sandbox/api/faults`` {kind, method?, count?, duration?, status?, retry_after?, seconds?} switches a fault
  on, for the Bot API `method` (any spelling; omitted: every method) and for the next `count` matching calls or
  for `duration` seconds (neither: until cleared). Kinds:
  ``error`` — HTTP `status` (default 500) with Telegram's error body; nothing is done;
  ``retry_after`` — 429 «Too Many Requests: retry after N» with ``parameters.retry_after`` N (default 5);
  ``hang`` — the call waits `seconds` (default 30) before it is carried out, as a slow Telegram does;
  ``drop`` — the connection is closed without an answer and nothing is done;
  ``drop_after`` — the call is carried out, then the connection is closed without an answer (the bot cannot know);
  ``duplicate`` — update delivery (getUpdates and the webhook) gives each of the next updates twice.
  Answers the fault with its ``id``.
- ``GET /sandbox/api/faults`` lists the active faults; ``DELETE /sandbox/api/faults`` clears them all.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import asdict, dataclass
from typing import Any

from aiohttp import web

from .errors import UserApiError

KINDS = {"error", "retry_after", "hang", "drop", "drop_after", "duplicate"}
HTTP_REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


@dataclass
class Fault:
    id: int
    kind: str
    method: str | None = None
    """Lower-case method name; None = every method."""
    count: int | None = None
    """Matching calls left; None = unlimited (until `until` or cleared)."""
    until: float | None = None
    """time.monotonic() after which the fault is off."""
    status: int = 500
    retry_after: int = 5
    seconds: float = 30.0

    def as_api(self) -> dict[str, Any]:
        data = asdict(self)
        data["expires_in"] = None if self.until is None else max(0.0, round(self.until - time.monotonic(), 3))
        del data["until"]
        return data


class Faults:
    def __init__(self) -> None:
        self.active: list[Fault] = []
        self._ids = itertools.count(1)

    def add(self, data: dict[str, Any]) -> Fault:
        kind = data.get("kind")
        if kind not in KINDS:
            raise UserApiError(400, f"kind must be one of {sorted(KINDS)}")
        method = data.get("method")
        if method is not None and (not isinstance(method, str) or not method):
            raise UserApiError(400, "method must be a Bot API method name")
        count, duration = data.get("count"), data.get("duration")
        if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
            raise UserApiError(400, "count must be a positive integer")
        if duration is not None and (not isinstance(duration, int | float) or duration <= 0):
            raise UserApiError(400, "duration must be a positive number of seconds")
        fault = Fault(
            id=next(self._ids),
            kind=kind,
            method=method.lower() if method and kind != "duplicate" else None,  # duplicates are about delivery
            count=count,
            until=time.monotonic() + duration if duration is not None else None,
        )
        status = data.get("status", 500)
        if not isinstance(status, int) or not 500 <= status <= 599:
            raise UserApiError(400, "status must be an HTTP 5xx code")
        fault.status = status
        retry_after = data.get("retry_after", 5)
        if not isinstance(retry_after, int) or retry_after < 1:
            raise UserApiError(400, "retry_after must be a positive integer")
        fault.retry_after = retry_after
        seconds = data.get("seconds", 30.0)
        if not isinstance(seconds, int | float) or seconds < 0:
            raise UserApiError(400, "seconds must be a non-negative number")
        fault.seconds = float(seconds)
        self.active.append(fault)
        return fault

    def _live(self) -> list[Fault]:
        now = time.monotonic()
        self.active = [
            f for f in self.active if (f.count is None or f.count > 0) and (f.until is None or now < f.until)
        ]
        return self.active

    def take(self, method: str, kinds: set[str]) -> Fault | None:
        """The first live fault of one of `kinds` for `method`, counting this call against it."""
        for fault in self._live():
            if fault.kind in kinds and fault.method in (None, method.lower()):
                if fault.count is not None:
                    fault.count -= 1
                return fault
        return None

    def duplicate_next(self) -> bool:
        """True when the update being delivered now should be delivered twice."""
        return self.take("", {"duplicate"}) is not None

    # ------------------------------------------------------------ user API
    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/sandbox/api/faults", self.api_add)
        app.router.add_get("/sandbox/api/faults", self.api_list)
        app.router.add_delete("/sandbox/api/faults", self.api_clear)

    async def api_add(self, request: web.Request) -> web.Response:
        try:
            data = await request.json()
            if not isinstance(data, dict):
                raise UserApiError(400, "JSON body must be an object")
            fault = self.add(data)
        except ValueError:
            return web.json_response({"error": "malformed JSON body"}, status=400)
        except UserApiError as exc:
            return web.json_response({"error": exc.error}, status=exc.status)
        return web.json_response(fault.as_api())

    async def api_list(self, request: web.Request) -> web.Response:
        return web.json_response([f.as_api() for f in self._live()])

    async def api_clear(self, request: web.Request) -> web.Response:
        cleared = len(self._live())
        self.active.clear()
        return web.json_response({"cleared": cleared})
