"""Telegram's limits kept by the sender itself: ~30 messages a second in all, ~1 a second in one chat."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple


class Taken(NamedTuple):
    """One message counted by `RateLimiter.take`: its chat's next time before and after."""

    chat_id: int
    before: float | None
    after: float


class RateLimiter:
    """A token bucket for all chats plus one per chat (Telegram: ~30 msg/s in total, ~1 msg/s per chat, short
    bursts tolerated). Per chat it is a GCRA: `chat_burst` messages may go at once, then one per interval, so a
    reply and the next question do not wait a second between them."""

    def __init__(
        self,
        global_rate: float,
        per_chat_rate: float,
        *,
        burst: float = 1.0,
        chat_burst: int = 1,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.global_rate = global_rate
        self.per_chat_interval = 1.0 / per_chat_rate if per_chat_rate > 0 else 0.0
        self.chat_slack = max(0, chat_burst - 1) * self.per_chat_interval
        self.monotonic = monotonic
        self.tokens = burst
        self.burst = burst
        self.updated = monotonic()
        self.chat_ready: dict[int, float] = {}  # per chat: the theoretical time of its next message

    def _refill(self) -> None:
        now = self.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.global_rate)
        self.updated = now

    def chat_wait(self, chat_id: int) -> float:
        return max(0.0, self.chat_ready.get(chat_id, 0.0) - self.chat_slack - self.monotonic())

    def global_wait(self) -> float:
        self._refill()
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.global_rate

    def take(self, chat_id: int) -> Taken:
        """One message to `chat_id` counted; what `give_back` needs to uncount it."""
        self._refill()
        self.tokens -= 1
        now = self.monotonic()
        before = self.chat_ready.get(chat_id)
        after = self.chat_ready[chat_id] = max(before or 0.0, now) + self.per_chat_interval
        return Taken(chat_id, before, after)

    def give_back(self, taken: Taken) -> None:
        """A message `take` counted did not go after all (its row was claimed by another worker first, withdrawn,
        not due, or the claim failed): its token back, and its chat's next time as `take` found it unless it moved
        since. Only a move past `take`'s own is seen: the sender gives back only chats with nothing in flight here,
        whose next time no answer or retry_after can move in between."""
        self._refill()
        self.tokens = min(self.burst, self.tokens + 1)
        if self.chat_ready.get(taken.chat_id) == taken.after:
            if taken.before is None:
                del self.chat_ready[taken.chat_id]
            else:
                self.chat_ready[taken.chat_id] = taken.before

    def answered(self, chat_id: int) -> None:
        """The request reached Telegram somewhere between the claim and the answer: count this message's spacing
        from the answer, so network jitter cannot squeeze two messages closer than the limit allows."""
        now = self.monotonic()
        self.chat_ready[chat_id] = max(self.chat_ready.get(chat_id, 0.0), now + self.per_chat_interval)

    def spent(self, chat_id: int, messages: int) -> None:
        """`messages` more went to this chat in one request (an album counts each of its messages)."""
        if messages > 0:
            self.chat_ready[chat_id] = self.chat_ready.get(chat_id, 0.0) + messages * self.per_chat_interval

    def hold_chat(self, chat_id: int, seconds: float) -> None:
        """Nothing to this chat for `seconds` (Telegram's retry_after), whatever the burst allows."""
        until = self.monotonic() + seconds + self.chat_slack
        self.chat_ready[chat_id] = max(self.chat_ready.get(chat_id, 0.0), until)
