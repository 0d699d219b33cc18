"""What every part of the sandbox shares: the state, the counters, the bot's identity and the "something changed"
signal that long polls (getUpdates, the user API's `wait`) and webhook delivery sleep on."""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
from collections.abc import Callable

from .state import JsonDict, SandboxState
from .stats import SandboxStats

TOKEN_RE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{1,100}$")


class Hub:
    BOT_FIRST_NAME = "Konveyer"
    BOT_USERNAME = "konveyer_bot"

    def __init__(self, state: SandboxState, *, token: str | None, callback_timeout: float) -> None:
        self.state = state
        self.stats = SandboxStats()
        self.token = token
        self.callback_timeout = callback_timeout
        self.default_bot_token = token or "1:sandbox"
        """The token of the last authorised call: the bot identity for webhook replies and the user API."""
        self.closing = False
        self.poll_generation = 0
        self.callback_waiters: dict[str, asyncio.Future[JsonDict]] = {}
        self.open_callbacks: set[str] = set()
        self.inline_waiters: dict[str, asyncio.Future[JsonDict]] = {}
        self.kick_webhook: Callable[[], None] = lambda: None
        """Set by the server: starts webhook delivery when setWebhook gives a URL."""
        self._changed = asyncio.Condition()

    # ------------------------------------------------------------ bot identity
    def bot_user(self, token: str) -> JsonDict:
        return {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": self.BOT_FIRST_NAME,
            "username": self.BOT_USERNAME,
        }

    def token_ok(self, token: str) -> bool:
        if self.token is not None:
            return secrets.compare_digest(token, self.token)
        return bool(TOKEN_RE.match(token))

    # ------------------------------------------------------------ change signal
    async def notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_change(self, seconds: float) -> None:
        """Wait for the next notification (or timeout)."""
        if seconds <= 0:
            return
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), seconds)

    def push_update(self, kind: str, payload: JsonDict) -> None:
        self.state.push_update(kind, payload)
        self.stats.updates_created += 1

    def release_waiters(self) -> None:
        """On stop: whoever waits for a callback or inline answer gets "not answered" now."""
        for fut in self.callback_waiters.values():
            if not fut.done():
                fut.set_result({"text": None, "show_alert": False, "answered": False})
        for fut in self.inline_waiters.values():
            if not fut.done():
                fut.set_result({"results": None, "answered": False})
