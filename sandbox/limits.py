"""Flood control: token buckets for the whole bot and per chat, answering 429 with `retry_after` as Telegram does.

Telegram (Bots FAQ, «My bot is hitting limits, how do I avoid this?»): in a single chat avoid more than one
message per second ("we may allow short bursts that go over this limit, but eventually you'll begin receiving
429 errors"); in a group no more than 20 messages per minute; in bulk no more than about 30 messages per second.
The exact numbers are not published, so the sandbox uses those rates with a small per-chat burst (default 3),
a group burst of 20 and an overall burst of one second's worth. On by default; a test that needs to send
faster says so with ``SandboxServer(enforce_limits=False)``.
"""

from __future__ import annotations

import math
import time

from .errors import ApiError


class TokenBucket:
    def __init__(self, rate: float, capacity: float) -> None:
        self.rate = max(rate, 1e-6)
        self.capacity = max(capacity, 1.0)
        self.tokens = self.capacity
        self.stamp = time.monotonic()

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def wait_time(self, now: float, tokens: int = 1) -> float:
        """0 when `tokens` are available (without taking them), else seconds until they are."""
        self._refill(now)
        need = min(float(tokens), self.capacity)
        if self.tokens >= need:
            return 0.0
        return (need - self.tokens) / self.rate

    def take(self, tokens: int = 1) -> None:
        self.tokens -= tokens


class FloodControl:
    """One bucket for the bot overall and one per chat; a call is allowed only when both have a token."""

    def __init__(
        self, global_rate: float, per_chat_rate: float, per_chat_burst: float, group_per_minute: float = 20.0
    ) -> None:
        self.per_chat_rate = per_chat_rate
        self.per_chat_burst = per_chat_burst
        self.group_per_minute = group_per_minute
        self._global = TokenBucket(global_rate, max(global_rate, 1.0))
        self._chats: dict[str, TokenBucket] = {}

    def _new_bucket(self, chat_key: str) -> TokenBucket:
        if chat_key.startswith("-"):  # groups, supergroups and channels have negative ids
            return TokenBucket(self.group_per_minute / 60.0, self.group_per_minute)
        return TokenBucket(self.per_chat_rate, self.per_chat_burst)

    def spend(self, chat_id: int | str, messages: int = 1) -> None:
        """Takes `messages` tokens for a new or edited message in `chat_id`, or raises 429 with the seconds to wait.

        Called where a message is about to be stored, after the request was validated: a request Telegram refuses
        for its content never reaches flood control, and an album counts each of its messages."""
        now = time.monotonic()
        chat_key = str(chat_id)
        bucket = self._chats.get(chat_key)
        if bucket is None:
            bucket = self._new_bucket(chat_key)
            self._chats[chat_key] = bucket
        wait = max(self._global.wait_time(now, messages), bucket.wait_time(now, messages))
        if wait > 0:
            retry = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {retry}", retry_after=retry)
        self._global.take(messages)
        bucket.take(messages)
