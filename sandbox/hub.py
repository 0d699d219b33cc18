"""What every part of the sandbox shares: the state, the counters, the bot's identity and the "something changed"
signal that long polls (getUpdates, the user API's `wait`) and webhook delivery sleep on."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Callable, Iterable

from .faults import Faults
from .limits import FloodControl
from .state import JsonDict, SandboxState
from .stats import SandboxStats

TOKEN_RE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{1,100}$")
DEFAULT_TOKEN = "123456:SANDBOX-konveyer-demo-token"
"""The token the sandbox accepts unless told otherwise; the bot uses the same one when it has no BOT_TOKEN
(`app.settings.SANDBOX_TOKEN`; a test checks they agree), so the demo, tests and bench need no setup."""

UPDATE_TYPES = {
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_connection",
    "business_message",
    "edited_business_message",
    "deleted_business_messages",
    "message_reaction",
    "message_reaction_count",
    "inline_query",
    "chosen_inline_result",
    "callback_query",
    "shipping_query",
    "pre_checkout_query",
    "purchased_paid_media",
    "poll",
    "poll_answer",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "chat_boost",
    "removed_chat_boost",
}
NOT_BY_DEFAULT = {"chat_member", "message_reaction", "message_reaction_count"}
"""Bot API, getUpdates: an empty list (or none ever given) means every type except these, which must be asked for."""


def update_allowed(kind: str, allowed: list[str] | None) -> bool:
    if not allowed:
        return kind not in NOT_BY_DEFAULT
    return kind in allowed


class Hub:
    BOT_FIRST_NAME = "Konveyer"
    BOT_USERNAME = "konveyer_bot"

    def __init__(
        self,
        state: SandboxState,
        *,
        token: str,
        any_token: bool,
        callback_timeout: float,
        callback_answer_ttl: float = 15.0,
        group_privacy: bool = True,
    ) -> None:
        self.state = state
        self.group_privacy = group_privacy
        """The bot's privacy mode (BotFather's /setprivacy, on by default): in groups it gets only what is meant
        for it (`sandbox.groups`)."""
        self.stats = SandboxStats()
        self.token = token
        self.any_token = any_token
        self.callback_timeout = callback_timeout
        self.default_bot_token = token
        """The token of the last authorised call: the bot identity for webhook replies and the user API."""
        self.closing = False
        self.poll_generation = 0
        self.callback_waiters: dict[str, asyncio.Future[JsonDict]] = {}
        self.open_callbacks: dict[str, float] = {}
        """Callback queries the bot may still answer: id -> monotonic time the person pressed the button."""
        self.callback_answer_ttl = callback_answer_ttl
        self.inline_waiters: dict[str, asyncio.Future[JsonDict]] = {}
        self.inline_asked: dict[str, JsonDict] = {}
        """Inline queries sent and not yet answered: id -> {user_id, query} (`sandbox.inline`)."""
        self.inline_answers: dict[str, JsonDict] = {}
        """Answered inline queries a person may pick a result of: id -> {user_id, query, results}."""
        self.inline_feedback = False
        """BotFather's /setinlinefeedback: off by default, as for a new bot (no chosen_inline_result updates)."""
        self.flood: FloodControl | None = None
        """Telegram's flood limits (None: off); spent by every new or edited message (`spend`)."""
        self.pinned: dict[int, int] = {}
        """Pinned message per chat (pinChatMessage)."""
        self.menu_buttons: dict[int, JsonDict] = {}
        """setChatMenuButton per chat; 0 is the bot's default."""
        self.faults = Faults()
        """Faults switched on through the user API (`sandbox.faults`)."""
        self.kick_webhook: Callable[[], None] = lambda: None
        """Set by the server: starts webhook delivery when setWebhook gives a URL."""
        self._anything: set[asyncio.Future[None]] = set()
        """Waiters that watch no chat (getUpdates' long poll, webhook delivery): every notify wakes them."""
        self._by_chat: dict[int, set[asyncio.Future[None]]] = {}
        """Waiters that watch one chat (the user API's `wait`): woken by a notify naming it or naming none."""

    # ------------------------------------------------------------ bot identity
    def bot_user(self, token: str) -> JsonDict:
        return {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": self.BOT_FIRST_NAME,
            "username": self.BOT_USERNAME,
        }

    def token_ok(self, token: str) -> bool:
        """Telegram answers 401 «Unauthorized» to any token but the bot's own; `any_token` is the explicit
        leniency for tools that run several bots against one sandbox (any well-formed token is then a bot)."""
        if self.any_token:
            return bool(TOKEN_RE.match(token))
        return secrets.compare_digest(token.encode(), self.token.encode())

    # ------------------------------------------------------------ change signal
    async def notify(self, *chat_ids: int) -> None:
        """Something changed. Naming the chats whose messages it changed (sent, edited, deleted) wakes the waiters
        of those chats and those that watch no chat; naming none means anything may have changed, and wakes every
        waiter. An update that changes no chat's messages (a button press, an inline query, a block, a change of
        membership with no service message) is `notify_updates`."""
        if not chat_ids:
            by_chat, self._by_chat = self._by_chat, {}
            for waiters in by_chat.values():
                _wake(waiters)
        else:
            for chat_id in chat_ids:
                _wake(self._by_chat.pop(chat_id, ()))
        self.notify_updates()

    def notify_updates(self) -> None:
        """Only the bot's side changed (the update queue, the webhook, which getUpdates call is current): wakes
        the waiters that watch no chat; a chat's reader depends on none of that."""
        if self._anything:
            anything, self._anything = self._anything, set()
            _wake(anything)

    async def wait_change(self, seconds: float, chat_id: int | None = None, seen: int | None = None) -> None:
        """Wait for the next notification that concerns `chat_id` (None: any notification), or `seconds`.

        `seen`: the chat's version the caller's last look saw; when the chat has changed since, returns at once
        (no wakeup is lost between a look and the wait). One future per waiter and a timer, no task."""
        if seconds <= 0:
            return
        if chat_id is not None and seen is not None:
            chat = self.state.chats.get(chat_id)
            if chat is not None and chat.version != seen:
                return
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        if chat_id is None:
            waiters = self._anything
        else:
            waiters = self._by_chat.setdefault(chat_id, set())
            self.stats.chat_waits[chat_id] += 1
        waiters.add(fut)
        timer = loop.call_later(seconds, _wake, (fut,))
        try:
            await fut
        finally:
            timer.cancel()
            waiters.discard(fut)  # a notify took the whole set away already; a timeout or a cancel leaves it there
            if chat_id is not None and not waiters and self._by_chat.get(chat_id) is waiters:
                del self._by_chat[chat_id]

    def sleeping(self, chat_id: int | None = None) -> int:
        """How many waiters sleep now on `chat_id` (None: those that watch no chat); for tests."""
        waiters = self._anything if chat_id is None else self._by_chat.get(chat_id, ())
        return sum(1 for fut in waiters if not fut.done())

    def spend(self, chat_id: int, messages: int = 1) -> None:
        if self.flood is not None:
            self.flood.spend(chat_id, messages)

    def push_update(self, kind: str, payload: JsonDict) -> bool:
        """Queues an update unless the bot's `allowed_updates` excludes its type; True when queued."""
        if not update_allowed(kind, self.state.webhook.allowed_updates):
            return False
        self.state.push_update(kind, payload)
        self.stats.updates_created += 1
        return True

    def release_waiters(self) -> None:
        """On stop: whoever waits for a callback or inline answer gets "not answered" now."""
        for fut in self.callback_waiters.values():
            if not fut.done():
                fut.set_result({"text": None, "show_alert": False, "answered": False})
        for fut in self.inline_waiters.values():
            if not fut.done():
                fut.set_result({"results": None, "answered": False})


def _wake(waiters: Iterable[asyncio.Future[None]]) -> None:
    for fut in waiters:
        if not fut.done():
            fut.set_result(None)
